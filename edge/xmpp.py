"""Expressway-E's XMPP client port (5222 in URLs and DNS) on a loopback listener: the shell of
:class:`edge.xmppsession.EdgeSession`.

Every client session rides the one XCP link Expressway-C opened to E's 7400 (:mod:`edge.xcplinks`; E dials nothing
inward): the shell carries out the session's commands, and logs each packet crossing the link the way E's XCP_JABBERD does
(``CodeLocation="MIOByteSource.cpp:93" Detail="Got Buffer (<n>) <packet>"``, the seed's line; ``<auth>`` payloads as
``XXXXXXX``). After SASL success it relays both ways and keeps checking the client's bytes; C going away ends the
client's stream with ``remote-connection-failed`` (RFC 6120 §4.9.3.16), as a broken traversal link does in the field.
Beyond E's XMPP bounds a new stream gets ``resource-constraint`` (:class:`edge.overload.XmppAdmission`).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable

from common.config import Lab
from common.logformats.expressway import TVCS, XCP_JABBERD
from common.nodelog import ExpresswayLog
from common.resolver import LabResolver
from common.serve import tls_reason
from common.streamserve import READ_SIZE, StreamServer, serve_stream
from common.trafficlog import tls_refused
from common.xmpp.stream import StreamError
from common.xmpp.xcp import BUFFER_AT, Names, Xdb, buffer_detail, wire
from common.xmpp.xcpsession import SessionPacket
from common.zone import ZoneStatus
from edge.overload import XmppAdmission
from edge.xcplinks import CoreLink, EdgeLink
from edge.xmppsession import (
    AskMechanisms,
    Authenticate,
    Command,
    EdgeSession,
    Hangup,
    Note,
    StartTls,
    ToClient,
    ToCore,
)

THREAD = "139821024597760"
MAX_CLIENT_BACKLOG = 1 << 20  # bytes E holds for a client that does not read (modelled)


class EdgeXmpp:
    def __init__(self, lab: Lab, log: ExpresswayLog, link: CoreLink, admission: XmppAdmission,
                 tls: ssl.SSLContext | None = None) -> None:
        """``tls``: E's certificate for STARTTLS on 5222, required before anything else (None: a plain lab)."""
        self.lab, self.log, self.link, self.admission = lab, log, link, admission
        self.tls = tls
        self.names = Names(f"{lab.edge.system_name}.{lab.domain}", f"{lab.core.system_name}.{lab.domain}")

    def xcp(self, level: str, location: str, detail: str) -> None:
        self.log.write(XCP_JABBERD, level, {"ThreadID": THREAD, "CodeLocation": location, "Detail": detail},
                       module="Jabber")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        refused = self.admission.enter()
        if refused:
            peer = writer.get_extra_info("peername") or ("", 0)
            self.xcp("WARN", "JabberdConnection.cpp:98", f"XMPP connection from {peer[0]}:{peer[1]} refused: "
                                                         f"resource-constraint ({refused})")
        session = EdgeSession(self.lab.core.mra_domains, self.names.cm, tls=self.tls is not None, refuse=refused)
        riding = Riding(self, session, writer)
        edge_link: EdgeLink | None = None
        authenticated = False
        # A stream must sign in within xmpp_signin_timeout of its connect, however it dribbles its bytes: a client
        # that never does would hold a sign-in slot for ever (RFC 6120 4.9.3.4 connection-timeout).
        signin_deadline = asyncio.get_running_loop().time() + self.lab.edge.xmpp_signin_timeout
        try:
            while (data := await self._read(reader, None if authenticated or refused else signin_deadline)) != b"":
                if data is None:
                    for command in session.fail(StreamError(
                            "connection-timeout", f"no sign-in within {self.lab.edge.xmpp_signin_timeout:g} s")):
                        if isinstance(command, Note):
                            self.xcp(command.level, "JabberdConnection.cpp:412", command.detail)
                        elif isinstance(command, ToClient):
                            writer.write(command.data)
                    return
                commands = session.receive(data)
                while commands:
                    command = commands.pop(0)
                    if isinstance(command, (AskMechanisms, Authenticate)):
                        if edge_link is None and self.link.current is not None:
                            edge_link = self.link.current
                            edge_link.sessions[session.txn] = riding
                        answer = await self._ask(edge_link, command.query if isinstance(command, AskMechanisms)
                                                 else command.packet)
                        if answer is None:
                            commands = self._unreachable(session)
                        elif isinstance(command, AskMechanisms):
                            commands = session.mechanisms(answer.mechanisms or ()) + commands
                        else:
                            commands = session.auth_result(answer) + commands
                            if session.state == "relay":
                                authenticated = True
                                self.admission.signed_in()
                    elif isinstance(command, ToClient):
                        if any(isinstance(c, StartTls) for c in commands):
                            # <proceed/>: nothing the client sends next may reach the stream reader instead of TLS
                            writer.transport.pause_reading()  # type: ignore[attr-defined]
                        writer.write(command.data)
                    elif isinstance(command, ToCore) and edge_link is not None:
                        edge_link.mux.send(self._packet(session, command.data))
                        await edge_link.mux.drain()
                    elif isinstance(command, Note):
                        self.xcp(command.level, "JabberdConnection.cpp:412", command.detail)
                    elif isinstance(command, Hangup):
                        await writer.drain()
                        return
                    elif isinstance(command, StartTls) and self.tls is not None:
                        if not await self._secure(writer):
                            return
                await writer.drain()
            if session.state not in ("closed", "closing"):
                self.xcp("INFO", "JabberdConnection.cpp:611",
                         f"Client {session.jid or '-'} went away without </stream:stream> ({session.state})")
        finally:
            if not refused:
                self.admission.leave(signing_in=not authenticated)
            if edge_link is not None and edge_link.sessions.pop(session.txn, None) is not None:
                edge_link.mux.send(self._packet(session, end=True))

    @staticmethod
    async def _read(reader: asyncio.StreamReader, deadline: float | None) -> bytes | None:
        """The client's next bytes (``b""`` at its end); None once ``deadline`` (loop time) has passed."""
        if deadline is None:
            return await reader.read(READ_SIZE)
        try:
            async with asyncio.timeout_at(deadline):
                return await reader.read(READ_SIZE)
        except TimeoutError:
            return None

    def _packet(self, session: EdgeSession, data: bytes = b"", end: bool = False) -> bytes:
        return SessionPacket(session.txn, self.names.connect_auth, self.names.cm, data, end).wire()

    async def _secure(self, writer: asyncio.StreamWriter) -> bool:
        """The STARTTLS handshake (RFC 6120 §5.4.3.3); a failure is logged on both ends and closes the connection."""
        try:
            await writer.start_tls(self.tls,  # type: ignore[arg-type]
                                   ssl_handshake_timeout=getattr(self.tls, "handshake_timeout", 30.0))
        except (OSError, ssl.SSLError, ConnectionError, TimeoutError) as exc:
            peer = writer.get_extra_info("peername") or ("", 0)
            tls_refused(self.log, peer[0], peer[1], self.lab.edge.xmpp.port, tls_reason(exc))
            return False
        return True

    async def _ask(self, edge_link: EdgeLink | None, packet: Xdb) -> Xdb | None:
        if edge_link is None or edge_link.mux.ended:
            return None
        data = wire(packet)
        self.xcp("DEBUG", BUFFER_AT, buffer_detail(len(data), packet))
        try:
            stanza = await edge_link.mux.ask(data, packet.id)
            answer = Xdb.from_element(stanza.element)
        except (ConnectionError, TimeoutError, StreamError, ValueError) as exc:
            self.xcp("ERROR", "JabberdConnection.cpp:301", f"No answer from {self.names.connect_auth}: {exc}")
            return None
        self.xcp("DEBUG", BUFFER_AT, buffer_detail(stanza.size, answer))
        return answer

    def _unreachable(self, session: EdgeSession) -> list[Command]:
        if self.link.current is None:
            self.xcp("ERROR", "JabberdConnection.cpp:233", f"No XCP link from {self.names.connect_auth} "
                                                            f"(traversal zone down)")
        return session.fail(StreamError("remote-connection-failed", "Expressway-C cannot be reached"))


