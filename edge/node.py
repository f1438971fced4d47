"""Expressway-E as a running node: the client-facing listener (8443 in URLs) and the traversal server.

E answers three things itself — the login form (``authorize``), ``/OAuthcb``, and refusals of domains that are not
configured for MRA (``403``, ``Server: CE_E``) — and relays everything else to Expressway-C through the SSH tunnel C
opened to E's 2222 (:mod:`edge.tunnel`). E has no route of its own to C, CUCM or IM&P: its relay resolves names in a
private table (:meth:`common.resolver.LabResolver.private_view`) that holds only the tunnel's loopback end, while the
tunnel is up. With single sign-on over the edge on (C's setting, which C hands E over the traversal
zone; here read from the lab file), ``authorize`` goes to C too, which sends the browser to the IdP (docs/sso.md).
Oversized request headers are refused by the HTTP parser with ``400`` and logged; the node keeps
serving.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from common import traversal
from common.clock import LabClock
from common.config import Lab
from common.domain import ProxyDescriptor, SegmentError, mra_target
from common.faults import fault_middleware
from common.hop import HopClient
from common.logformats.expressway import TRAFFIC_SERVER
from common.nodelog import ExpresswayLog, LineSink
from common.oauthparams import AuthorizeRequest, ParamError, parse_query
from common.resolver import LabResolver
from common.serve import Running, serve
from common.trafficlog import MODULE, TXN_KEY, tls_foreign_name, tls_refused, traffic_server_middleware
from common.txn import TxnCounter
from edge.intrusion import IntrusionProtection, intrusion_middleware
from edge.overload import Admission, overload_middleware
from edge.pages import login_form, oauthcb_page
from common.streamserve import StreamServer
from common.zone import ZoneStatus, file_writer
from edge.tunnel import TunnelServer, tunnel_connector
from edge.sip import EdgeSip, start_edge_sip
from edge.xmpp import EdgeXmpp, start_edge_xmpp
from edge.relay import relay_to_core

SERVER = "CE_E"


@dataclass(frozen=True)
class EdgeState:
    lab: Lab
    log: ExpresswayLog
    hop: HopClient
    via: str
    clock: LabClock


EDGE_STATE = web.AppKey("edge_state", EdgeState)


def refuse(state: EdgeState, request: web.Request, status: int, reason: str) -> web.Response:
    state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Request refused", "Txn-id": request.get(TXN_KEY, ""),
                                             "Reason": reason}, module=MODULE)
    return web.Response(status=status, text=f"{reason}\n", headers={"Server": SERVER})


async def oauthcb(request: web.Request) -> web.Response:
    return web.Response(body=oauthcb_page(), content_type="text/html", headers={"Server": SERVER})


async def edge_request(request: web.Request) -> web.StreamResponse:
    state = request.app[EDGE_STATE]
    segment, tail = request.match_info["segment"], request.match_info["tail"]
    try:
        target = mra_target(segment, state.lab.core.mra_domains)
    except SegmentError as exc:
        return refuse(state, request, 403, f"Forbidden: {exc}")
    if (not isinstance(target, ProxyDescriptor) and tail == "authorize" and request.method == "GET"
            and not state.lab.core.sso):
        try:
            authorize = AuthorizeRequest.from_pairs(parse_query(request.raw_path.partition("?")[2]))
        except ParamError as exc:
            return web.json_response({"error": exc.error, "error_description": exc.description}, status=exc.status,
                                     headers={"Server": SERVER})
        return web.Response(body=login_form(segment, authorize), content_type="text/html",
                            headers={"Server": SERVER})
    return await relay_to_core(request, state.hop, state.lab.core.listener.origin, state.via, state.log,
                               traversal.stamp(state.lab.edge.traversal_password, state.clock.timestamp()))


class _ParserErrors(logging.Handler):
    """Carries aiohttp's "Error handling request" (bad or oversized requests) into the node's own log."""

    def __init__(self, log: ExpresswayLog) -> None:
        super().__init__(logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        reason = str(record.exc_info[1]) if record.exc_info and record.exc_info[1] else record.getMessage()
        src = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        self.log.write(TRAFFIC_SERVER, "INFO", {"Event": "Sending HTTP error response", "Src-ip": src,
                                                "Status": 400, "Reason": reason.splitlines()[0][:200]}, module=MODULE)


def parser_logger(name: str, log: ExpresswayLog) -> logging.Logger:
    logger = logging.getLogger(f"mrasim.{name}.{id(log)}")
    logger.propagate = False
    logger.handlers[:] = [_ParserErrors(log)]
    logger.setLevel(logging.DEBUG)
    return logger


@dataclass
class EdgeNode:
    name: str
    state: EdgeState
    running: Running
    tunnel: TunnelServer
    zone: ZoneStatus
    xmpp: StreamServer | None = None
    xcp: StreamServer | None = None
    sip: EdgeSip | None = None
    xmpp_edge: EdgeXmpp | None = None  # the connection manager: its XCP link to C and its admission counters

    async def stop(self) -> None:
        if self.sip is not None:
            await self.sip.stop()
        for server in (self.xmpp, self.xcp):
            if server is not None:
                await server.stop()
        await self.tunnel.stop()
        await self.running.stop()
        await self.state.hop.close()


def edge_zone(lab: Lab, status_dir: Path | None = None) -> ZoneStatus:
    """E's view of the traversal zone: the traversal server end, whose peer is whichever C logs in."""
    zone = ZoneStatus("expressway-e", lab.edge.zone_name, "traversal server", lab.core.listener.host)
    zone.link("SSH tunnel", lab.edge.tunnel.port)
    zone.link("XCP", lab.edge.xcp.port)
    if status_dir is not None:
        zone.on_change = file_writer(status_dir / "zone-expressway-e.json")
    return zone


