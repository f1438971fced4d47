"""Start an aiohttp application on a loopback listener and tell where it really listens — over TLS when the lab is.

A TLS listener accepts TCP itself and runs the handshake before handing the connection to aiohttp
(:class:`TlsAccept`), so a failed handshake is *seen*: the node logs it in its own words through ``on_tls_error``
(peer address and OpenSSL's reason: ``tlsv1 alert unknown ca`` when the client refused our certificate,
``certificate verify failed`` when we refused the client's, ``http request`` when plain HTTP arrived on the TLS
port) and closes that connection, as a real listener does, and keeps serving the others. Left to asyncio, these
failures would vanish into its debug log.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web

from common.config import Listener
from common.sshstream import ChannelSession, ChannelTransport, feed, start_tls

_HANDSHAKES: set[asyncio.Task[None]] = set()  # running handshakes, referenced until done
STOP_GRACE = 5.0
"""Seconds a stopping listener lets requests in flight finish before it cancels them (aiohttp's default is 60: a
request stuck on a dead peer would hold 'lab stop' for a minute per node)."""
TlsFailure = Callable[[str, int, str], None]
"""Called with the peer's address, its port and the reason, when a TLS handshake on the listener fails."""
TlsNotice = Callable[[str, int, str], None]
"""Called with the peer's address, its port and the SNI name it sent, when that name is not on our certificate."""
HANDSHAKE_TIMEOUT = 30.0


@dataclass
class Running:
    runner: web.AppRunner
    address: str
    port: int
    server: asyncio.Server | None = None
    protocol_factory: Callable[[], asyncio.BaseProtocol] | None = None
    """What the listener runs on each accepted connection (TLS first when the listener is TLS)."""

    def channel_session(self, orig_host: str, orig_port: int) -> ChannelSession:
        """Serve one SSH channel as if it were a connection accepted from ``orig_host:orig_port`` (the tunnel's
        ``forwarded-tcpip`` channels, :mod:`common.sshstream`): same TLS, same handshake logging, same handler."""
        assert self.protocol_factory is not None
        return ChannelSession(self.protocol_factory(), {"peername": (orig_host, orig_port),
                                                        "sockname": (self.address, self.port)})

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        await self.runner.cleanup()


async def settle_handshakes(limit: float = 2.0) -> None:
    """Wait for the TLS handshakes under way on this process's listeners to end (and be logged), at most ``limit``
    seconds: a client that gave up has already sent its alert or reset, so its peer's line is a loop turn away."""
    pending = [task for task in _HANDSHAKES if not task.done()]
    if pending:
        await asyncio.wait(pending, timeout=limit)


