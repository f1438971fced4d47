"""Expressway-E's end of the SSH tunnel (TCP 2222): the traversal server accepts, Expressway-C dials.

Expressway-E never opens a connection inward. Expressway-C logs in to E's SSH daemon with the traversal zone's
credentials and asks for a reverse port forward (RFC 4254 section 7.1, ``tcpip-forward``); E listens for it on a
loopback port of its own, and each connection E's traffic server makes there becomes a ``forwarded-tcpip`` channel
back through the tunnel to C's traffic server (RFC 4254 section 7.2). The SSH is :mod:`asyncssh`'s; this module only
decides who may log in, keeps the zone status and logs in the products' words: OpenSSH's ``Accepted password for …``
/ ``Failed password for …`` on E's ``sshd``, the zone's state on ``tvcs``.

E's own traffic server does not go through that loopback port: its HTTP client (:class:`TunnelConnector`) opens
each of its pooled connections to C as a ``forwarded-tcpip`` channel of the tunnel itself and runs its TLS to C
over the channel (:mod:`common.sshstream`). The same channel opens, the same TLS records inside them, two loopback
sockets fewer per request (issue 18, docs/performance.md "The tunnel crossing"). The loopback port stays: it is the
forward C asked for, and anything else on E that dials it still reaches C.

A wrong password is refused, logged and counted by intrusion protection (category "SSH tunnel authentication
failure", modelled on Expressway's automated detection categories), so a C with stale credentials retrying on its own
ends up blocked, as on the real product.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import itertools
import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, cast

import aiohttp
import asyncssh
from aiohttp.client_exceptions import ClientConnectorCertificateError, ClientConnectorError, ClientConnectorSSLError

from common.clock import LabClock
from common.labmodel import EdgeConfig
from common.logformats.expressway import FAIL2BAN, SSHD, TVCS
from common.nodelog import ExpresswayLog
from common.sshstream import ChannelSession, TlsLayer
from common.zone import ACTIVE, FAILED, SSH_TUNNEL, TUNNEL_ENCRYPTION, ZoneStatus
from edge.intrusion import IntrusionProtection

CATEGORY = "ssh-tunnel-auth-failure"
MODULE = "network.ssh"
HANDSHAKE_TIMEOUT = 30.0  # s: a TLS handshake to C inside the tunnel, as the listeners bound theirs (common.serve)
Opener = Callable[[Callable[[], asyncio.BaseProtocol], "ssl.SSLContext | None", "str | None"],
                  Awaitable[tuple[asyncio.Transport, asyncio.BaseProtocol]]]


class TunnelServer:
    """The SSH daemon on E's tunnel port and the loopback port through which E's traffic server reaches C."""

    def __init__(self, config: EdgeConfig, log: ExpresswayLog, clock: LabClock, zone: ZoneStatus,
                 protection: IntrusionProtection | None, on_forward: Callable[[int | None], None]) -> None:
        self.config, self.log, self.clock, self.zone = config, log, clock, zone
        self.protection = protection
        self.on_forward = on_forward
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.connections: dict[asyncssh.SSHServerConnection, tuple[str, int]] = {}
        self.forwards: dict[asyncssh.SSHServerConnection, asyncssh.SSHListener] = {}
        self.forward_hosts: dict[asyncssh.SSHServerConnection, str] = {}
        self._server: asyncssh.SSHAcceptor | None = None
        self.port = 0
        # originator ports of E's channels (RFC 4254 section 7.2), from the Linux ephemeral range as a socket's would be
        self.direct_channels = True  # False: E's client dials the loopback port instead (benchmarks.tunnel compares)
        self._origin_ports = itertools.cycle(range(32768 + random.randrange(28000), 61000))

    async def start(self) -> int:
        listener = self.config.tunnel
        try:
            self._server = await asyncssh.create_server(
                lambda: _Daemon(self), listener.address, listener.listen_port, server_host_keys=[self.host_key],
                reuse_address=True, keepalive_interval=15, login_timeout=10,
                encryption_algs=list(TUNNEL_ENCRYPTION))
        except OSError as exc:
            raise OSError(exc.errno, f"cannot listen on {listener.address}:{listener.listen_port} for "
                                     f"{listener.host}:{listener.port} (SSH tunnel): {exc.strerror}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        self.zone.set(SSH_TUNNEL, FAILED, "No tunnel from Expressway-C yet", since=self._now())
        return self.port

    async def stop(self) -> None:
        for conn in list(self.connections):
            conn.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)

    def _now(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

    def tvcs(self, level: str, detail: str, fields: dict[str, object]) -> None:
        self.log.write(TVCS, level, {"Detail": detail, "Zone": self.zone.name, **fields}, module=MODULE)

    def sshd(self, level: str, detail: str) -> None:
        self.log.write(SSHD, level, {"Detail": detail})

    def blocked(self, address: str) -> bool:
        if self.protection is None or not self.protection.blocking:
            return False
        return self.protection.blocked_until(address, self.clock.timestamp()) is not None

    def check_password(self, username: str, password: str, peer: tuple[str, int]) -> bool:
        good = (hmac.compare_digest(username.encode(), self.config.traversal_username.encode())
                and hmac.compare_digest(password.encode(), self.config.traversal_password.encode()))
        address, port = peer
        if good:
            self.sshd("INFO", f"Accepted password for {username} from {address} port {port} ssh2")
            return True
        self.sshd("INFO", f"Failed password for {username} from {address} port {port} ssh2")
        self.tvcs("WARN", "SSH tunnel authentication failed", {"Src-ip": address, "Username": username,
                                                              "Reason": "Authentication failure"})
        self.zone.set(SSH_TUNNEL, FAILED, "SSH tunnel authentication failure", since=self._now())
        if self.protection is not None and self.protection.failure(address, self.clock.timestamp()):
            self.log.write(FAIL2BAN, "WARN", {"Event": "Intrusion detected", "Category": CATEGORY, "Src-ip": address,
                                             "Detail": f"more than {self.protection.trigger} SSH tunnel "
                                                       f"authentication failures in "
                                                       f"{int(self.protection.window)}s; address blocked",
                                             "Duration": f"{int(self.protection.block)}s"})
        return False

    async def forward(self, conn: asyncssh.SSHServerConnection, host: str, port: int) -> asyncssh.SSHListener | bool:
        """C's ``tcpip-forward``: a loopback port on E whose connections are channels back to C."""
        if host not in ("127.0.0.1", "localhost") or conn in self.forwards:
            return False
        listener = await conn.forward_local_port("127.0.0.1", 0, host, port)
        self.forwards[conn] = listener
        self.forward_hosts[conn] = host  # the listen address C asked for names the forward in each channel open
        self.on_forward(listener.get_port())
        self.zone.set(SSH_TUNNEL, ACTIVE, connections=len(self.forwards), since=self._now())
        self.tvcs("INFO", "SSH tunnel established", {"Peer": _peer_text(self.connections.get(conn))})
        return listener

    def opener(self, host: str, port: int) -> Opener | None:
        """How E's HTTP client reaches ``host:port`` when it is a tunnel's loopback end: a channel of that tunnel."""
        for conn, listener in self.forwards.items() if self.direct_channels else ():
            if listener.get_port() == port and host == "127.0.0.1":
                return lambda factory, context, hostname: open_channel(
                    conn, factory, (self.forward_hosts.get(conn, "127.0.0.1"), port),
                    ("127.0.0.1", next(self._origin_ports)), context, hostname, HANDSHAKE_TIMEOUT)
        return None

    def lost(self, conn: asyncssh.SSHServerConnection, exc: Exception | None) -> None:
        peer = self.connections.pop(conn, None) or ("?", 0)
        listener = self.forwards.pop(conn, None)
        self.forward_hosts.pop(conn, None)
        if listener is None:
            return
        listener.close()
        if exc is None:
            self.sshd("INFO", f"Received disconnect from {peer[0]} port {peer[1]}:11: disconnected by user")
        self.sshd("INFO", f"Disconnected from user {self.config.traversal_username} {peer[0]} port {peer[1]}")
        self.tvcs("WARN", "SSH tunnel lost", {"Peer": _peer_text(peer), "Reason": str(exc or "Connection lost")})
        if self.forwards:
            self.on_forward(next(iter(self.forwards.values())).get_port())
            self.zone.set(SSH_TUNNEL, ACTIVE, connections=len(self.forwards))
        else:
            self.on_forward(None)
            self.zone.set(SSH_TUNNEL, FAILED, "Connection lost", connections=0, since=self._now())


