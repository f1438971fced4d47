"""The simulated Jabber client: discovers Expressway-E and drives :func:`jabber.flow.login` over real sockets.

Discovery is Jabber's: an SRV lookup of ``_collab-edge._tls.<domain>`` answered by the lab's DNS table, then the edge
at the SRV target and port. Every step is a real HTTP request from the client's own address to the edge.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

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

    def discover(self) -> str:
        """The edge origin from ``_collab-edge._tls.<domain>``, as Jabber finds it from outside."""
        name = f"_collab-edge._tls.{self.lab.domain}"
        records = self.resolver.srv(name)
        best = records[0]
        self.log.write("INFO", points.DNS, f"*-----* DNS query {name}. has succeeded: {best.target}:{best.port}")
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
            return Outcome(False, "discovery", "discovery", str(exc)), []
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

    def _edge_origin(self) -> str:
        return self._edge or self.discover()

    def _keep(self, outcome: Outcome) -> None:
        if outcome.ok and outcome.access_token:
            self.access_token = outcome.access_token
            self.refresh_token = outcome.refresh_token or self.refresh_token
            self.expires_at = self.clock.timestamp() + outcome.expires_in

    async def _drive(self, flow: Flow,
                     on_step: Callable[[StepRecord], None] | None = None) -> tuple[Outcome, list[StepRecord]]:
        records: list[StepRecord] = []
        async with HopClient(self.resolver, self.lab.jabber.address, name="jabber") as hop:
            try:
                step = next(flow)
                while True:
                    if self.gate is not None:
                        await self.gate(step)
                    reply, record = await self._send(hop, step, len(records) + 1)
                    records.append(record)
                    if on_step is not None:
                        on_step(record)
                    step = flow.send(reply)
            except StopIteration as done:
                return done.value, records
            except HopError as exc:
                flow.close()
                if step.name.startswith("idp_"):  # the embedded browser's own page: "This page can't be displayed"
                    self.log.write("ERROR", points.BROWSER_ERROR, f"{step.name}: navigation to {exc.url.split('?')[0]} "
                                                                  f"failed: {exc.kind}")
                path = "sso" if step.name.startswith("idp_") or step.name == "samlauthz" else "oauth"
                return Outcome(False, path, step.name, f"cannot reach {exc.url.split('?')[0]}: {exc.kind}"), records

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
