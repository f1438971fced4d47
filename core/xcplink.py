"""Expressway-C's XCP router on sockets: the link to Expressway-E (7400, dialled by C) and the link to the user's IM&P.

C dials E's 7400 (:class:`core.traversal.XcpLinks`), as the traversal client opens every link of the zone, and IM&P's
XCP port (:class:`ImpLink`). Each is one connection carrying every session, as the real XCP routers do
(:mod:`common.xcpmux`; the framing, *modelled*, in :mod:`common.xmpp.xcpsession`). For each session the router

1. answers E's mechanisms query by asking IM&P's auth component (``DELIVER: type:8, host:auth-1.<imp>``, the seed's
   ``route``/``xdb get``), logging IM&P's answer (``DELIVER: type:1, host:connect-auth-1.<c>``) and sending E the
   list filtered by :func:`core.xcprouter.edge_mechanisms`;
2. carries the client's ``<auth>`` to IM&P (the seed's ``route`` with ``xdb set``) once :func:`core.xcprouter.decide_auth`
   allows it — an ``OAUTHBEARER`` token validated first by C's credentialmanager;
3. after ``<success/>`` routes the session's packets between the two links, so the client's restarted stream reaches
   IM&P's session manager; either link dropping ends the sessions riding it, at the other end too.

When IM&P cannot be reached the router logs ``Failed to query auth component for SASL mechanisms`` (a field failure,
mra-facts §9) and E is told there are no mechanisms. Decisions live in :mod:`core.xcprouter`; this module only moves
bytes and writes XCP_JABBERD lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import ssl
from dataclasses import dataclass

from common.dial import open_connection
from common.hop import HopError
from common.logformats.expressway import XCP_JABBERD
from common.resolver import LabResolver, NameError_
from common.serve import tls_reason
from common.streamserve import LinkReader
from common.tasks import cancel_and_wait
from common.xcpmux import LINK_MAX_PACKET, XcpMux, no_verify_context
from common.xmpp.sasl import SaslFailure
from common.xmpp.stream import Stanza, StreamError, StreamOpened
from common.xmpp.xcp import (DELIVER_AT, DELIVER_ROUTE, DELIVER_XDB, Names, Route, Xdb, deliver_detail,
                             link_header, read_packet, wire)
from common.xmpp.xcpsession import SessionPacket, is_session, read_session
from core.state import CoreState
from core.upstream import SSO_MODULE
from core.xcprouter import THREADS, ValidateToken, XcpSettings, check_token_user, decide_auth, edge_mechanisms


@dataclass(eq=False)
class RoutedSession:
    """One client session the router knows: the E link it came on, what it was offered, and once authenticated the
    IM&P link its stream is relayed to."""

    edge: XcpMux
    offered: tuple[str, ...] = ()
    imp: XcpMux | None = None


class XcpRouter:
    def __init__(self, state: CoreState, settings: XcpSettings, resolver: LabResolver) -> None:
        self.state, self.settings, self.resolver = state, settings, resolver
        lab = state.lab
        self.domain = lab.domain
        imp = lab.imps[0] if lab.imps else None
        self.imp = imp
        self.names = Names(f"{lab.edge.system_name}.{lab.domain}", f"{state.config.system_name}.{lab.domain}",
                           imp.host if imp else "")
        self._conauth = itertools.count(765380)
        self.sessions: dict[str, RoutedSession] = {}
        self._imp_link: ImpLink | None = None
        self._queries: set[asyncio.Task[None]] = set()

    def xcp(self, level: str, thread: str, location: str, detail: str) -> None:
        self.state.log.write(XCP_JABBERD, level, {"ThreadID": THREADS[thread], "CodeLocation": location,
                                                  "Detail": detail}, module="Jabber")

    async def open_link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> XcpMux:
        """Open the link C dialled to E (C speaks first) and return it, not yet read."""
        writer.write(link_header(self.names.cm, self.names.connect_auth))
        link = LinkReader(reader, LINK_MAX_PACKET)
        opened = await link.next(timeout=10)
        if not isinstance(opened, StreamOpened):
            raise ConnectionError("Expressway-E did not open the XCP link")
        mux: XcpMux

        def packet(stanza: Stanza) -> None:
            self._from_edge(mux, stanza)

        mux = XcpMux(link, writer, packet)
        return mux

    async def serve_link(self, mux: XcpMux) -> str:
        """Carry every session on the link to E until it ends; its sessions end with it (IM&P is told)."""
        try:
            return await mux.run()
        finally:
            for sid, session in list(self.sessions.items()):
                if session.edge is mux:
                    del self.sessions[sid]
                    if session.imp is not None:
                        session.imp.send(SessionPacket(sid, self.names.auth, self.names.connect_auth, end=True).wire())

    async def close(self) -> None:
        await cancel_and_wait(list(self._queries))
        if self._imp_link is not None:
            await self._imp_link.close()

    def _from_edge(self, edge: XcpMux, stanza: Stanza) -> None:
        if is_session(stanza.element):
            try:
                packet = read_session(stanza.element)
            except ValueError as exc:
                self.xcp("ERROR", "router", DELIVER_AT, f"Bad session packet from {self.names.cm}: {exc}")
                return
            session = self.sessions.get(packet.sid)
            if packet.end:
                self.sessions.pop(packet.sid, None)
            if session is not None and session.imp is not None:
                session.imp.send(packet.readdressed(self.names.auth, self.names.connect_auth).wire())
            return
        task = asyncio.create_task(self._query(edge, stanza), name="expc XCP query")
        self._queries.add(task)
        task.add_done_callback(self._queries.discard)

    def _from_imp(self, stanza: Stanza) -> None:
        if not is_session(stanza.element):
            return
        try:
            packet = read_session(stanza.element)
        except ValueError as exc:
            self.xcp("ERROR", "connect_auth", DELIVER_AT, f"Bad session packet from {self.names.auth}: {exc}")
            return
        session = self.sessions.get(packet.sid)
        if session is None:
            return
        if packet.end:
            del self.sessions[packet.sid]
        session.edge.send(packet.readdressed(self.names.cm, self.names.connect_auth).wire())

    def _imp_lost(self, imp: XcpMux) -> None:
        """The link to IM&P went away: its sessions end at E too."""
        for sid, session in list(self.sessions.items()):
            if session.imp is imp:
                del self.sessions[sid]
                session.edge.send(SessionPacket(sid, self.names.cm, self.names.connect_auth, end=True).wire())

    async def _query(self, edge: XcpMux, stanza: Stanza) -> None:
        """A session's question before authentication: which mechanisms, or its ``<auth>``."""
        try:
            packet = read_packet(stanza.element)
        except SaslFailure as exc:
            edge.send(wire(Xdb(self.domain, stanza.element.get("id", ""), stanza.element.get("from", ""),
                               "result", failure=exc)))
            return
        except ValueError as exc:
            self.xcp("ERROR", "router", DELIVER_AT, f"Link from {self.names.cm} broken: invalid-xml {exc}")
            return
        xdb = packet.packet if isinstance(packet, Route) else packet
        session = self.sessions.setdefault(xdb.id, RoutedSession(edge))
        if xdb.type == "get":
            imp = await self._imp()
            session.offered = await self._mechanisms(xdb, imp)
            answer = xdb.answer(mechanisms=session.offered)
            self.xcp("VBOSE", "router", DELIVER_AT, deliver_detail(DELIVER_XDB, self.names.cm, answer))
            edge.send(wire(answer))
        elif xdb.type == "set" and xdb.auth is not None:
            imp = await self._imp()
            result = await self._authenticate(xdb, session.offered, imp)
            if result.success and imp is not None and self.sessions.get(xdb.id) is session:
                session.imp = imp
            edge.send(wire(result))

    async def _imp(self) -> XcpMux | None:
        if self.imp is None:
            return None
        if self._imp_link is None:
            self._imp_link = ImpLink(self)
        return await self._imp_link.get()

    async def _mechanisms(self, query: Xdb, imp: XcpMux | None) -> tuple[str, ...]:
        forwarded = Xdb(self.names.connect_auth, f"conauth{next(self._conauth)}-{query.id}", self.domain, "get",
                        query.jid)
        route = Route(self.names.auth, self.names.sdns, forwarded)
        self.xcp("VBOSE", "sdns", DELIVER_AT, deliver_detail(DELIVER_ROUTE, self.names.auth, route))
        try:
            if imp is None:
                raise ConnectionError("no connection to the auth component")
            answer = Xdb.from_element((await imp.ask(wire(route), forwarded.id)).element)
        except (ConnectionError, TimeoutError, StreamError, ValueError, SaslFailure) as exc:
            self.xcp("ERROR", "connect_auth", DELIVER_AT,
                     f"Failed to query auth component for SASL mechanisms: {self.names.auth}: {exc}")
            return ()
        self.xcp("VBOSE", "connect_auth", DELIVER_AT, deliver_detail(DELIVER_XDB, self.names.connect_auth, answer))
        return edge_mechanisms(answer.mechanisms or (), self.settings)

    async def _authenticate(self, xdb: Xdb, offered: tuple[str, ...], imp: XcpMux | None) -> Xdb:
        assert xdb.auth is not None
        refuse = Xdb(self.domain, xdb.id, xdb.from_, "result")
        try:
            decision = decide_auth(xdb.auth, offered, xdb.jid)
            if isinstance(decision, ValidateToken):
                check_token_user(decision.claimed, await self._validate(decision.token), self.domain)
            if imp is None:
                raise SaslFailure("temporary-auth-failure", "IM&P auth component unreachable")
        except SaslFailure as exc:
            self.xcp("INFO", "router", DELIVER_AT, f"SASL {xdb.auth.mechanism} refused at {self.names.connect_auth}: "
                                                   f"{exc.condition} ({exc.text})")
            return Xdb(refuse.from_, refuse.id, refuse.to, "result", failure=SaslFailure(exc.condition))
        route = Route(self.names.auth, self.names.connect_auth, xdb)
        self.xcp("VBOSE", "router", DELIVER_AT, deliver_detail(DELIVER_ROUTE, self.names.auth, route))
        try:
            answer = Xdb.from_element((await imp.ask(wire(route), xdb.id)).element)
        except (ConnectionError, TimeoutError, StreamError, ValueError) as exc:
            self.xcp("ERROR", "connect_auth", DELIVER_AT, f"No answer from {self.names.auth}: {exc}")
            return Xdb(refuse.from_, refuse.id, refuse.to, "result", failure=SaslFailure("temporary-auth-failure"))
        self.xcp("VBOSE", "connect_auth", DELIVER_AT, deliver_detail(DELIVER_XDB, self.names.cm, answer))
        return answer

    async def _validate(self, token: str) -> str:
        """The user credentialmanager says the token belongs to, or '' if it refused it."""
        try:
            response = await self.state.upstream.call(SSO_MODULE, "POST", self.state.validator_url,
                                                      json_text=json.dumps({"token": token}))
        except HopError as exc:
            raise SaslFailure("temporary-auth-failure", f"OAuthvalidator unreachable: {exc.kind}") from None
        if response.status != 200:
            return ""
        with contextlib.suppress(ValueError, AttributeError):
            return str(response.json().get("user", ""))
        return ""