def _peer_text(peer: tuple[str, int] | None) -> str:
    return f"{peer[0]}:{peer[1]}" if peer else "?"


class _Daemon(asyncssh.SSHServer):
    """One SSH connection: password login only, no shell, one reverse forward (``tcpip-forward``)."""

    def __init__(self, server: TunnelServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.peer: tuple[str, int] = ("?", 0)

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.peer = conn.get_extra_info("peername")[:2]
        if self.server.blocked(self.peer[0]):
            self.server.log.write(FAIL2BAN, "INFO", {"Event": "Connection dropped", "Category": CATEGORY,
                                                     "Src-ip": self.peer[0]})
            conn.abort()
            return
        self.server.connections[conn] = self.peer

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.server.lost(self.conn, exc)

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self.server.check_password(username, password, self.peer)

    def server_requested(self, listen_host: str, listen_port: int):  # type: ignore[no-untyped-def]
        assert self.conn is not None
        return self.server.forward(self.conn, listen_host, listen_port)


async def open_channel(conn: asyncssh.SSHClientConnection | asyncssh.SSHServerConnection,
                       protocol_factory: Callable[[], asyncio.BaseProtocol], dest: tuple[str, int],
                       orig: tuple[str, int], context: ssl.SSLContext | None = None,
                       server_hostname: str | None = None,
                       handshake_timeout: float | None = None) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
    """A new channel of ``conn`` to ``dest`` (a ``forwarded-tcpip`` channel from the server's side, RFC 4254
    section 7.2; ``orig`` is its originator), carrying ``protocol_factory()``'s protocol, over TLS with ``context``.

    What ``loop.create_connection`` returns for a socket: the transport the protocol writes to and the protocol.
    A refused channel raises ``ConnectionRefusedError``, a lost SSH connection ``ConnectionResetError``, a failed
    handshake what OpenSSL raised.
    """
    app = protocol_factory()
    extra = {"peername": dest, "sockname": orig}
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    layer = TlsLayer(app, context, waiter, server_side=False, server_hostname=server_hostname,
                     timeout=handshake_timeout) if context is not None else None
    try:
        _, session = await conn.create_connection(lambda: ChannelSession(layer or app, extra), *dest, *orig)
    except asyncssh.ChannelOpenError as exc:
        raise ConnectionRefusedError(errno.ECONNREFUSED, f"SSH channel refused: {exc.reason}") from None
    except (asyncssh.Error, BrokenPipeError) as exc:
        raise ConnectionResetError(errno.ECONNRESET, f"SSH connection lost: {exc}") from None
    transport = cast(ChannelSession, session).transport
    assert transport is not None
    if layer is None:
        return transport, app
    try:
        await waiter
    except BaseException:
        transport.abort()
        raise
    app.connection_made(layer.app_transport)
    return layer.app_transport, app


def tunnel_connector(tunnel: TunnelServer) -> Callable[..., aiohttp.TCPConnector]:
    """The connector class of E's HTTP client (:class:`common.hop.HopClient`): connections to the tunnel's loopback
    end become channels of the tunnel (:meth:`TunnelServer.opener`); any other address is dialled as usual."""

    def make(**kwargs: Any) -> aiohttp.TCPConnector:
        return TunnelConnector(tunnel, **kwargs)

    return make


class TunnelConnector(aiohttp.TCPConnector):
    """aiohttp's pooled connector, whose new connections to C are SSH channels instead of loopback sockets."""

    def __init__(self, tunnel: TunnelServer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tunnel = tunnel

    async def _wrap_create_connection(self, *args: Any, addr_infos: list[Any], req: Any, timeout: Any,
                                      client_error: type[Exception] = ClientConnectorError,
                                      **kwargs: Any) -> tuple[asyncio.Transport, Any]:
        host, port = addr_infos[0][4][:2]
        opener = self.tunnel.opener(host, port)
        if opener is None:
            return await super()._wrap_create_connection(*args, addr_infos=addr_infos, req=req, timeout=timeout,
                                                         client_error=client_error, **kwargs)
        context = kwargs.get("ssl") if isinstance(kwargs.get("ssl"), ssl.SSLContext) else None
        try:
            async with asyncio.timeout(timeout.sock_connect):
                return await opener(args[0], context, kwargs.get("server_hostname"))  # type: ignore[return-value]
        except ssl.CertificateError as exc:  # what aiohttp's own connector raises for each (connector.py)
            raise ClientConnectorCertificateError(req.connection_key, exc) from exc
        except ssl.SSLError as exc:
            raise ClientConnectorSSLError(req.connection_key, exc) from exc
        except OSError as exc:
            if exc.errno is None and isinstance(exc, asyncio.TimeoutError):
                raise
            raise client_error(req.connection_key, exc) from exc
