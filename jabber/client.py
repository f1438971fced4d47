"""The simulated Jabber client: discovers Expressway-E and drives :func:`jabber.flow.login` over real sockets.

Discovery is Jabber's, from outside (the lab's public DNS view): ``_cisco-uds._tcp.<domain>`` first, which the public
view does not answer, then ``_collab-edge._tls.<domain>``; the edge is at the SRV target and port, whose A record must
be in the public view too. Every step is a real HTTPS request from the client's own address to the edge, which must
present a certificate Jabber trusts that carries the services domain (RFC 6125 §6.2.1; the lab's Jabber behaves as
with ``InvalidCertificateBehavior=RejectAndNotify``: no prompt, the connection is refused).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from yarl import URL

from common.clock import LabClock
from common.config import Lab
from common.hop import HopClient, HopError
from common.nodelog import CsfLog, LineSink
from common.resolver import LabResolver, NameError_
from jabber import points
from jabber.flow import Flow, Outcome, Reply, Settings, Step, edge_config, login, refresh


@dataclass(frozen=True)
class StepRecord:
    index: int
    name: str
    method: str
    url: str
    status: int
    elapsed_ms: float


REFRESH_MARGIN = 300
NXDOMAIN = "DNS name does not exist. (9003)"  # Windows' DNS_ERROR_RCODE_NAME_ERROR, as Jabber for Windows logs it
DISCOVERY_FAILED = "Cannot find your services automatically"  # the sign-in screen's words
CURL_ERRORS = {"dns": "UNRESOLVED_HOST_ERROR", "connect": "COULDNT_CONNECT_ERROR", "tls": "SSL_CONNECT_ERROR",
               "timeout": "OPERATION_TIMEDOUT_ERROR"}


class JabberClient:
    """One Jabber installation: it remembers its tokens, refreshes them before they expire, and logs in again from
    scratch when a refresh is refused (``handleRefreshTokenFailure``)."""

    def __init__(self, lab: Lab, clock: LabClock, resolver: LabResolver, sink: LineSink,
                 userid: str | None = None, password: str | None = None, seed: int | None = None) -> None:
        self.lab = lab
        self.clock = clock
        self.resolver = resolver
        self.log = CsfLog(clock, sink, debug=lab.debug)
        self.userid = userid or lab.jabber.userid
        self.password = password if password is not None else lab.jabber.password
        self._random = random.Random(seed)
        self.access_token = ""
        self.refresh_token = ""
        self.expires_at = 0.0
        self._edge = ""
        self.gate: Callable[[Step], Awaitable[None]] | None = None  # awaited before each request (step mode)
        self.last_login: Outcome | None = None
        self._requests = 0

    def discover(self) -> str:
        """The edge origin from ``_collab-edge._tls.<domain>``, as Jabber finds it from outside.

        Raises :class:`NameError_` when the public DNS has no ``_collab-edge`` record (``FAILED_EDGE_SRV_LOOKUP``).
        """
        uds = f"_cisco-uds._tcp.{self.lab.domain}"
        try:
            found = self.resolver.srv(uds, view="public")[0]
            self.log.write("INFO", points.DNS_WINDOWS, f"*-----* DNS query {uds}. has succeeded: "
                                                       f"{found.target}:{found.port}")
        except NameError_:
            self.log.write("INFO", points.DNS_WINDOWS, f"*-----* DNS query {uds}. has failed: {NXDOMAIN}")
        name = f"_collab-edge._tls.{self.lab.domain}"
        try:
            best = self.resolver.srv(name, view="public")[0]
        except NameError_:
            self.log.write("INFO", points.DNS_WINDOWS, f"*-----* DNS query {name}. has failed: {NXDOMAIN}")
            self.log.write("ERROR", points.DISCOVERY, "ServiceDiscoveryHandlerResult: FAILED_EDGE_SRV_LOOKUP "
                                                      f"(no _cisco-uds or _collab-edge SRV record for {self.lab.domain})")
            raise
        self.log.write("INFO", points.DNS, f"*-----* DNS query {name}. has succeeded: {best.target}:{best.port}")
        self.log.write("INFO", points.DISCOVERY, f"ServiceDiscoveryHandlerResult: SUCCESS (edge "
                                                 f"{best.target}:{best.port}, mode Expressway for MRA)")
        return f"{self.lab.edge.listener.scheme}://{best.target}:{best.port}"

    def settings(self, edge_origin: str) -> Settings:
        client = self.lab.client(self.lab.jabber.client_id)
        return Settings(
            domain=self.lab.domain, edge_origin=edge_origin, userid=self.userid, password=self.password,
            client_id=self.lab.jabber.client_id, client_secret=client.client_secret if client else "",
            device_id=self.lab.jabber.device_id, version=self.lab.jabber.version,
            state=str(self._random.randrange(10**9, 2 * 10**9)),
        )

    async def login(self, on_step: Callable[[StepRecord], None] | None = None) -> tuple[Outcome, list[StepRecord]]:
        """The full login: discovery, then :func:`jabber.flow.login`."""
        try:
            edge = self.discover()
        except NameError_ as exc:
            return Outcome(False, "discovery", "discovery", f"{DISCOVERY_FAILED} ({exc})"), []
        self._edge = edge
        outcome, records = await self._drive(login(self.settings(edge), self.log), on_step)
        self._keep(outcome)
        if outcome.ok:
            self.last_login = outcome
        return outcome, records

    async def refresh(self) -> Outcome:
        """The refresh grant; on failure the tokens are dropped, as Jabber does before it logs in again."""
        outcome, _ = await self._drive(refresh(self.settings(self._edge_origin()), self.refresh_token, self.log))
        if outcome.ok:
            self._keep(outcome)
        else:
            self.access_token = self.refresh_token = ""
            self.expires_at = 0.0
        return outcome

    async def ensure_session(self) -> str:
        """Keep a usable access token: ``valid``, ``refreshed``, or ``relogin`` (refresh refused, full login done),
        or ``failed``."""
        if self.access_token and self.clock.timestamp() < self.expires_at - REFRESH_MARGIN:
            return "valid"
        if self.refresh_token and (await self.refresh()).ok:
            return "refreshed"
        outcome, _ = await self.login()
        return "relogin" if outcome.ok else "failed"

    async def get_edge_config(self) -> Outcome:
        outcome, _ = await self._drive(edge_config(self.settings(self._edge_origin()), self.access_token, self.log))
        return outcome

    def hop(self) -> HopClient:
        """Jabber's HTTP client: outside (the public DNS view), checking E's certificate for the services domain."""
        return HopClient(self.resolver, self.lab.jabber.address, name="jabber", verify_name=self.lab.domain,
                         view="public")

    def browser(self) -> HopClient:
        """The embedded browser's own HTTP stack, for the IdP's pages: outside too, and checking each site's
        certificate for the site's own name, as any browser does (the IdP is not a services-domain server)."""
        return HopClient(self.resolver, self.lab.jabber.address, name="jabber", view="public")

    def unreachable(self, exc: HopError) -> str:
        """Log a request that never got an HTTP answer as Jabber does (csf.httpclient; csf.cert first for a
        certificate it refused), and say why for the outcome."""
        self._requests += 1
        number = self._requests
        if exc.kind == "tls":
            self.log.write("ERROR", points.CERT, f"Certificate verification of {URL(exc.url).host} for identity "
                                                 f"'{self.lab.domain}' failed: {exc.detail}")
        self.log.write("INFO", points.HTTP_RESPONSE, f"*-----* HTTP response code 0 connect code 0 for request "
                                                     f"#{number} to {exc.url.split('?')[0]}")
        self.log.write("ERROR", points.HTTP_FAILURE, "There was an issue performing the call to curl_easy_perform "
                                                     f"for request #{number}: {CURL_ERRORS.get(exc.kind, 'ERROR')}")
        detail = f": {exc.detail}" if exc.kind in ("tls", "dns") else ""
        return f"cannot reach {exc.url}: {exc.kind}{detail}"

    def edge_origin(self) -> str:
        """The edge this client logged in through (discovered again if it never did)."""
        return self._edge or self.discover()

    _edge_origin = edge_origin

    def _keep(self, outcome: Outcome) -> None:
        if outcome.ok and outcome.access_token:
            self.access_token = outcome.access_token
            self.refresh_token = outcome.refresh_token or self.refresh_token
            self.expires_at = self.clock.timestamp() + outcome.expires_in

    async def _drive(self, flow: Flow,
                     on_step: Callable[[StepRecord], None] | None = None) -> tuple[Outcome, list[StepRecord]]:
        records: list[StepRecord] = []
        browser = self.browser()  # its session opens at its first request: only an SSO login pays for it
        async with self.hop() as hop:
            try:
                step = next(flow)
                while True:
                    if self.gate is not None:
                        await self.gate(step)
                    reply, record = await self._send(browser if step.name.startswith("idp_") else hop, step,
                                                     len(records) + 1)
                    records.append(record)
                    if on_step is not None:
                        on_step(record)
                    step = flow.send(reply)
            except StopIteration as done:
                return done.value, records
            except HopError as exc:
                flow.close()
                if step.name.startswith("idp_"):  # the embedded browser's own page: "This page can't be displayed"
                    detail = f": {exc.detail}" if exc.kind in ("tls", "dns") else ""
                    self.log.write("ERROR", points.BROWSER_ERROR, f"{step.name}: navigation to {exc.url.split('?')[0]} "
                                                                  f"failed: {exc.kind}{detail}")
                    return Outcome(False, "sso", step.name, f"cannot reach {exc.url.split('?')[0]}: "
                                                            f"{exc.kind}{detail}"), records
                path = "sso" if step.name == "samlauthz" else "oauth"
                return Outcome(False, path, step.name, self.unreachable(exc)), records
            finally:
                await browser.close()

    async def _send(self, hop: HopClient, step: Step, index: int) -> tuple[Reply, StepRecord]:
        data = urlencode(step.form) if step.form is not None else None
        headers = dict(step.headers)
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        answer = await hop.request(step.method, step.url, headers=headers, data=data)
        elapsed = (time.perf_counter() - started) * 1000
        return (Reply(answer.status, answer.reason, answer.headers, answer.body),
                StepRecord(index, step.name, step.method, step.url, answer.status, elapsed))
