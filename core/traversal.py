"""Expressway-C as the traversal client: it dials Expressway-E and keeps dialling.

C opens every connection of the Unified Communications traversal zone; E only accepts (mra-facts sections 1 and 11,
Cisco Expressway MRA Deployment Guide, "Firewall and NAT requirements": inside→DMZ TCP 2222, 7001, 7400). Two of
the zone's links are made here:

* :class:`SshTunnel` logs in to E's SSH daemon on TCP 2222 with the zone's username and password
  (:mod:`asyncssh`) and asks for a reverse port forward (RFC 4254 section 7.1), so each connection E's traffic server
  makes to its end arrives at C's traffic server through the tunnel: each ``forwarded-tcpip`` channel is served by
  C's HTTPS listener's own TLS and HTTP protocol, with no loopback connection between (:mod:`common.sshstream`);
* :class:`XcpLinks` keeps the XCP link open to E's 7400, on which every XMPP session rides (:mod:`core.xcplink`).

A link that fails or drops is retried with exponential backoff (``tunnel_retry_min`` doubling up to
``tunnel_retry_max``, modelled), and each state change is logged (``tvcs``, ``Module="network.ssh"`` /
``"network.xcp"``, modelled field names) and shown on the zone status (:mod:`common.zone`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ssl
from collections.abc import Callable

import asyncssh

from common.clock import LabClock
from common.dial import connection_faults, open_connection
from common.labmodel import Lab
from common.logformats.expressway import TVCS
from common.nodelog import ExpresswayLog
from common.resolver import LabResolver, NameError_
from common.tasks import cancel_and_wait
from common.serve import tls_reason
from common.xcpmux import XcpMux, keep_alive, no_verify_context
from common.zone import ACTIVE, FAILED, SSH_TUNNEL, TUNNEL_ENCRYPTION, XCP, ZoneStatus
from core.xcplink import XcpRouter

AUTH_FAILURE = "SSH tunnel authentication failure"
CONNECT_TIMEOUT = 10.0
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def failure_reason(exc: BaseException) -> str:
    """The reason the zone status page shows for a failed dial, in the words of the product's status page."""
    if isinstance(exc, asyncssh.PermissionDenied):
        return AUTH_FAILURE
    if isinstance(exc, ssl.SSLError):
        return f"TLS negotiation failed: {tls_reason(exc)}"
    if isinstance(exc, NameError_):
        return "Name resolution failed"
    if isinstance(exc, ConnectionRefusedError) or getattr(exc, "errno", None) == errno.ECONNREFUSED:
        return "Connection refused"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "Connection timed out"
    if isinstance(exc, ConnectionResetError):
        return "Connection reset by peer"
    return str(exc) or type(exc).__name__


class _Retrying:
    """A link C keeps up on its own: ``attempt`` returns when an established link ends, raises when a dial fails."""

    module = "network.ssh"
    link = SSH_TUNNEL

    def __init__(self, lab: Lab, resolver: LabResolver, log: ExpresswayLog, clock: LabClock,
                 zone: ZoneStatus) -> None:
        self.lab, self.resolver, self.log, self.clock, self.zone = lab, resolver, log, clock, zone
        self.config = lab.core
        self.peer = self.config.traversal_peer or lab.edge.listener.host
        self._task: asyncio.Task[None] | None = None
        self._settled = asyncio.Event()
        self.attempts = 0

    @property
    def port(self) -> int:
        raise NotImplementedError

    def tvcs(self, level: str, detail: str, fields: dict[str, object]) -> None:
        self.log.write(TVCS, level, {"Detail": detail, "Zone": self.zone.name, "Peer": f"{self.peer}:{self.port}",
                                     **fields}, module=self.module)

    def now(self) -> str:
        return self.clock.now().isoformat(timespec="seconds")

    async def start(self, wait: float = 5.0) -> None:
        """Start dialling; return once the first attempt has succeeded or failed (at most ``wait`` seconds)."""
        self._task = asyncio.create_task(self._run(), name=f"expc {self.link} to {self.peer}")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._settled.wait(), wait)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        await self.close()

    async def close(self) -> None:
        """Close what the link holds open."""

    async def attempt(self, established: Callable[[], None]) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        delay = self.config.tunnel_retry_min
        while True:
            self.attempts += 1
            was_up = False

            def established() -> None:
                nonlocal was_up
                was_up = True
                self._settled.set()

            try:
                await self.attempt(established)
                reason = "Connection lost"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure of a dial is a zone status, never a crash of C
                reason = failure_reason(exc)
            if was_up:
                delay = self.config.tunnel_retry_min
                self.tvcs("WARN", f"{self.link} lost", {"Reason": reason, "Retry-in": f"{delay:g}s"})
            else:
                self.tvcs("ERROR", f"{self.link} failed", {"Reason": reason, "Retry-in": f"{delay:g}s"})
            self.zone.set(self.link, FAILED, reason, connections=0, since=self.now())
            self._settled.set()
            await asyncio.sleep(delay)
            if not was_up:
                delay = min(delay * 2, self.config.tunnel_retry_max)