async def start_edge(lab: Lab, clock: LabClock, resolver: LabResolver, sink: LineSink,
                     status_dir: Path | None = None) -> EdgeNode:
    """Start E; ``status_dir`` (the lab's state directory) receives its zone status for ``up --processes``."""
    config = lab.edge
    log = ExpresswayLog(config.system_name, clock, sink, lab.utc_offset, config.pid, debug=lab.debug)
    zone = edge_zone(lab, status_dir)
    reach = resolver.private_view()
    core_end = dataclasses.replace(lab.core.listener, address="127.0.0.1")

    def tunnel_port(port: int | None) -> None:
        if port is None:
            reach.unbind(core_end.host, core_end.port)
        else:
            reach.bind(core_end, port)

    tunnel = TunnelServer(config, log, clock, zone, IntrusionProtection(
        config.intrusion_trigger, config.intrusion_window, config.intrusion_block) if config.intrusion_protection
        else None, tunnel_port)
    hop = HopClient(reach, config.listener.address, name="expressway-e", connector=tunnel_connector(tunnel))
    await hop.start()
    state = EdgeState(lab, log, hop, f"http/1.1 vcs[{uuid.uuid5(uuid.NAMESPACE_DNS, config.listener.host)}] (ATS)",
                      clock)
    guard = IntrusionProtection(config.intrusion_trigger, config.intrusion_window, config.intrusion_block)
    protection = [intrusion_middleware(guard, clock, log)]
    admission = Admission(config.max_in_flight)
    app = web.Application(middlewares=[*(protection if config.intrusion_protection else []),
                                       traffic_server_middleware(log, TxnCounter(config.txn_start),
                                                                 absolute_urls=False, scheme=config.listener.scheme,
                                                                 server=SERVER),
                                       overload_middleware(admission, log),
                                   fault_middleware(resolver.faults, "expressway-e")])
    app[EDGE_STATE] = state
    app.router.add_get("/OAuthcb", oauthcb)
    app.router.add_route("*", "/{segment}/{tail:.*}", edge_request)
    tls = resolver.tls
    running = await serve(app, config.listener, ssl_context=tls.server_context("expressway-e") if tls else None,
                          on_tls_error=lambda ip, port, reason: tls_refused(log, ip, port, config.listener.port, reason),
                          on_foreign_name=lambda ip, port, name: tls_foreign_name(log, ip, port, config.listener.port,
                                                                                  name),
                          max_field_size=config.max_header_bytes,
                          max_line_size=config.max_header_bytes, logger=parser_logger("expe", log))
    resolver.bind(config.listener, running.port)
    node = EdgeNode("expressway-e", state, running, tunnel, zone)
    try:
        resolver.bind(config.tunnel, await tunnel.start())
        node.xmpp, node.xcp, node.xmpp_edge = await start_edge_xmpp(
            lab, log, resolver, zone, lambda: clock.now().isoformat(timespec="seconds"))
        node.sip = await start_edge_sip(lab, clock, log, resolver, zone)
    except BaseException:
        await node.stop()
        raise
    return node

