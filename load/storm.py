"""``mrasim storm``: an open-model login storm, as after an outage when every Jabber client signs in again.

Open model: logins *arrive* at a target rate whether or not earlier ones have finished (a Poisson process, ramped
linearly from 0 to the rate over ``ramp`` seconds, drawn from ``seed``), so a lab that falls behind shows growing
latency and in-flight counts instead of quietly slowing the clients down as a closed loop would (Schroeder et al.,
"Open versus closed: a cautionary tale", NSDI 2006).

Every user logs in once with the full flow (:mod:`jabber.flow`) and then stays connected, so the lab's memory per
connected client can be measured: with ``session="xmpp"`` it signs in over XMPP through the edge and pings over the
stream every ``keepalive`` seconds (with jitter); with ``session="http"`` (a lab without IM&P, or nodes in processes,
where ``mrasim serve`` cannot run IM&P yet) its HTTP connection to Expressway-E stays open and it repeats
``get_edge_config`` instead.

The storm runs against the embedded lab (one process), the lab in separate processes (``--processes``), or any
running lab (``--target``); the report ends with per-step latency histograms, the achieved rate, errors by kind, peak
memory, and the lost-transaction check of :mod:`load.txncheck`.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from common.config import Lab
from common.nodelog import CsfLog
from common.resolver import LabResolver
from common.stormusers import storm_password, storm_userid
from common.tasks import cancel_and_wait
from load.client import Attempt, LoadUser
from load.stats import Summary, render_histograms

PROGRESS_EVERY = 1.0
MEMORY_EVERY = 0.5


@dataclass(frozen=True)
class StormPlan:
    """What to send: ``rate`` logins/s after a linear ``ramp``; stop after ``users`` logins or ``duration`` s, as the
    storm users numbered from ``first`` on."""

    rate: float = 50.0
    ramp: float = 5.0
    duration: float | None = None
    users: int | None = None
    seed: int = 1
    keepalive: float = 60.0
    hold: float = 0.0
    timeout: float = 30.0
    session: str = "http"
    first: int = 1  # the first storm user's number: load processes side by side each take their own users

    @property
    def count(self) -> int:
        """How many logins the storm will start at most (and how many storm users the lab needs)."""
        if self.users is not None:
            return self.users
        duration = self.duration if self.duration is not None else 10.0
        ramp = min(self.ramp, duration)
        return max(1, math.ceil(self.rate * (duration - ramp / 2) * 1.2) + 10)


def arrivals(plan: StormPlan) -> Iterator[float]:
    """Arrival times in seconds from the start: a Poisson process thinned along the ramp (Lewis and Shedler)."""
    rng = random.Random(plan.seed)
    at, started = 0.0, 0
    while started < plan.count:
        at += rng.expovariate(plan.rate)
        if plan.duration is not None and at >= plan.duration:
            return
        if plan.ramp > 0 and at < plan.ramp and rng.random() > at / plan.ramp:
            continue
        started += 1
        yield at


@dataclass
class StormStats:
    """Everything the clients saw; updated as answers arrive, read by the progress line and the report."""

    per_step: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    totals: list[float] = field(default_factory=list)
    keepalives: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    keepalive_errors: Counter[str] = field(default_factory=Counter)
    started: int = 0
    ok: int = 0
    failed: int = 0
    shed: int = 0
    xmpp_shed: int = 0  # XMPP sign-ins E refused with resource-constraint (the login itself counted as ok)
    requests: int = 0
    answered: int = 0
    first_arrival: float = 0.0
    completions: list[float] = field(default_factory=list)
    last_arrival: float = 0.0
    last_done: float = 0.0

    @property
    def in_flight(self) -> int:
        return self.started - self.ok - self.failed - self.shed

    def record_connect(self, attempt: Attempt) -> None:
        for step in attempt.steps:
            self.per_step[step.name].append(step.ms)
        if not attempt.outcome.ok:
            self.errors[attempt.error_kind] += 1
            if attempt.steps and attempt.steps[-1].status == 503:
                self.xmpp_shed += 1

    def record(self, attempt: Attempt) -> None:
        self.last_done = time.perf_counter()
        for step in attempt.steps:
            self.per_step[step.name].append(step.ms)
            self.requests += 1
            self.answered += step.status != 0
        if attempt.outcome.ok:
            self.ok += 1
            self.totals.append(attempt.total_ms)
            self.completions.append(self.last_done)
        elif attempt.steps and attempt.steps[-1].status == 503:
            # Refused by Expressway-E's overload bound (edge/overload.py): answered at once, come back later.
            self.shed += 1
            self.errors[attempt.error_kind] += 1
        else:
            self.failed += 1
            self.errors[attempt.error_kind] += 1

    def record_keepalive(self, attempt: Attempt) -> None:
        for step in attempt.steps:
            self.requests += 1
            self.answered += step.status != 0
            self.keepalives.append(step.ms)
        if not attempt.outcome.ok:
            self.keepalive_errors[attempt.error_kind] += 1

    @property
    def achieved_rate(self) -> float:
        """Completed logins per second, from the first arrival to the last completion."""
        span = self.last_done - self.first_arrival
        return self.ok / span if span > 0 else 0.0

    def rate_after(self, seconds: float) -> float:
        """Completed logins per second once ``seconds`` have passed since the first arrival (after the ramp)."""
        start = self.first_arrival + seconds
        done = [t for t in self.completions if t >= start]
        span = self.last_done - start
        return len(done) / span if span > 0 and done else 0.0

    @property
    def arrival_rate(self) -> float:
        span = self.last_arrival - self.first_arrival
        return (self.started - 1) / span if span > 0 and self.started > 1 else 0.0


@dataclass
class MemoryWatch:
    """Samples the lab's resident memory (the sum over its processes) and keeps the peak."""

    sample: Callable[[], int]
    peak: int = 0
    baseline: int = 0

    def take(self) -> int:
        value = self.sample()
        self.peak = max(self.peak, value)
        return value


