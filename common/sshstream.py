"""An SSH channel as an asyncio stream transport, so HTTP (and its TLS) runs straight over the traversal tunnel.

Every connection Expressway-E's traffic server makes to Expressway-C is one ``forwarded-tcpip`` channel of the SSH
connection C opened to E's 2222 (RFC 4254 section 7.2; docs/transport.md, "The traversal zone"). The lab used to
reach the channel through loopback sockets at both ends: E's HTTP client dialled a loopback port of E that asyncssh
turned into a channel, and C's end of the channel dialled C's own HTTPS listener. Each request and each answer then
crossed two more TCP connections, each costing a send, a receive and an event-loop wake-up at both of its ends, plus
asyncssh's forwarder in Python between socket and channel (issue 18, docs/performance.md "The tunnel crossing").

Here the channel *is* the HTTP connection's transport. :class:`ChannelTransport` gives an ``asyncssh`` channel the
``asyncio.Transport`` interface; :class:`ChannelSession` hands the channel's data to any asyncio protocol (aiohttp's
client or server protocol, or the TLS layer under it). :func:`start_tls` layers TLS over such a transport with
asyncio's own SSL protocol (the event loop's ``start_tls`` accepts only its own socket transports under uvloop): the
same contexts, the same handshake and the same TLS records inside the tunnel as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # asyncssh is imported by the Expressways only, not by every node that serves HTTP
    import asyncssh


class ChannelTransport(asyncio.Transport):
    """One SSH channel with the transport interface asyncio protocols expect; ``extra`` answers ``get_extra_info``
    (``peername``: the channel's originator, as a forwarded connection shows it, RFC 4254 section 7.2)."""

    def __init__(self, channel: asyncssh.SSHTCPChannel[bytes], extra: dict[str, Any]) -> None:
        super().__init__(extra)
        self.channel = channel
        self.protocol: asyncio.BaseProtocol | None = None
        self._closing = False

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self.protocol is not None
        return self.protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing and data:
            self.channel.write(data if isinstance(data, bytes) else bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def write_eof(self) -> None:
        self.channel.write_eof()

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self._closing or self.channel.is_closing()

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self.channel.close()

    def abort(self) -> None:
        self._closing = True
        self.channel.abort()

    def pause_reading(self) -> None:
        self.channel.pause_reading()

    def resume_reading(self) -> None:
        self.channel.resume_reading()

    def is_reading(self) -> bool:
        return not self.channel._recv_paused  # asyncssh keeps no public accessor

    def get_write_buffer_size(self) -> int:
        return self.channel.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.channel.set_write_buffer_limits(high, low)


class ChannelSession:
    """The asyncssh side of a :class:`ChannelTransport` (the methods of ``asyncssh.SSHTCPSession``): each event of the
    channel goes to the transport's current protocol (a protocol may hand the transport on, as a TLS layer does, with
    ``set_protocol``)."""

    def __init__(self, protocol: asyncio.BaseProtocol, extra: dict[str, Any]) -> None:
        self.initial, self.extra = protocol, extra
        self.transport: ChannelTransport | None = None

    def connection_made(self, chan: asyncssh.SSHTCPChannel[bytes]) -> None:
        self.transport = ChannelTransport(chan, self.extra)
        self.transport.set_protocol(self.initial)
        self.initial.connection_made(self.transport)

    def session_started(self) -> None:
        pass

    def data_received(self, data: bytes, datatype: int | None) -> None:
        assert self.transport is not None
        feed(self.transport.get_protocol(), data)

    def eof_received(self) -> bool:
        assert self.transport is not None
        protocol = self.transport.get_protocol()
        return bool(protocol.eof_received()) if isinstance(protocol, asyncio.Protocol | asyncio.BufferedProtocol) \
            else False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transport._closing = True
            self.transport.get_protocol().connection_lost(exc)

    def pause_writing(self) -> None:
        if self.transport is not None:
            self.transport.get_protocol().pause_writing()

    def resume_writing(self) -> None:
        if self.transport is not None:
            self.transport.get_protocol().resume_writing()


def feed(protocol: asyncio.BaseProtocol, data: bytes) -> None:
    """Hand ``data`` to ``protocol``, which reads into its own buffer (``get_buffer``/``buffer_updated``, as asyncio's
    and uvloop's TLS layers do) or takes bytes."""
    if hasattr(protocol, "get_buffer"):  # uvloop's SSLProtocol has the methods without subclassing BufferedProtocol
        view = memoryview(data)
        while view:
            buffer = protocol.get_buffer(len(view))  # type: ignore[attr-defined]
            size = min(len(buffer), len(view))
            buffer[:size] = view[:size]
            protocol.buffer_updated(size)  # type: ignore[attr-defined]
            view = view[size:]
    else:
        protocol.data_received(data)  # type: ignore[attr-defined]


RECORD = 16384  # the largest TLS plaintext record (RFC 5246 section 6.2.1): what one read returns at most


class TlsLayer(asyncio.Protocol):
    """TLS between a channel and an application protocol: OpenSSL's ``SSLObject`` over two memory BIOs.

    This is what asyncio's SSL protocol does, kept to what a request/answer stream needs (no flow-control states of
    its own: the channel's window and the application's pause/resume pass through), because every record of every
    E→C exchange passes here twice: asyncio's general version cost more per record in Python than the loopback
    socket it replaced saved (docs/performance.md, "The tunnel crossing"). The handshake is bounded by ``timeout``.
    """

    def __init__(self, app: asyncio.BaseProtocol, context: ssl.SSLContext, waiter: asyncio.Future[None], *,
                 server_side: bool, server_hostname: str | None, timeout: float | None) -> None:
        self.app, self.waiter = app, waiter
        # whoever opened the channel may have given up on it before the handshake ended: no "never retrieved" noise
        waiter.add_done_callback(lambda done: done.cancelled() or done.exception())
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side, server_hostname)
        self.transport: asyncio.Transport | None = None
        self.app_transport = TlsTransport(self)
        self.secured = False
        self.error: Exception | None = None
        self.timeout = timeout
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if self.timeout is not None:
            self._timer = asyncio.get_running_loop().call_later(self.timeout, self._timed_out)
        self._handshake()

    def _timed_out(self) -> None:
        if not self.waiter.done():
            self.waiter.set_exception(TimeoutError("TLS handshake timed out"))
            assert self.transport is not None
            self.transport.abort()

    def _flush(self) -> None:
        if self.outgoing.pending:
            assert self.transport is not None
            self.transport.write(self.outgoing.read())

    def _fail(self, exc: BaseException) -> None:
        self._flush()  # our alert, if OpenSSL wrote one
        if self._timer is not None:
            self._timer.cancel()
        if not self.waiter.done():
            self.waiter.set_exception(exc)
        assert self.transport is not None
        self.transport.close()

    def _handshake(self) -> None:
        try:
            self.tls.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, OSError) as exc:
            self._fail(exc)
            return
        self._flush()
        self.secured = True
        if self._timer is not None:
            self._timer.cancel()
        if not self.waiter.done():
            self.waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.incoming.write(data)
        if not self.secured:
            self._handshake()
            if not self.secured or not self.incoming.pending:
                return
        received, closed = [], False
        try:
            while True:
                chunk = self.tls.read(RECORD)
                if not chunk:
                    closed = True  # the peer's close_notify
                    break
                received.append(chunk)
                if not self.incoming.pending and not self.tls.pending():
                    break  # all read: spares the call that would raise SSLWantReadError
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLZeroReturnError:
            closed = True
        except (ssl.SSLError, OSError) as exc:
            self._flush()
            self.error = exc  # the application hears of it once, when the channel is gone (connection_lost)
            assert self.transport is not None
            self.transport.abort()
            return
        self._flush()  # what OpenSSL answers by itself (a refused renegotiation's alert, tickets)
        for chunk in received:
            feed(self.app, chunk)
        if closed:
            self.eof_received()

    def eof_received(self) -> bool:
        if not self.secured:
            self._fail(ConnectionResetError("connection closed during the TLS handshake"))
            return False
        keep_open = self.app.eof_received() if isinstance(self.app, asyncio.Protocol | asyncio.BufferedProtocol) \
            else False
        if not keep_open:
            self.app_transport.close()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("connection lost during the TLS handshake"))
        elif self.secured:
            self.app_transport._closing = True
            self.app.connection_lost(exc or self.error)

    def pause_writing(self) -> None:
        self.app.pause_writing()

    def resume_writing(self) -> None:
        self.app.resume_writing()


