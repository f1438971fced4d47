"""CUCM's CallManager SIP listeners and TFTP HTTP port on sockets: the thin shell around :mod:`cucm_stub.sipline`.

Listeners (Cisco TAC 215572): the SIP Phone OAuth Port (5090, TLS), the SIP Mobile and Remote Access Port (5091,
mutual TLS) — both present the node's Tomcat certificate — and the secure SIP port (5061, mutual TLS, the
CallManager certificate); a peer's certificate is checked against CUCM's trust stores, all from the lab PKI
(:meth:`common.tls.LabTls.sip_server_context`). The TFTP HTTP port (6970) serves ``<device>.cnf.xml`` for the
cluster's own devices. Every SIP message and every failed handshake is written to the SDL trace (``sdl-<host>.txt``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from common.clock import LabClock
from common.cnfxml import DeviceConfig
from common.config import ClusterConfig, Lab, Listener
from common.nodelog import SdlLog
from common.serve import Running, serve
from common.sip import trace
from common.stormusers import device_owner
from common.sip.link import SipLink, SipServer, peer_names, serve_sip
from common.tls import LabTls
from common.tokens import KeyRing
from cucm_stub.sipline import Arrival, LineState, SipLine


@dataclass
class CucmSip:
    line: SipLine
    servers: list[SipServer]
    tftp: Running
    log: SdlLog

    @property
    def state(self) -> LineState:
        return self.line.state

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()
        await self.tftp.stop()
        self.log.sink.close()


def device_config(lab: Lab, device: str, cluster: ClusterConfig | None = None) -> DeviceConfig | None:
    """The device's configuration file, from ``cluster``'s database (any cluster's when None)."""
    user = device_owner(lab.users)(device)
    if user is None or (cluster is not None and user.cluster != cluster.name):
        return None
    for index, dev in enumerate(user.devices):
        if dev.name.upper() == device.upper():
            cluster = lab.cluster(user.cluster)
            sip = lab.sip
            return DeviceConfig(dev.name, dev.model, cluster.listener.host, cluster.name, 5060, sip.secure.port,
                                sip.oauth.port, sip.mra_oauth.port, sip.oauth_mode and sip.profile_oauth,
                                sip.profile_name if not sip.profile_oauth else "OAuth Secure Profile",
                                str(1000 + lab.users.index(user) * 10 + index))
    return None


async def start_cucm_sip(lab: Lab, cluster: ClusterConfig, clock: LabClock, log: SdlLog, tls: LabTls | None,
                         ring: Callable[[], KeyRing], bind: Callable[[Listener, int], None]) -> CucmSip:
    """The line side of ``cluster``'s publisher on its SIP listeners (``Lab.cucm_sip_listeners``); without TLS (a
    plain-TCP lab) SIP runs over TCP."""
    line = SipLine(lab, cluster)
    listeners = {name.rsplit(":", 1)[1]: listener for name, listener in lab.cucm_sip_listeners(cluster).items()}
    index = itertools.count(12386)

    def failed(kind: str) -> Callable[[tuple[str, int], tuple[str, int], str], None]:
        def note(local: tuple[str, int], remote: tuple[str, int], reason: str) -> None:
            log.write(f"SIPTcp - wait_SdlTlsHandshake: TLS handshake failed with {remote[0]} on port {local[1]} "
                      f"({kind}): {reason}")
        return note

    def handler(kind: str, port: int) -> Callable[[SipLink], object]:
        async def serve_link(link: SipLink) -> None:
            number = next(index)
            names, secure = peer_names(link.tls), link.tls is not None
            while (frame := await link.next()) is not None:
                if frame.ping:
                    await link.pong()
                    continue
                if frame.message is None:
                    log.write(f"SIPTcp - wait_SdlReadRsp: malformed SIP message from {link.remote[0]} dropped: "
                              f"{frame.error.reason if frame.error else ''}")
                    if frame.fatal:
                        return
                    continue
                req = frame.message
                trace.cucm(log, req, True, link.remote, number)
                if not req.is_request:
                    continue
                decision = line.decide(req, Arrival(kind, port, names, secure), ring(), clock.timestamp())
                for note in decision.notes:
                    log.write(f"SIPStationD({number}) - {note}")
                trace.cucm(log, decision.response, False, link.remote, number)
                await link.send(decision.response)
        return serve_link

    servers = []
    node = cluster.node_name(cluster.listener)
    for kind, name in (("oauth", "sipoauth"), ("mra", "sipmra"), ("secure", "sips")):
        listener = listeners[name]
        context = tls.sip_server_context(f"{node}:{name}") if tls is not None else None
        server = await serve_sip(listener, context, handler(kind, listener.port), failed(kind))
        bind(listener, server.port)
        servers.append(server)

    async def cnf(request: web.Request) -> web.Response:
        device = request.match_info["device"]
        config = device_config(lab, device, cluster)
        if config is None:
            return web.Response(status=404, text="File not found\n")
        return web.Response(body=config.to_xml(), content_type="text/xml")

    app = web.Application()
    app.router.add_get("/{device}.cnf.xml", cnf)
    tftp = await serve(app, listeners["tftp"])
    bind(listeners["tftp"], tftp.port)
    return CucmSip(line, servers, tftp, log)