class SshTunnel(_Retrying):
    """The SSH connection to E's 2222 and the reverse forward that carries E's requests to C's traffic server."""

    def __init__(self, lab: Lab, resolver: LabResolver, log: ExpresswayLog, clock: LabClock, zone: ZoneStatus,
                 serve_channel: Callable[[str, int], asyncssh.SSHTCPSession[bytes]]) -> None:
        """``serve_channel(orig_host, orig_port)``: the session that serves one channel E opens (C's traffic server,
        :meth:`common.serve.Running.channel_session`)."""
        super().__init__(lab, resolver, log, clock, zone)
        self.serve_channel = serve_channel
        self.conn: asyncssh.SSHClientConnection | None = None
        zone.link(SSH_TUNNEL, lab.edge.tunnel.port)

    @property
    def port(self) -> int:
        return self.lab.edge.tunnel.port

    def _serve(self, orig_host: str, orig_port: int) -> asyncssh.SSHTCPSession[bytes]:
        return self.serve_channel(orig_host, orig_port)  # looked up per channel: benchmarks.tunnel swaps it

    async def attempt(self, established: Callable[[], None]) -> None:
        address, listen_port = self.resolver.locate(self.peer, self.port)
        await connection_faults(self.resolver, self.peer, self.port, "expressway-c")
        self.conn = await asyncio.wait_for(asyncssh.connect(
            address, listen_port, username=self.config.traversal_username, password=self.config.traversal_password,
            known_hosts=None, client_keys=None, agent_path=None, config=None, preferred_auth="password",
            keepalive_interval=15, local_addr=(self.config.listener.address, 0),
            encryption_algs=list(TUNNEL_ENCRYPTION)), CONNECT_TIMEOUT)
        try:
            await self.conn.create_server(self._serve, "127.0.0.1", 0)
            self.tvcs("INFO", "SSH tunnel established", {})
            self.zone.set(SSH_TUNNEL, ACTIVE, connections=1, since=self.now())
            established()
            await self.conn.wait_closed()
        finally:
            await self.close()

    async def close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)


class XcpLinks(_Retrying):
    """The one XCP link to E's 7400, on which every XMPP session rides (:mod:`core.xcplink`): over TLS with the lab's
    certificates (C checks E's, E checks C's), kept alive with whitespace, redialled with backoff when it drops."""

    module = "network.xcp"
    link = XCP

    def __init__(self, lab: Lab, resolver: LabResolver, log: ExpresswayLog, clock: LabClock, zone: ZoneStatus,
                 router: XcpRouter, keepalive: float = 30.0) -> None:
        super().__init__(lab, resolver, log, clock, zone)
        self.router, self.keepalive = router, keepalive
        self.mux: XcpMux | None = None
        zone.link(XCP, lab.edge.xcp.port)

    @property
    def port(self) -> int:
        return self.lab.edge.xcp.port

    async def attempt(self, established: Callable[[], None]) -> None:
        tls = self.resolver.tls
        context = tls.client_context("expressway-c", self.peer) if tls else None
        reader, writer = await asyncio.wait_for(
            open_connection(self.resolver, self.peer, self.port, source="expressway-c",
                            local_addr=(self.config.listener.address, 0),
                            tls=(context or no_verify_context()) if tls else None), CONNECT_TIMEOUT)
        keepalive: asyncio.Task[None] | None = None
        try:
            self.mux = await self.router.open_link(reader, writer)
            self.tvcs("INFO", "XCP link established", {})
            self.zone.set(XCP, ACTIVE, connections=1, since=self.now())
            established()
            keepalive = asyncio.create_task(keep_alive(self.mux, self.keepalive), name="expc XCP keep-alive")
            await self.router.serve_link(self.mux)
        finally:
            await cancel_and_wait(keepalive)
            await self.close()

    async def close(self) -> None:
        mux, self.mux = self.mux, None
        if mux is not None:
            mux.close()
        await self.router.close()