class Riding:
    """A client's session on the shared link: what C sends it goes to the client; C ending it, or the link going
    away, ends the client's stream with ``remote-connection-failed``, as a broken traversal link does in the field."""

    def __init__(self, edge: EdgeXmpp, session: EdgeSession, writer: asyncio.StreamWriter) -> None:
        self.edge, self.session, self.writer = edge, session, writer

    def from_core(self, packet: SessionPacket) -> None:
        if not packet.end:
            if self.writer.is_closing():
                return
            if self.writer.transport.get_write_buffer_size() > MAX_CLIENT_BACKLOG:
                # the shared link cannot wait for one slow reader: the client that does not read is let go
                self.edge.xcp("WARN", "JabberdConnection.cpp:540", f"Client {self.session.jid or '-'} does not read: "
                                                                    f"over {MAX_CLIENT_BACKLOG} bytes unsent")
                self.writer.write(StreamError("resource-constraint", "client does not read").wire())
                self.session.state = "closed"
                self.writer.close()
                return
            self.writer.write(packet.data)
            return
        self.link_lost(closed_by_core=True)

    def link_lost(self, closed_by_core: bool = False) -> None:
        if self.session.state == "relay" and not self.writer.is_closing():
            what = "closed the session" if closed_by_core else "link lost"
            self.edge.xcp("ERROR", "JabberdConnection.cpp:540", f"Link to {self.edge.names.connect_auth} lost")
            self.writer.write(StreamError("remote-connection-failed", f"Expressway-C {what}").wire())
        if self.session.state in ("relay", "closing"):
            self.writer.close()


