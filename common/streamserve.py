"""Serve a TCP stream protocol (XMPP, XCP) on a loopback listener, the asyncio counterpart of :mod:`common.serve`.

The handler owns one connection; the server keeps a reference to every open connection so that stopping a node closes
them all (a restarted Expressway-C drops its XCP sessions, as the real one does) and no task is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from common.config import Listener
from common.serve import TlsAccept, TlsFailure
from common.tasks import cancel_and_wait
from common.xmpp.stream import Event, Stanza, StreamClosed, StreamReader

ConnectionHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
READ_SIZE = 4096
CLOSE_GRACE = 5.0  # seconds a closing connection may take to flush and say goodbye (TLS close_notify) before abort


async def close_writers(writers: Iterable[asyncio.StreamWriter], grace: float = CLOSE_GRACE) -> None:
    """Close ``writers`` and wait until they are closed, at most ``grace`` seconds; then abort those still open.

    ``wait_closed()`` alone can wait for ever: a peer that stopped reading keeps unsent bytes in the buffer, and a TLS
    peer that never answers close_notify holds the shutdown. A stopping node must not wait on its peers.
    """
    writers = list(writers)
    for writer in writers:
        writer.close()
    waits = [asyncio.ensure_future(writer.wait_closed()) for writer in writers]
    if waits:
        _, late = await asyncio.wait(waits, timeout=grace)
        await cancel_and_wait(late)
    for writer, wait in zip(writers, waits):
        if wait.cancelled():
            writer.transport.abort()
        else:
            wait.exception()  # a reset or a TLS error while closing is no news to a stopping node


@dataclass
class StreamServer:
    server: asyncio.Server
    address: str
    port: int
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def stop(self) -> None:
        self.server.close()
        await close_writers(self.writers)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 5)


async def serve_stream(handler: ConnectionHandler, listener: Listener, address: str | None = None,
                       port: int | None = None, tls: ssl.SSLContext | None = None,
                       on_tls_error: TlsFailure | None = None) -> StreamServer:
    """Listen on ``listener`` (or an explicit address and port); ``port`` 0 lets the kernel choose.

    With ``tls`` every connection is TLS from its first byte (an XCP link): the handshake is :class:`TlsAccept`'s,
    which holds the bytes a peer sends before the TLS layer is in (uvloop reads on regardless) and reports a failed
    handshake to ``on_tls_error`` with OpenSSL's reason; ``handler`` gets the secured stream."""
    holder: list[StreamServer] = []

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        holder[0].writers.add(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            holder[0].writers.discard(writer)
            writer.close()

    where = address or listener.address
    try:
        if tls is None:
            server = await asyncio.start_server(tracked, where, listener.listen_port if port is None else port,
                                                reuse_address=True)
        else:
            def secured() -> asyncio.Protocol:
                return asyncio.StreamReaderProtocol(asyncio.StreamReader(), tracked)

            server = await asyncio.get_running_loop().create_server(
                lambda: TlsAccept(secured, tls, on_tls_error), where,
                listener.listen_port if port is None else port, reuse_address=True)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot listen on {where}:{listener.listen_port} for {listener.host}:"
                                 f"{listener.port}: {exc.strerror}; free the port or set its listen port to 0 in the "
                                 "lab file") from None
    holder.append(StreamServer(server, where, server.sockets[0].getsockname()[1]))
    return holder[0]


async def read_some(reader: asyncio.StreamReader) -> bytes:
    return await reader.read(READ_SIZE)


async def splice(a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
                 b: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
    """Copy bytes both ways until either side closes, then close both: a relayed XMPP session after SASL."""

    async def copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(READ_SIZE):
                writer.write(data)
                await writer.drain()

    tasks = [asyncio.create_task(copy(a[0], b[1]), name="splice a→b"),
             asyncio.create_task(copy(b[0], a[1]), name="splice b→a")]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await cancel_and_wait(tasks)
        for _, writer in (a, b):
            writer.close()


class LinkReader:
    """The packets of an XCP link or XMPP stream, one at a time, whatever the TCP segmentation."""

    def __init__(self, reader: asyncio.StreamReader, max_stanza: int = 65536) -> None:
        self.reader = reader
        self.stream = StreamReader(max_stanza)
        self.pending: list[Event] = []
        self.last_read = 0

    async def next(self, timeout: float = 10.0) -> Event:
        """The next event; EOF is ConnectionError, a broken stream :class:`StreamError`."""
        async with asyncio.timeout(timeout):
            while not self.pending:
                data = await self.reader.read(READ_SIZE)
                if not data:
                    raise ConnectionError("peer closed the connection")
                self.last_read = len(data)
                self.pending.extend(self.stream.feed(data))
        return self.pending.pop(0)

    async def stanza(self, timeout: float = 10.0) -> Stanza:
        """The next first-level element, skipping a stream header; a stream close is ConnectionError."""
        while True:
            event = await self.next(timeout)
            if isinstance(event, Stanza):
                return event
            if isinstance(event, StreamClosed):
                raise ConnectionError("peer closed the stream")
