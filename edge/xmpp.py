"""Expressway-E's XMPP client port (5222 in URLs and DNS) on a loopback listener: the shell of
:class:`edge.xmppsession.EdgeSession`.

For each client the shell takes one of the XCP links Expressway-C opened to E's 7400 (:mod:`edge.xcplinks`; E dials
nothing inward), opens the link's stream, carries out
the session's commands, and logs each packet crossing the link the way E's XCP_JABBERD does
(``CodeLocation="MIOByteSource.cpp:93" Detail="Got Buffer (<n>) <packet>"``, the seed's line; ``<auth>`` payloads as
``XXXXXXX``). After SASL success it relays both ways and keeps checking the client's bytes; C going away ends the
client's stream with ``remote-connection-failed`` (RFC 6120 §4.9.3.16), as a broken traversal link does in the field.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from common.config import Lab
from common.logformats.expressway import XCP_JABBERD
from common.nodelog import ExpresswayLog
from common.resolver import LabResolver
from common.streamserve import CLOSE_GRACE, READ_SIZE, LinkReader, StreamServer, serve_stream
from common.tasks import cancel_and_wait
from common.xmpp.stream import StreamError
from common.xmpp.xcp import BUFFER_AT, Names, Xdb, buffer_detail, link_header, wire
from edge.xcplinks import LinkPool, PooledLink
from common.serve import tls_reason
from common.trafficlog import tls_refused
from edge.xmppsession import (AskMechanisms, Authenticate, Command, EdgeSession, Hangup, Note, StartTls, ToClient,
                              ToCore)

THREAD = "139821024597760"


class EdgeXmpp:
    def __init__(self, lab: Lab, log: ExpresswayLog, pool: LinkPool, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: E's certificate for STARTTLS on 5222, required before anything else (None: a plain lab)."""
        self.lab, self.log, self.pool = lab, log, pool
        self.tls = tls
        self.names = Names(f"{lab.edge.system_name}.{lab.domain}", f"{lab.core.system_name}.{lab.domain}")

    def xcp(self, level: str, location: str, detail: str) -> None:
        self.log.write(XCP_JABBERD, level, {"ThreadID": THREAD, "CodeLocation": location, "Detail": detail},
                       module="Jabber")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = EdgeSession(self.lab.core.mra_domains, self.names.cm, tls=self.tls is not None)
        core: tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader] | None = None
        taken: PooledLink | None = None
        downstream: asyncio.Task[None] | None = None
        try:
            while data := await reader.read(READ_SIZE):
                commands = session.receive(data)
                while commands:
                    command = commands.pop(0)
                    if isinstance(command, (AskMechanisms, Authenticate)):
                        if core is None:
                            taken = await self.pool.take()
                            core = await self._open(taken) if taken is not None else None
                        if core is None:
                            commands = self._unreachable(session)
                            continue
                        answer = await self._ask(core, command.query if isinstance(command, AskMechanisms)
                                                 else command.packet)
                        if answer is None:
                            commands = self._unreachable(session)
                        elif isinstance(command, AskMechanisms):
                            commands = session.mechanisms(answer.mechanisms or ()) + commands
                        else:
                            commands = session.auth_result(answer) + commands
                    elif isinstance(command, ToClient):
                        if any(isinstance(c, StartTls) for c in commands):
                            # <proceed/>: nothing the client sends next may reach the stream reader instead of TLS
                            writer.transport.pause_reading()  # type: ignore[attr-defined]
                        writer.write(command.data)
                    elif isinstance(command, ToCore) and core is not None:
                        core[1].write(command.data)
                    elif isinstance(command, Note):
                        self.xcp(command.level, "JabberdConnection.cpp:412", command.detail)
                    elif isinstance(command, Hangup):
                        await writer.drain()
                        return
                    elif isinstance(command, StartTls) and self.tls is not None:
                        if not await self._secure(writer):
                            return
                await writer.drain()
                if session.state == "relay" and core is not None and downstream is None:
                    downstream = asyncio.create_task(self._downstream(core, writer, session), name="expe C→client")
            if session.state not in ("closed", "closing"):
                self.xcp("INFO", "JabberdConnection.cpp:611",
                         f"Client {session.jid or '-'} went away without </stream:stream> ({session.state})")
        finally:
            if core is not None:
                core[1].close()
            if downstream is not None:  # let it hand C's last bytes to the client, unless the client stopped reading
                try:
                    await asyncio.wait({downstream}, timeout=CLOSE_GRACE)
                finally:
                    await cancel_and_wait(downstream)
            if taken is not None:
                taken.release()

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

    async def _downstream(self, core: tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader],
                          writer: asyncio.StreamWriter, session: EdgeSession) -> None:
        """C → client after SASL: bytes as they come; C closing the link ends the client's stream."""
        with contextlib.suppress(ConnectionError):
            while data := await core[0].read(READ_SIZE):
                writer.write(data)
                await writer.drain()
            if session.state == "relay" and not writer.is_closing():
                self.xcp("ERROR", "JabberdConnection.cpp:540", f"Link to {self.names.connect_auth} lost")
                writer.write(StreamError("remote-connection-failed", "Expressway-C closed the session").wire())
        writer.close()

    async def _open(self, taken: PooledLink) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader] | None:
        try:
            taken.writer.write(link_header(self.names.connect_auth, self.names.cm))
            link = LinkReader(taken.reader)
            await link.next()
            return taken.reader, taken.writer, link
        except (OSError, ConnectionError, TimeoutError, StreamError) as exc:
            self.xcp("ERROR", "JabberdConnection.cpp:233", f"Cannot open link to {self.names.connect_auth}: {exc}")
            return None

    async def _ask(self, core: tuple[asyncio.StreamReader, asyncio.StreamWriter, LinkReader], packet: Xdb
                   ) -> Xdb | None:
        data = wire(packet)
        self.xcp("DEBUG", BUFFER_AT, buffer_detail(len(data), packet))
        core[1].write(data)
        try:
            stanza = await core[2].stanza(timeout=20)
            answer = Xdb.from_element(stanza.element)
        except (ConnectionError, TimeoutError, StreamError, ValueError) as exc:
            self.xcp("ERROR", "JabberdConnection.cpp:301", f"No answer from {self.names.connect_auth}: {exc}")
            return None
        self.xcp("DEBUG", BUFFER_AT, buffer_detail(core[2].last_read, answer))
        return answer

    def _unreachable(self, session: EdgeSession) -> list[Command]:
        if not self.pool.idle and not self.pool.busy:
            self.xcp("ERROR", "JabberdConnection.cpp:233", f"No XCP link from {self.names.connect_auth} "
                                                            f"(traversal zone down)")
        return session.fail(StreamError("remote-connection-failed", "Expressway-C cannot be reached"))


async def start_edge_xmpp(lab: Lab, log: ExpresswayLog, resolver: LabResolver,
                          pool: LinkPool) -> tuple[StreamServer, StreamServer]:
    """E's XMPP client port and its XCP listener for C's links (on ``xcp_bind_address`` if the lab sets one: the
    interface E really listens on, while C reaches the address in the lab's DNS)."""
    tls = resolver.tls.server_context("expressway-e:xmpp") if resolver.tls else None
    server = await serve_stream(EdgeXmpp(lab, log, pool, tls).handle, lab.edge.xmpp)
    resolver.bind(lab.edge.xmpp, server.port)
    xcp = lab.edge.xcp
    try:
        links = await serve_stream(pool.accept, xcp, address=lab.edge.xcp_bind_address or None)
    except BaseException:
        await server.stop()
        raise
    resolver.bind(xcp, links.port)
    return server, links