def tls_reason(exc: BaseException) -> str:
    """OpenSSL's words for a failed handshake: the verify message, the alert or error reason, else the exception."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason.lower().replace("_", " ")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)) or "handshake is taking longer" in str(exc):
        return "handshake timed out"
    if isinstance(exc, ConnectionResetError):
        # A client that refuses our certificate sends its alert and closes with our handshake unread, so the kernel
        # resets the connection and the alert is lost with the unread data (RFC 793 §3.4): SSL_ERROR_SYSCALL.
        return "SSL_ERROR_SYSCALL: connection reset by peer during the handshake"
    return str(exc) or type(exc).__name__


class TlsAccept(asyncio.Protocol):
    """One accepted TCP connection until its TLS handshake is done; then aiohttp's protocol owns it."""

    def __init__(self, factory: Callable[[], asyncio.Protocol], context: ssl.SSLContext,
                 on_error: TlsFailure | None, on_foreign_name: TlsNotice | None = None) -> None:
        self.factory, self.context, self.on_error = factory, context, on_error
        self.on_foreign_name = on_foreign_name
        self.pending = bytearray()
        self.early = bytearray()
        self.layered = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # a stream transport (uvloop's does not subclass asyncio's)
        transport.pause_reading()  # nothing may reach this protocol before the TLS layer is in place
        task = asyncio.get_running_loop().create_task(self._handshake(transport), name="tls handshake")
        _HANDSHAKES.add(task)
        task.add_done_callback(_HANDSHAKES.discard)

    def data_received(self, data: bytes) -> None:
        if self.layered:
            self.pending += data  # application data that arrived between the handshake and the hand-over
        else:
            self.early += data  # handshake bytes read before the TLS layer was in (uvloop reads on regardless)

    def connection_lost(self, exc: Exception | None) -> None:
        pass

    async def _handshake(self, transport: asyncio.Transport) -> None:
        peer = transport.get_extra_info("peername") or ("", 0)
        loop = asyncio.get_running_loop()
        # The whole handshake must end within the timeout, however the bytes come: a client that never finishes it,
        # or dribbles its ClientHello a byte at a time, holds a connection no longer than this (slowloris over TLS).
        timeout = getattr(self.context, "handshake_timeout", HANDSHAKE_TIMEOUT)
        if isinstance(transport, ChannelTransport):  # an SSH channel of the traversal tunnel, not a socket
            starting = asyncio.ensure_future(start_tls(transport, self, self.context, server_side=True,
                                                       handshake_timeout=timeout))
        else:
            starting = asyncio.ensure_future(loop.start_tls(transport, self, self.context, server_side=True,
                                                            ssl_handshake_timeout=timeout))
        try:
            for _ in range(1000):  # start_tls puts its TLS layer in as the transport's protocol, then waits
                if transport.get_protocol() is not self or starting.done():
                    break
                await asyncio.sleep(0)
            self.layered = True
            if self.early and not starting.done():
                feed(transport.get_protocol(), bytes(self.early))
                self.early.clear()
            secured = await starting
        except (OSError, ssl.SSLError, TimeoutError, asyncio.TimeoutError, ConnectionError) as exc:
            if self.on_error is not None:
                self.on_error(peer[0], peer[1], tls_reason(exc))
            transport.close()
            return
        if secured is None:
            return
        self._check_name(secured, peer)
        self._refuse_renegotiation(secured, peer)
        protocol = self.factory()
        secured.set_protocol(protocol)
        protocol.connection_made(secured)
        if self.pending:
            protocol.data_received(bytes(self.pending))
            self.pending.clear()

    def _check_name(self, secured: asyncio.BaseTransport, peer: tuple[str, int]) -> None:
        """A client that asked for a name our certificate does not carry still gets our certificate (RFC 6066
        section 3 leaves it to the server; Apache Traffic Server presents its default one): it is told so by the
        name check on its side, and we log it."""
        names = getattr(self.context, "names", ())
        tls = secured.get_extra_info("ssl_object")
        asked = getattr(tls, "server_name_indication", None)
        if self.on_foreign_name is not None and names and asked and not _matches(asked, names):
            self.on_foreign_name(peer[0], peer[1], asked)


    def _refuse_renegotiation(self, secured: asyncio.BaseTransport, peer: tuple[str, int]) -> None:
        """A client-initiated renegotiation (TLS 1.2) is refused by OpenSSL (``OP_NO_RENEGOTIATION``, set on our
        contexts); then we log it and close the connection, as Apache Traffic Server does
        (``proxy.config.ssl.allow_client_renegotiation`` 0, its default)."""
        tls = secured.get_extra_info("ssl_object")
        if tls is None or self.on_error is None:
            return
        on_error, loop = self.on_error, asyncio.get_running_loop()

        def refused() -> None:
            on_error(peer[0], peer[1], "client renegotiation refused")
            loop.call_soon(secured.abort)

        tls.on_renegotiation = refused


def _matches(name: str, names: tuple[str, ...]) -> bool:
    """RFC 6125 section 6.4: exact, or a ``*.`` wildcard for the left-most label."""
    name = name.lower().rstrip(".")
    for candidate in (n.lower() for n in names):
        if name == candidate or (candidate.startswith("*.") and name.partition(".")[2] == candidate[2:]):
            return True
    return False


async def serve(app: web.Application, listener: Listener, *, ssl_context: ssl.SSLContext | None = None,
                on_tls_error: TlsFailure | None = None, on_foreign_name: TlsNotice | None = None,
                **server_kwargs: Any) -> Running:
    """Serve ``app`` on ``listener.address:listener.listen_port`` (0 picks a free port), over TLS with ``ssl_context``.

    ``server_kwargs`` reach aiohttp's request handler (``max_field_size``, ``logger`` …).
    """
    server_kwargs.setdefault("shutdown_timeout", STOP_GRACE)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, **server_kwargs)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listener.address, listener.listen_port))
    except OSError as exc:
        sock.close()
        await runner.cleanup()
        raise OSError(
            exc.errno,
            f"cannot listen on {listener.address}:{listener.listen_port} for {listener.host}: {exc.strerror}; "
            "free the port or set listen_port = 0 in the lab file",
        ) from None
    factory = runner.server
    assert factory is not None
    if ssl_context is None:
        site = web.SockSite(runner, sock)
        await site.start()
        return Running(runner, listener.address, sock.getsockname()[1], protocol_factory=factory)
    sock.listen(128)

    def accept() -> TlsAccept:
        return TlsAccept(factory, ssl_context, on_tls_error, on_foreign_name)

    server = await asyncio.get_running_loop().create_server(accept, sock=sock)
    return Running(runner, listener.address, sock.getsockname()[1], server, accept)


def quiet_logger(name: str) -> logging.Logger:
    """A stdlib logger for aiohttp's own messages that stays off the console unless configured."""
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger
