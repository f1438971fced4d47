"""SIP over TLS connections for the nodes: a listener that does the TLS handshake itself (so a failed handshake is
the node's to log, with the reason, as the real products log it), a dial through the lab's network, and one object
per connection that reads frames and writes messages.

The listener accepts TCP and upgrades with ``start_tls`` inside the handler, instead of ``start_server(ssl=…)``, whose
handshake errors go to the event loop's exception handler where the node cannot see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from common.config import Listener
from common.dial import open_connection
from common.resolver import LabResolver
from common.sshstream import feed as feed_tls  # the hand-over of early bytes the HTTPS listeners use too
from common.sip.message import SipMessage
from common.sip.stream import PONG, Frame, SipReader
from common.tasks import cancel_and_wait


@dataclass(eq=False)
class SipLink:
    """One SIP connection: its TLS state and both addresses as the node would log them."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    local: tuple[str, int]
    remote: tuple[str, int]
    max_bytes: int = 65536
    frames: SipReader = field(init=False)

    def __post_init__(self) -> None:
        self.frames = SipReader(self.reader, self.max_bytes)

    @property
    def tls(self) -> ssl.SSLObject | None:
        return self.writer.get_extra_info("ssl_object")

    async def next(self) -> Frame | None:
        return await self.frames.next()

    async def send(self, message: SipMessage) -> None:
        self.writer.write(message.render())
        await self.writer.drain()

    async def pong(self) -> None:
        self.writer.write(PONG)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


Handler = Callable[[SipLink], Awaitable[None]]
HandshakeFailed = Callable[[tuple[str, int], tuple[str, int], str], None]


@dataclass
class SipServer:
    server: asyncio.Server
    port: int
    links: set[SipLink] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def stop(self) -> None:
        self.server.close()
        for link in list(self.links):
            link.close()
        await cancel_and_wait(list(self.tasks))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 5)


async def serve_sip(listener: Listener, context: ssl.SSLContext | None, handler: Handler,
                    on_handshake_failure: HandshakeFailed | None = None, max_bytes: int = 65536) -> SipServer:
    loop = asyncio.get_running_loop()
    holder: list[SipServer] = []

    async def accept(transport: asyncio.Transport, waiting: Waiting) -> None:
        local = transport.get_extra_info("sockname")[:2]
        remote = transport.get_extra_info("peername")[:2]
        reader = asyncio.StreamReader(limit=max_bytes)
        protocol = asyncio.StreamReaderProtocol(reader)
        if context is not None:
            try:
                starting = asyncio.ensure_future(loop.start_tls(transport, protocol, context, server_side=True,
                                                                ssl_handshake_timeout=10))
                for _ in range(1000):  # start_tls puts its TLS layer in as the transport's protocol, then waits
                    if transport.get_protocol() is not waiting or starting.done():
                        break
                    await asyncio.sleep(0)
                if waiting.early and not starting.done():
                    feed_tls(transport.get_protocol(), bytes(waiting.early))
                    waiting.early.clear()
                upgraded = await starting
            except (ssl.SSLError, OSError, TimeoutError) as exc:
                if on_handshake_failure is not None:
                    on_handshake_failure(local, remote, tls_reason(exc))
                transport.close()
                return
            if upgraded is None:
                transport.close()
                return
            transport = upgraded  # type: ignore[assignment]
        else:
            transport.set_protocol(protocol)
            transport.resume_reading()
        protocol.connection_made(transport)
        if context is None and waiting.early:
            protocol.data_received(bytes(waiting.early))
            waiting.early.clear()
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        link = SipLink(reader, writer, local, remote, max_bytes)
        holder[0].links.add(link)
        try:
            await handler(link)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            holder[0].links.discard(link)
            writer.close()

    class Waiting(asyncio.Protocol):
        """Holds a new connection still until the handshake starts, keeping what is read before: uvloop reads on
        despite a ``pause_reading`` in ``connection_made``, and a ClientHello dropped there left the handshake
        waiting for its 10 s timeout (Expressway-C's SIP zone then came up only on its retry, seconds later)."""

        def __init__(self) -> None:
            self.early = bytearray()

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # A stream transport, asyncio's or uvloop's (whose TCPTransport is not an asyncio.Transport subclass).
            transport = cast(asyncio.Transport, transport)
            transport.pause_reading()
            task = loop.create_task(accept(transport, self), name=f"sip accept {listener.host}:{listener.port}")
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        def data_received(self, data: bytes) -> None:
            self.early += data

    tasks: set[asyncio.Task[None]] = set()
    try:
        server = await loop.create_server(Waiting, listener.address, listener.listen_port, reuse_address=True)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {listener.address}:{listener.listen_port} for {listener.host}:"
                                 f"{listener.port}: {exc.strerror}") from None
    holder.append(SipServer(server, server.sockets[0].getsockname()[1], tasks=tasks))
    return holder[0]


async def dial_sip(resolver: LabResolver, host: str, port: int, context: ssl.SSLContext | None, *, source: str,
                   server_hostname: str | None = None, local_address: str | None = None) -> SipLink:
    """Dial ``host:port`` by its lab name and do the TLS handshake, checking the name ``server_hostname`` (the
    configured peer address, which may be an IP address) against the server's certificate."""
    reader, writer = await open_connection(resolver, host, port, source=source,
                                           local_addr=(local_address, 0) if local_address else None)
    local = writer.get_extra_info("sockname")[:2]
    remote = writer.get_extra_info("peername")[:2]
    if context is not None:
        try:
            await asyncio.wait_for(writer.start_tls(context, server_hostname=server_hostname or host), 10)
        except ssl.SSLError:
            writer.close()
            raise
        except (OSError, TimeoutError) as exc:
            writer.close()
            raise TlsFailed(f"TLS handshake aborted by the peer: {tls_reason(exc) or type(exc).__name__}") from exc
    return SipLink(reader, writer, local, remote)


def peer_names(transport_ssl: ssl.SSLObject | None) -> tuple[str, ...]:
    """The CN and DNS SANs of the peer's verified certificate (what CUCM checks against the Expressway-C names it
    holds, and against a phone security profile's name)."""
    if transport_ssl is None:
        return ()
    cert = transport_ssl.getpeercert() or {}
    names = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    names += [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"]
    return tuple(names)


class TlsFailed(ssl.SSLError):
    """The peer closed or reset the connection in the middle of the TLS handshake (it refused our certificate)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def tls_reason(exc: BaseException) -> str:
    """The reason as OpenSSL words it (``certificate verify failed: unable to get local issuer certificate``)."""
    if isinstance(exc, TlsFailed):
        return exc.text
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    if isinstance(exc, TimeoutError):
        return "handshake timed out"
    return str(exc) or type(exc).__name__
