"""Expressway-C's end of the Unified Communications traversal zone (the traversal client) and its SIP route to CUCM.

C dials E's zone port (7001) over TLS, checking E's certificate against the configured peer address (an IP address
fails against a certificate that carries only E's FQDN, mra-facts section 11), and authenticates with Digest: the
first OPTIONS is challenged ``401``, the second carries the zone's username and password. The zone is then Active and
an OPTIONS keeps it alive every ``keepalive_seconds``; any failure makes it Failed with the reason, and C dials again.

C dials the zone with its certificate from the lab PKI and checks E's (:meth:`common.tls.LabTls.client_context`).
Requests E relays on the zone go to the CUCM node they name over the automatic zone C built for it at "Refresh
servers" (:mod:`core.sipcucm`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
from dataclasses import dataclass, field

from common.clock import LabClock
from common.config import Lab
from common.logformats.expressway import TVCS_EVENT
from common.nodelog import ExpresswayLog
from common.resolver import LabResolver
from common.sip import auth, proxy, trace
from common.sip.link import SipLink, dial_sip, tls_reason
from common.sip.message import SipMessage, request
from common.tasks import cancel_and_wait
from common.zone import ACTIVE, FAILED, SIP, ZoneStatus
from core.sipcucm import CucmZones

MIN_RETRY = 0.5


@dataclass
class ZoneState:
    status: str = "Failed"
    reason: str = "Not connected yet"
    since: float = 0.0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    settled: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class CoreSip:
    lab: Lab
    log: ExpresswayLog
    clock: LabClock
    resolver: LabResolver
    zone: ZoneState = field(default_factory=ZoneState)
    link: SipLink | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    cseq: int = 30235
    user_agent: str = "TANDBERG/4352 (X14.2.5)"
    status_page: ZoneStatus | None = None

    def __post_init__(self) -> None:
        tls = self.resolver.tls
        self.zone_context = tls.client_context("expressway-c") if tls is not None else None
        self.cucm = CucmZones(self.lab, self.log, self.resolver, self.reply_on_zone, self._spawn, self.user_agent)
        if self.status_page is not None:
            self.status_page.link(SIP, self.lab.sip.zone.port)

    @property
    def peer(self) -> str:
        """The zone's peer address: ``[sip] zone_peer_address``, else C's traversal peer, else E's FQDN."""
        return self.lab.sip.zone_peer_address or self.lab.core.traversal_peer or self.lab.sip.zone.host

    @property
    def host(self) -> str:
        return self.lab.core.listener.host

    def set_zone(self, status: str, reason: str = "") -> None:
        if (status, reason) != (self.zone.status, self.zone.reason):
            self.zone.status, self.zone.reason, self.zone.since = status, reason, self.clock.timestamp()
            if self.status_page is not None:
                self.status_page.set(SIP, ACTIVE if status == "Active" else FAILED, reason,
                                     connections=1 if status == "Active" else 0,
                                     since=self.clock.now().isoformat(timespec="seconds"))
            self.log.write(TVCS_EVENT, "INFO" if status == "Active" else "WARN",
                           {"Event": f"Zone {status}", "Zone": self.lab.core.zone_name, "Peer": self.peer,
                            **({"Detail": reason} if reason else {})})
        self.zone.changed.set()
        self.zone.settled.set()

    async def start(self, wait: float = 5.0) -> None:
        """Start dialling; return once the first attempt has succeeded or failed (at most ``wait`` seconds), as the
        zone's other links do (core/traversal.py)."""
        self._spawn(self.run(), "expressway-c traversal zone (SIP)")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.zone.settled.wait(), wait)

    def _spawn(self, coro: object, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)  # type: ignore[arg-type]
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        await cancel_and_wait(list(self.tasks))
        self.cucm.close()
        if self.link is not None:
            self.link.close()

    async def wait_status(self, status: str, timeout: float = 10.0) -> bool:
        async with asyncio.timeout(timeout):
            while self.zone.status != status:
                self.zone.changed.clear()
                await self.zone.changed.wait()
        return True

    async def wait_status_reason(self, text: str, timeout: float = 10.0) -> bool:
        async with asyncio.timeout(timeout):
            while text not in self.zone.reason:
                self.zone.changed.clear()
                await self.zone.changed.wait()
        return True

    # --- the zone ----------------------------------------------------------------------------------------------

    @property
    def retry(self) -> tuple[float, float]:
        """C's retry of the zone's SIP link: the tunnel's backoff, but never faster than every half second."""
        low = max(self.lab.core.tunnel_retry_min, MIN_RETRY)
        return low, max(self.lab.core.tunnel_retry_max, low)

    async def run(self) -> None:
        delay = self.retry[0]
        while True:
            try:
                await self.connect()
            except asyncio.CancelledError:
                raise
            except ssl.SSLError as exc:
                self.set_zone("Failed", f"TLS negotiation failure: {tls_reason(exc)}")
            except (OSError, TimeoutError, LookupError) as exc:
                self.set_zone("Failed", f"Connection failed: {exc}")
            except ZoneRefused as exc:
                self.set_zone("Failed", str(exc))
            finally:
                if self.link is not None:
                    self.link.close()
                    self.link = None
            if self.zone.status == "Active":
                delay = self.retry[0]
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.retry[1])

    async def connect(self) -> None:
        sip = self.lab.sip
        link = await dial_sip(self.resolver, sip.zone.host, sip.zone.port, self.zone_context,
                              source="expressway-c", server_hostname=self.peer,
                              local_address=self.lab.core.listener.address)
        self.link = link
        challenge = await self.options(link, None)
        if challenge.status != 401:
            raise ZoneRefused(f"unexpected {challenge.status} {challenge.reason} to the first OPTIONS")
        credentials = auth.Credentials.parse(challenge.get("WWW-Authenticate", "") or "")
        answer = await self.options(link, credentials)
        if answer.status != 200:
            raise ZoneRefused("Authentication failure: the traversal server answered "
                              f"{answer.status} {answer.reason} to the zone's credentials")
        self.set_zone("Active")
        keepalive = asyncio.get_running_loop().create_task(self.keepalive(link, credentials), name="zone keepalive")
        try:
            await self.serve(link)
        finally:
            await cancel_and_wait(keepalive)
        raise ZoneRefused("Connection closed by the traversal server")

    async def options(self, link: SipLink, credentials: auth.Credentials | None) -> SipMessage:
        """One OPTIONS and its answer; used before the read loop runs (authentication)."""
        await self.send_options(link, credentials)
        while (frame := await asyncio.wait_for(link.next(), 10)) is not None:
            if frame.message is not None and not frame.message.is_request:
                trace.expressway(self.log, frame.message, True, link.local, link.remote)
                return frame.message
        raise ConnectionError("the traversal server closed the connection")

    async def send_options(self, link: SipLink, credentials: auth.Credentials | None) -> None:
        sip = self.lab.sip
        self.cseq += 1
        uri = f"sip:{self.peer}:{sip.zone.port};transport=tls"
        headers = [("Via", f"SIP/2.0/TLS {self.host}:{link.local[1]};branch={proxy.new_branch()};rport"),
                   ("Call-ID", f"{secrets.token_hex(8)}@{self.host}"), ("CSeq", f"{self.cseq} OPTIONS"),
                   ("From", f"<sip:{self.host}>;tag={secrets.token_hex(8)}"),
                   ("To", f"<sip:{self.peer}:{sip.zone.port}>"), ("Max-Forwards", "0"),
                   ("User-Agent", self.user_agent)]
        if credentials is not None:
            core = self.lab.core
            headers.append(("Authorization", auth.digest_credentials(credentials, core.traversal_username,
                                                                     core.traversal_password,
                                                                     "OPTIONS", uri, secrets.token_hex(16))))
        message = request("OPTIONS", uri, headers)
        trace.expressway(self.log, message, False, link.local, link.remote)
        await link.send(message)

    async def keepalive(self, link: SipLink, credentials: auth.Credentials) -> None:
        while True:
            await asyncio.sleep(self.lab.sip.keepalive_seconds)
            await self.send_options(link, credentials)

    async def serve(self, link: SipLink) -> None:
        while (frame := await link.next()) is not None:
            if frame.ping:
                await link.pong()
                continue
            if frame.message is None:
                self.log.write(TVCS_EVENT, "INFO", {"Event": "Bad SIP Message",
                                              "Detail": frame.error.reason if frame.error else "", "Zone": self.lab.core.zone_name})
                if frame.fatal:
                    return
                continue
            message = frame.message
            trace.expressway(self.log, message, True, link.local, link.remote)
            if message.is_request:
                await self.cucm.forward(message)
            elif message.status == 401:
                self.set_zone("Failed", "Authentication failure on keep-alive")
                return

    async def reply_on_zone(self, message: SipMessage) -> None:
        if self.link is not None:
            await self.reply(self.link, message)

    async def reply(self, link: SipLink, message: SipMessage) -> None:
        trace.expressway(self.log, message, False, link.local, link.remote)
        with contextlib.suppress(ConnectionError):
            await link.send(message)


class ZoneRefused(Exception):
    """The traversal server would not bring the zone up; the message is the zone status reason."""
