"""The simulated Jabber client: discovers Expressway-E and drives :func:`jabber.flow.login` over real sockets.

Discovery is Jabber's: an SRV lookup of ``_collab-edge._tls.<domain>`` answered by the lab's DNS table, then the edge
at the SRV target and port. Every step is a real HTTP request from the client's own address to the edge.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from common.clock import LabClock
from common.config import Lab
from common.hop import HopClient, HopError
from common.nodelog import CsfLog, LineSink
from common.resolver import LabResolver, NameError_
from jabber import points
from jabber.flow import Outcome, Reply, Settings, Step, login


@dataclass(frozen=True)
class StepRecord:
    index: int
    name: str
    method: str
    url: str
    status: int
    elapsed_ms: float


class JabberClient:
    def __init__(self, lab: Lab, clock: LabClock, resolver: LabResolver, sink: LineSink,
                 userid: str | None = None, password: str | None = None, seed: int | None = None) -> None:
        self.lab = lab
        self.resolver = resolver
        self.log = CsfLog(clock, sink, debug=lab.debug)
        self.userid = userid or lab.jabber.userid
        self.password = password if password is not None else lab.jabber.password
        self._random = random.Random(seed)

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
        records: list[StepRecord] = []
        try:
            edge = self.discover()
        except NameError_ as exc:
            return Outcome(False, "discovery", "discovery", str(exc)), records
        flow = login(self.settings(edge), self.log)
        async with HopClient(self.resolver, self.lab.jabber.address) as hop:
            try:
                step = next(flow)
                while True:
                    reply, record = await self._send(hop, step, len(records) + 1)
                    records.append(record)
                    if on_step is not None:
                        on_step(record)
                    step = flow.send(reply)
            except StopIteration as done:
                return done.value, records
            except HopError as exc:
                flow.close()
                return Outcome(False, "oauth", step.name, f"cannot reach {exc.url}: {exc.kind}"), records

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