async def start_edge_xmpp(lab: Lab, log: ExpresswayLog, resolver: LabResolver, zone: ZoneStatus,
                          now: Callable[[], str]) -> tuple[StreamServer, StreamServer, EdgeXmpp]:
    """E's XMPP client port and its XCP listener for C's link (on ``xcp_bind_address`` if the lab sets one: the
    interface E really listens on, while C reaches the address in the lab's DNS)."""
    tls = resolver.tls.server_context("expressway-e:xmpp") if resolver.tls else None
    xcp_tls = resolver.tls.server_context("expressway-e:xcp") if resolver.tls else None
    names = Names(f"{lab.edge.system_name}.{lab.domain}", f"{lab.core.system_name}.{lab.domain}")

    def xcp_line(level: str, location: str, detail: str) -> None:
        log.write(XCP_JABBERD, level, {"ThreadID": THREAD, "CodeLocation": location, "Detail": detail},
                  module="Jabber")

    def zone_line(level: str, detail: str, fields: dict[str, object]) -> None:
        log.write(TVCS, level, {"Detail": detail, "Zone": zone.name, **fields}, module="network.xcp")

    link = CoreLink(zone, now, names.cm, xcp_line, zone_line)
    edge = EdgeXmpp(lab, log, link, XmppAdmission(lab.edge.xmpp_max_sessions, lab.edge.xmpp_max_signins), tls)
    server = await serve_stream(edge.handle, lab.edge.xmpp)
    resolver.bind(lab.edge.xmpp, server.port)
    xcp = lab.edge.xcp
    try:
        links = await serve_stream(link.accept, xcp, address=lab.edge.xcp_bind_address or None, tls=xcp_tls,
                                   on_tls_error=lambda ip, port, reason: tls_refused(log, ip, port, xcp.port, reason))
    except BaseException:
        await server.stop()
        raise
    resolver.bind(xcp, links.port)
    return server, links, edge