class ImpLink:
    """C's one XCP link to IM&P's router port, dialled when a session first needs it and again after it drops.

    Over TLS (the lab's default) C checks IM&P's certificate as its "TLS verify mode" for that server says."""

    def __init__(self, router: XcpRouter) -> None:
        self.router = router
        self.mux: XcpMux | None = None
        self._task: asyncio.Task[None] | None = None
        self._dialling = asyncio.Lock()

    async def get(self) -> XcpMux | None:
        async with self._dialling:
            if self.mux is None or self.mux.ended:
                self.mux = await self._dial()
            return self.mux

    async def _dial(self) -> XcpMux | None:
        router = self.router
        imp = router.imp
        assert imp is not None
        tls = router.resolver.tls
        context = tls.client_context("expressway-c", imp.host) if tls else None
        try:
            reader, writer = await asyncio.wait_for(open_connection(
                router.resolver, imp.host, imp.xcp.port, source="expressway-c",
                tls=(context or no_verify_context()) if tls else None), 10)
            writer.write(link_header(router.names.auth, router.names.connect_auth))
            link = LinkReader(reader, LINK_MAX_PACKET)
            await link.next()
        except (OSError, NameError_, ConnectionError, TimeoutError, StreamError, ssl.SSLError) as exc:
            reason = tls_reason(exc) if isinstance(exc, ssl.SSLError) else exc
            router.xcp("ERROR", "connect_auth", DELIVER_AT, f"Cannot connect to {router.names.auth}: {reason}")
            return None
        mux = XcpMux(link, writer, router._from_imp)
        self._task = asyncio.create_task(self._run(mux), name="expc XCP link to IM&P")
        return mux

    async def _run(self, mux: XcpMux) -> None:
        reason = await mux.run()
        self.router.xcp("WARN", "connect_auth", DELIVER_AT, f"Link to {self.router.names.auth} closed: {reason}")
        self.router._imp_lost(mux)

    async def close(self) -> None:
        if self.mux is not None:
            self.mux.close()
        await cancel_and_wait(self._task)
