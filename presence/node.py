"""An IM&P node on sockets: XMPP for clients (5222), the auth component on the XCP link (7400), EPAS SOAP (8443).

The shells here only move bytes and execute the actions the sans-IO parts return (:mod:`presence.session`,
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
from common.streamserve import StreamServer, read_some, serve_stream
from common.tokens import KeyRing
from common.xmpp.xcp import component_host
from common.directory import Directory
from presence.auth import ImpAuthenticator
from presence.epas import epas_app
from presence.session import Action, ClientSession, Close, Deliver, Hub, Log, Send
from presence.xcpauth import AuthComponent, Authenticated
from common.keyfetch import fetch_authz_keys

C2S = "xcp.c2s"
AUTH = "xcp.auth"


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
    hub: Hub[object] = Hub()
    hostnames = lab.cluster(imp.cluster).imp_hosts

    def execute(actions: list[Action], writer: asyncio.StreamWriter, thread: str, category: str) -> bool:
        """Carry out a session's actions; False once the connection is to close."""
        for action in actions:
            if isinstance(action, Send):
                writer.write(action.data)
            elif isinstance(action, Deliver):
                target = hub.bound.get(action.to)
                if isinstance(target, asyncio.StreamWriter) and not target.is_closing():
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
        component = AuthComponent(lab.domain, f"auth-1.{component_host(imp.host)}", hostnames, auth)
        thread = "xcp-auth-1"
        while data := await read_some(reader):
            actions = component.receive(data)
            done = next((a for a in actions if isinstance(a, Authenticated)), None)
            if not execute([a for a in actions if not isinstance(a, Authenticated)], writer, thread, AUTH):
                return
            await writer.drain()
            if done is not None:
                session = ClientSession(lab.domain, auth, hub, writer, authenticated=done.jid)
                await pump(session, reader, writer, f"c2s-{session.number}")
                return

    xmpp = await serve_stream(client, imp.xmpp)
    resolver.bind(imp.xmpp, xmpp.port)
    xcp = await serve_stream(router_link, imp.xcp)
    resolver.bind(imp.xcp, xcp.port)
    tls = resolver.tls
    epas = await serve(epas_app(lab, imp, auth, clock, log), imp.epas,
                       ssl_context=tls.server_context(f"{imp.name}:epas") if tls else None,
                       on_tls_error=tomcat_tls_refused(log, imp.epas.port))
    resolver.bind(imp.epas, epas.port)
    return ImpNode(imp.name, imp, xmpp, xcp, epas, auth, hub)
