"""Expressway-C's XCP router on sockets: the link to Expressway-E (7400, dialled by C) and the link to the user's IM&P.

C dials E's 7400 (:class:`core.traversal.XcpLinks`), as the traversal client opens every link of the zone. One link
connection per client session (*modelled*; the real XCP multiplexes sessions on one connection between components):
each link C opened waits until E hands it a session. For each session the router

1. answers E's mechanisms query by asking IM&P's auth component (``DELIVER: type:8, host:auth-1.<imp>``, the seed's
   ``route``/``xdb get``), logging IM&P's answer (``DELIVER: type:1, host:connect-auth-1.<c>``) and sending E the
   list filtered by :func:`core.xcprouter.edge_mechanisms`;
2. carries the client's ``<auth>`` to IM&P (the seed's ``route`` with ``xdb set``) once :func:`core.xcprouter.decide_auth`
   allows it — an ``OAUTHBEARER`` token validated first by C's credentialmanager;
3. after ``<success/>`` splices the two links, so the client's restarted stream reaches IM&P's session manager.

When IM&P cannot be reached the router logs ``Failed to query auth component for SASL mechanisms`` (a field failure,
mra-facts §9) and E is told there are no mechanisms. Decisions live in :mod:`core.xcprouter`; this module only moves
bytes and writes XCP_JABBERD lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Callable

from common.dial import open_connection
from common.hop import HopError
from common.logformats.expressway import XCP_JABBERD
from common.resolver import LabResolver, NameError_
from common.streamserve import LinkReader, splice
from common.xmpp.sasl import SaslFailure
from common.xmpp.stream import StreamError, StreamOpened
from common.xmpp.xcp import (DELIVER_AT, DELIVER_ROUTE, DELIVER_XDB, Names, Route, Xdb, deliver_detail,
                             link_header, read_packet, wire)
from core.state import CoreState
from core.upstream import SSO_MODULE
from core.xcprouter import THREADS, ValidateToken, XcpSettings, check_token_user, decide_auth, edge_mechanisms

Link = tuple[asyncio.StreamReader, asyncio.StreamWriter]


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

    def xcp(self, level: str, thread: str, location: str, detail: str) -> None:
        self.state.log.write(XCP_JABBERD, level, {"ThreadID": THREADS[thread], "CodeLocation": location,
                                                  "Detail": detail}, module="Jabber")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     taken: Callable[[], None] | None = None) -> None:
        """One session's link to Expressway-E, which C opened (:class:`core.traversal.XcpLinks`) and which waits,
        idle, until E hands it a session by opening the link's stream; ``taken`` is told then."""
        link = LinkReader(reader)
        imp: tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader] | None = None
        offered: tuple[str, ...] = ()
        try:
            opened = await link.next(timeout=None)  # type: ignore[arg-type]
            if taken is not None:
                taken()
            if not isinstance(opened, StreamOpened):
                return
            writer.write(link_header(opened.get("from"), self.names.connect_auth))
            while True:
                stanza = await link.stanza(timeout=None)  # type: ignore[arg-type]
                try:
                    packet = read_packet(stanza.element)
                except SaslFailure as exc:
                    writer.write(wire(Xdb(self.domain, stanza.element.get("id", ""), stanza.element.get("from", ""),
                                          "result", failure=exc)))
                    continue
                xdb = packet.packet if isinstance(packet, Route) else packet
                if xdb.type == "get":
                    imp = imp or await self._connect_imp()
                    offered = await self._mechanisms(xdb, imp)
                    answer = xdb.answer(mechanisms=offered)
                    self.xcp("VBOSE", "router", DELIVER_AT, deliver_detail(DELIVER_XDB, self.names.cm, answer))
                    writer.write(wire(answer))
                elif xdb.type == "set" and xdb.auth is not None:
                    result = await self._authenticate(xdb, offered, imp)
                    writer.write(wire(result))
                    if result.success and imp is not None:
                        await writer.drain()
                        await splice((reader, writer), (imp[0], imp[1]))
                        return
                await writer.drain()
        except StreamError as exc:
            self.xcp("ERROR", "router", DELIVER_AT, f"Link from {self.names.cm} broken: {exc.condition} {exc.text}")
            writer.write(exc.wire())
        except (ConnectionError, TimeoutError, ValueError) as exc:
            self.xcp("DEBUG", "router", DELIVER_AT, f"Link from {self.names.cm} closed: {exc}")
        finally:
            if imp is not None:
                imp[1].close()

    async def _connect_imp(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader] | None:
        if self.imp is None:
            return None
        try:
            reader, writer = await open_connection(self.resolver, self.imp.host, self.imp.xcp.port,
                                                   source="expressway-c")
            writer.write(link_header(self.names.auth, self.names.connect_auth))
            link = LinkReader(reader)
            await link.next()
            return reader, writer, link
        except (OSError, NameError_, ConnectionError, TimeoutError, StreamError) as exc:
            self.xcp("ERROR", "connect_auth", DELIVER_AT, f"Cannot connect to {self.names.auth}: {exc}")
            return None

    async def _mechanisms(self, query: Xdb, imp: tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader] | None
                          ) -> tuple[str, ...]:
        forwarded = Xdb(self.names.connect_auth, f"conauth{next(self._conauth)}-{query.id}", self.domain, "get",
                        query.jid)
        route = Route(self.names.auth, self.names.sdns, forwarded)
        self.xcp("VBOSE", "sdns", DELIVER_AT, deliver_detail(DELIVER_ROUTE, self.names.auth, route))
        try:
            if imp is None:
                raise ConnectionError("no connection to the auth component")
            imp[1].write(wire(route))
            answer = Xdb.from_element((await imp[2].stanza()).element)
        except (ConnectionError, TimeoutError, StreamError, ValueError, SaslFailure) as exc:
            self.xcp("ERROR", "connect_auth", DELIVER_AT,
                     f"Failed to query auth component for SASL mechanisms: {self.names.auth}: {exc}")
            return ()
        self.xcp("VBOSE", "connect_auth", DELIVER_AT, deliver_detail(DELIVER_XDB, self.names.connect_auth, answer))
        return edge_mechanisms(answer.mechanisms or (), self.settings)

    async def _authenticate(self, xdb: Xdb, offered: tuple[str, ...],
                            imp: tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader] | None) -> Xdb:
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
            imp[1].write(wire(route))
            answer = Xdb.from_element((await imp[2].stanza()).element)
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