class Storm:
    """One storm against one lab: start users at the planned times, keep them connected, collect the figures."""

    def __init__(self, lab: Lab, resolver: LabResolver, log: CsfLog, plan: StormPlan, memory: MemoryWatch,
                 lab_users: int, progress: Callable[[str], None] | None = None) -> None:
        self.lab, self.resolver, self.log, self.plan, self.memory = lab, resolver, log, plan, memory
        self.lab_users = max(1, lab_users)
        self.progress = progress
        self.stats = StormStats()
        self.users: list[LoadUser] = []
        self.connected = 0
        self.connected_memory = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._keepers: set[asyncio.Task[None]] = set()
        self._rng = random.Random(plan.seed + 1)

    async def run(self) -> StormStats:
        self.memory.baseline = self.memory.take()
        start = time.perf_counter()
        reporter = asyncio.create_task(self._report(start), name="storm-progress")
        try:
            for number, at in enumerate(arrivals(self.plan), start=1):
                delay = start + at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.stats.last_arrival = time.perf_counter()
                if number == 1:
                    self.stats.first_arrival = self.stats.last_arrival
                self.stats.started += 1
                self._spawn(self._user(number), self._tasks)
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            self.connected_memory = self.memory.take()
            if self.plan.hold > 0:
                await asyncio.sleep(self.plan.hold)
                self.connected_memory = max(self.connected_memory, self.memory.take())
        finally:
            await cancel_and_wait(reporter)
            await self.close()
        self.memory.take()
        return self.stats

    async def close(self) -> None:
        await cancel_and_wait([*self._keepers, *self._tasks])
        await asyncio.gather(*(user.close() for user in self.users), return_exceptions=True)

    def progress_line(self, start: float) -> str:
        s = self.stats
        elapsed = time.perf_counter() - start
        recent = Summary.of(s.totals[-500:])
        return (f"t={elapsed:6.1f}s started {s.started:>6} ok {s.ok:>6} shed {s.shed + s.xmpp_shed:>4} "
                f"failed {s.failed:>4} "
                f"in-flight {s.in_flight:>4} connected {self.connected:>6} "
                f"login p50 {recent.median:6.1f} ms p99 {recent.p99:7.1f} ms  lab {self.memory.take() / 2**20:5.0f} MiB")

    async def _report(self, start: float) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            if self.progress is not None:
                self.progress(self.progress_line(start))

    def _spawn(self, coro: object, into: set[asyncio.Task[None]]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        into.add(task)
        task.add_done_callback(into.discard)

    async def _user(self, number: int) -> None:
        index = (self.plan.first - 1 + number - 1) % self.lab_users + 1
        user = LoadUser(self.lab, self.resolver, self.log, storm_userid(index), storm_password(index),
                        seed=self.plan.seed * 1_000_003 + number, timeout=self.plan.timeout,
                        keepalive=max(15.0, self.plan.keepalive * 2), session=self.plan.session)
        self.users.append(user)
        attempt = await user.login()
        self.stats.record(attempt)
        if attempt.outcome.ok and self.plan.session == "xmpp":
            connected = await user.connect(attempt.outcome)
            self.stats.record_connect(connected)
            if not connected.outcome.ok:
                await user.close()
                return
        if attempt.outcome.ok:
            self.connected += 1
            if self.plan.keepalive > 0:
                self._spawn(self._keep(user), self._keepers)
        else:
            await user.close()

    async def _keep(self, user: LoadUser) -> None:
        await asyncio.sleep(self._rng.uniform(0, self.plan.keepalive))
        while True:
            self.stats.record_keepalive(await user.keepalive())
            await asyncio.sleep(self.plan.keepalive)


def report_data(storm: Storm, target: str, lost: list[str], client_peak: int) -> dict[str, object]:
    """The report's figures for ``mrasim storm --json``: the same numbers as :func:`render_report`, as data."""
    plan, s, mem = storm.plan, storm.stats, storm.memory
    total = Summary.of(s.totals)

    def summary(values: list[float]) -> dict[str, float]:
        found = Summary.of(values)
        return {"n": found.count, "p50": found.median, "p90": found.p90, "p99": found.p99, "max": found.maximum}

    return {"target": target, "plan": {"rate": plan.rate, "ramp": plan.ramp, "users": plan.users,
                                       "duration": plan.duration, "seed": plan.seed, "session": plan.session},
            "logins": {"started": s.started, "ok": s.ok, "shed": s.shed, "failed": s.failed},
            "xmpp_sign_ins_shed": s.xmpp_shed,
            "achieved_rate": s.achieved_rate, "errors": dict(s.errors), "requests": s.requests,
            "answered": s.answered, "full_login_ms": summary(s.totals) if total.count else None,
            "per_step_ms": {step: summary(values) for step, values in s.per_step.items() if values},
            "memory": {"lab_peak_bytes": mem.peak, "client_peak_bytes": client_peak}, "transactions": lost}


def render_report(storm: Storm, target: str, lost: list[str], client_peak: int) -> str:
    """The storm's report: rates, errors, per-step histograms, memory, transactions."""
    plan, s, mem = storm.plan, storm.stats, storm.memory
    limit = f"{plan.users} users" if plan.users is not None else f"{plan.duration:.0f} s"
    errors = ", ".join(f"{kind}: {n}" for kind, n in s.errors.most_common()) or "none"
    keep_errors = ", ".join(f"{kind}: {n}" for kind, n in s.keepalive_errors.most_common()) or "none"
    per_client = (storm.connected_memory - mem.baseline) / storm.connected if storm.connected else 0
    total = Summary.of(s.totals)
    xmpp_shed = f" ({s.xmpp_shed} XMPP sign-ins shed: resource-constraint)" if plan.session == "xmpp" else ""
    lines = [
        f"storm against {target}: target {plan.rate:g} logins/s, ramp {plan.ramp:g} s, {limit}, seed {plan.seed}",
        f"session kept: {plan.session}; logins: {s.started} started, {s.ok} ok, {s.shed} shed (503 Retry-After), "
        f"{s.failed} failed{xmpp_shed}; arrivals {s.arrival_rate:.1f}/s, "
        f"achieved {s.achieved_rate:.1f} logins/s ({s.rate_after(plan.ramp):.1f}/s after the ramp)",
        f"errors by kind: {errors}",
        f"requests: {s.requests} sent, {s.answered} answered by the lab",
        "",
        "per-step latency (client side):",
        render_histograms(s.per_step),
        f"full login: n={total.count} p50={total.median:.1f} p90={total.p90:.1f} p99={total.p99:.1f} "
        f"max={total.maximum:.1f} ms",
    ]
    if s.keepalives or s.keepalive_errors:
        ka = Summary.of(s.keepalives)
        what = "XMPP ping" if plan.session == "xmpp" else "get_edge_config"
        lines.append(f"keep-alives ({what} every {plan.keepalive:g} s): n={ka.count} p50={ka.median:.1f} "
                     f"p99={ka.p99:.1f} ms; errors: {keep_errors}")
    lines += [
        "",
        f"memory: lab {mem.baseline / 2**20:.0f} MiB at start, {storm.connected_memory / 2**20:.0f} MiB with "
        f"{storm.connected} clients connected, peak {mem.peak / 2**20:.0f} MiB; "
        f"{per_client / 1024:.1f} KiB per connected client",
        f"storm client process peak {client_peak / 2**20:.0f} MiB",
        *lost,
    ]
    return "\n".join(lines)
