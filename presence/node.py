"""An IM&P node on sockets: XMPP for clients (5222), the auth component on the XCP link (7400), EPAS SOAP (8443).

The XCP port carries every session of Expressway-C's router on one link (:mod:`common.xcpmux`). The shells here only
move bytes and execute the actions the sans-IO parts return (:mod:`presence.session`,
:mod:`presence.xcpauth`, :mod:`presence.epas`). The node receives the cluster's AuthZ keys from the CUCM
publisher when it starts (``GET /ssosp/token/authz_keys`` with the cluster's application user), as IM&P's Cisco XCP
Authentication Service loads them at start (mra-facts §5: after a key regeneration it must be restarted).

IM&P writes ``imp.log`` in the log4j layout its Java services use (*modelled* categories ``xcp.c2s``, ``xcp.auth``,
``epas.soap``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from common.clock import LabClock
from common.config import ImpConfig, Lab
from common.hop import HopClient
from common.nodelog import LineSink, Log4jLog
from common.resolver import LabResolver
from common.serve import Running, serve
from common.tomcatlog import tomcat_tls_refused
from common.stormusers import is_storm_userid
from common.streamserve import LinkReader, StreamServer, read_some, serve_stream
from common.tokens import KeyRing
from common.xcpmux import LINK_MAX_PACKET, XcpMux
from common.xmpp.stream import Stanza, StreamError, StreamOpened
from common.xmpp.xcp import component_host, link_header
from common.xmpp.xcpsession import is_session, read_session
from common.directory import Directory
from presence.auth import ImpAuthenticator
from presence.epas import epas_app
from presence.session import Action, ClientSession, Close, Deliver, Hub, Log, Send
from presence.routed import RoutedEndpoint
from presence.xcpauth import AuthComponent, Authenticated
from common.keyfetch import fetch_authz_keys

C2S = "xcp.c2s"
AUTH = "xcp.auth"


Endpoint = asyncio.StreamWriter | RoutedEndpoint


@dataclass
class ImpNode:
    name: str
    config: ImpConfig
    xmpp: StreamServer
    xcp: StreamServer
    epas: Running
    auth: ImpAuthenticator
    hub: Hub[object]

    async def stop(self) -> None:
        await self.xmpp.stop()
        await self.xcp.stop()
        await self.epas.stop()


async def fetch_keys(lab: Lab, imp: ImpConfig, resolver: LabResolver, log: Log4jLog) -> KeyRing:
    cluster = lab.cluster(imp.cluster)
    async with HopClient(resolver, imp.xmpp.address) as hop:
        fetched = await fetch_authz_keys(hop, (cluster.listener,), cluster.admin_user, cluster.admin_password)
    if fetched.keys is None:
        verb = "refused by" if fetched.problem.startswith("HTTP ") else "not loaded from"
        log.write("ERROR", "xcp-auth-init", AUTH, f"AuthZ keys {verb} {cluster.listener.host}: {fetched.problem}")
        return KeyRing()
    log.write("INFO", "xcp-auth-init", AUTH, f"AuthZ keys loaded from {cluster.listener.host}")
    ring = KeyRing()
    ring.add(fetched.keys, issuer=cluster.listener.host)
    return ring


async def start_imp(lab: Lab, imp: ImpConfig, clock: LabClock, resolver: LabResolver, sink: LineSink) -> ImpNode:
    log = Log4jLog(clock, sink, lab.utc_offset, debug=lab.debug)
    ring = await fetch_keys(lab, imp, resolver, log)
    auth = ImpAuthenticator(lab.domain, Directory(lab, lab.cluster(imp.cluster)), ring, clock)
    hub: Hub[object] = Hub(shares=lambda bare: not is_storm_userid(bare))  # storm users: empty contact lists
    hostnames = lab.cluster(imp.cluster).imp_hosts

    def execute(actions: list[Action], writer: Endpoint, thread: str, category: str) -> bool:
        """Carry out a session's actions; False once the connection is to close."""
        for action in actions:
            if isinstance(action, Send):
                writer.write(action.data)
            elif isinstance(action, Deliver):
                target = hub.bound.get(action.to)
                if isinstance(target, (asyncio.StreamWriter, RoutedEndpoint)) and not target.is_closing():
                    target.write(action.data)
            elif isinstance(action, Log):
                log.write(action.level, thread, category, action.message)
            elif isinstance(action, Close):
                return False
        return True

    async def pump(session: ClientSession, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   thread: str) -> None:
        try:
            while data := await read_some(reader):
                if not execute(session.receive(data), writer, thread, C2S):
                    await writer.drain()
                    return
                await writer.drain()
        finally:
            execute(session.connection_lost(), writer, thread, C2S)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = ClientSession(lab.domain, auth, hub, writer)
        log.write("DEBUG", f"c2s-{session.number}", C2S, f"client stream {session.number} from "
                                                          f"{writer.get_extra_info('peername')}")
        await pump(session, reader, writer, f"c2s-{session.number}")

    async def router_link(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The one link from Expressway-C's router: every session's packets (docs/xmpp.md, "The shared XCP link")."""
        component = AuthComponent(lab.domain, f"auth-1.{component_host(imp.host)}", hostnames, auth)
        link = LinkReader(reader, LINK_MAX_PACKET)
        try:
            opened = await link.next(timeout=10)
        except (ConnectionError, TimeoutError, StreamError) as exc:
            log.write("WARN", "xcp-auth-1", AUTH, f"XCP link not opened: {exc}")
            return
        if not isinstance(opened, StreamOpened):
            return
        writer.write(link_header(opened.get("from"), component.component))
        routed: dict[str, tuple[ClientSession, RoutedEndpoint]] = {}

        def end(sid: str) -> None:
            session, endpoint = routed.pop(sid)
            execute(session.connection_lost(), endpoint, f"c2s-{session.number}", C2S)

        def packet(stanza: Stanza) -> None:
            if is_session(stanza.element):
                try:
                    routed_packet = read_session(stanza.element)
                except ValueError as exc:
                    log.write("WARN", "xcp-auth-1", AUTH, f"XCP link: {exc}")
                    return
                if routed_packet.sid not in routed:
                    return
                if routed_packet.end:
                    end(routed_packet.sid)
                    return
                session, endpoint = routed[routed_packet.sid]
                if not execute(session.receive(routed_packet.data), endpoint, f"c2s-{session.number}", C2S):
                    end(routed_packet.sid)
                    endpoint.end()
                return
            actions = component.packet(stanza)
            execute([a for a in actions if not isinstance(a, Authenticated)], writer, "xcp-auth-1", AUTH)
            for done in (a for a in actions if isinstance(a, Authenticated)):
                endpoint = RoutedEndpoint(mux, done.sid, component.component, connect_auth)
                if done.sid in routed:
                    end(done.sid)
                routed[done.sid] = (ClientSession(lab.domain, auth, hub, endpoint, authenticated=done.jid), endpoint)

        connect_auth = opened.get("from")
        mux = XcpMux(link, writer, packet)
        reason = await mux.run()
        if routed:
            log.write("WARN", "xcp-auth-1", AUTH, f"XCP link from {connect_auth or 'router'} closed ({reason}); "
                                                  f"{len(routed)} sessions end")
        for sid in list(routed):
            end(sid)

    xmpp = await serve_stream(client, imp.xmpp)
    resolver.bind(imp.xmpp, xmpp.port)
    xcp_tls = resolver.tls.server_context(f"{imp.name}:xcp") if resolver.tls else None
    xcp = await serve_stream(router_link, imp.xcp, tls=xcp_tls, on_tls_error=lambda ip, port, reason: log.write(
        "ERROR", "xcp-router", AUTH, f"TLS handshake with {ip}:{port} on the XCP port failed: {reason}"))
    resolver.bind(imp.xcp, xcp.port)
    tls = resolver.tls
    epas = await serve(epas_app(lab, imp, auth, clock, log), imp.epas,
                       ssl_context=tls.server_context(f"{imp.name}:epas") if tls else None,
                       on_tls_error=tomcat_tls_refused(log, imp.epas.port))
    resolver.bind(imp.epas, epas.port)
    return ImpNode(imp.name, imp, xmpp, xcp, epas, auth, hub)