class TlsTransport(asyncio.Transport):
    """The application's side of a :class:`TlsLayer`: what it writes is encrypted onto the channel."""

    def __init__(self, layer: TlsLayer) -> None:
        super().__init__()
        self.layer = layer
        self._closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        tls = self.layer.tls
        if name == "ssl_object":
            return tls
        if name == "sslcontext":
            return tls.context
        if name == "peercert":
            return tls.getpeercert()
        if name == "cipher":
            return tls.cipher()
        if name == "compression":
            return tls.compression()
        assert self.layer.transport is not None
        return self.layer.transport.get_extra_info(name, default)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.layer.app

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.layer.app = protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or not data:
            return
        self.layer.tls.write(data)
        self.layer._flush()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return False

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        """Send our close_notify (RFC 5246 section 7.2.1), then close the channel."""
        if self._closing:
            return
        self._closing = True
        with contextlib.suppress(ssl.SSLError, OSError, ValueError):
            self.layer.tls.unwrap()
        transport = self.layer.transport
        if transport is not None and not transport.is_closing():
            self.layer._flush()
            transport.close()

    def abort(self) -> None:
        self._closing = True
        if self.layer.transport is not None:
            self.layer.transport.abort()

    def pause_reading(self) -> None:
        assert self.layer.transport is not None
        self.layer.transport.pause_reading()

    def resume_reading(self) -> None:
        assert self.layer.transport is not None
        self.layer.transport.resume_reading()

    def is_reading(self) -> bool:
        assert self.layer.transport is not None
        return self.layer.transport.is_reading()

    def get_write_buffer_size(self) -> int:
        assert self.layer.transport is not None
        return self.layer.transport.get_write_buffer_size()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        assert self.layer.transport is not None
        self.layer.transport.set_write_buffer_limits(high, low)


async def start_tls(transport: asyncio.Transport, protocol: asyncio.BaseProtocol, context: ssl.SSLContext, *,
                    server_side: bool, server_hostname: str | None = None,
                    handshake_timeout: float | None = None) -> asyncio.Transport:
    """TLS over ``transport`` for ``protocol``: what ``loop.start_tls`` does, for a transport that is not a socket's.

    Returns the TLS transport once the handshake is done (``protocol`` is not told: the caller hands the transport
    on); raises what the handshake raised (``ssl.SSLError``, ``ssl.SSLCertVerificationError``,
    ``ConnectionResetError``, ``TimeoutError``) and closes ``transport``.
    """
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    layer = TlsLayer(protocol, context, waiter, server_side=server_side, server_hostname=server_hostname,
                     timeout=handshake_timeout)
    transport.set_protocol(layer)
    layer.connection_made(transport)
    try:
        await waiter
    except BaseException:
        transport.close()
        raise
    return layer.app_transport

