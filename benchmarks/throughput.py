"""Sustained login rate: the highest rate the lab in processes carries with zero failures and p99 below 1 s.

    .venv/bin/python -m benchmarks.throughput [--rates 50,100,150,200,250] [--seconds 10] [--debug off] [--loop uvloop]

One ``mrasim up --processes`` lab (every node its own process) serves a series of open-model storms
(:mod:`load.storm`, Poisson arrivals after a 2 s ramp), one per rate, lowest first; the load client runs here, in
this process. A rate *passes* when every login started in it completed, none was shed (503) or failed, no
transaction was lost in Expressway-E's log, and the login p99 stayed under 1 s. The report gives, for each rate,
achieved logins/s, p50/p99, shed, failed and lost, the CPU each process spent per login (read from ``/proc``, so
hardly moved by other work on the machine), and names the highest passing rate. It stops after the first two
failing rates: beyond them the lab is overloaded and each further step only costs time. Then (unless
``--no-overload``) it storms at twice the highest passing rate and, at once after, at half of it: overload must be
shed (``503``), nothing lost, and the lower rate must pass as soon as the backlog has drained.

The load client runs on the event loop ``mrasim storm`` uses (uvloop; ``--loop asyncio`` for the standard one) and
keeps no Jabber log (:class:`load.client.UnwrittenLog`). The figure is this machine's: the client shares the two cores
with the lab, so read it beside the CPU cost per login in docs/performance.md, never as an absolute promise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cli.servenode import use_fast_loop
from common.config import DEFAULT_LAB
from lab.processes import network, start_processes, with_free_ports
from load.client import UnwrittenLog
from load.stats import Summary
from load.storm import MemoryWatch, Storm, StormPlan
from load.txncheck import check_logs

P99_LIMIT_MS = 1000.0


def cpu_seconds(pid: int | str = "self") -> float:
    """User plus system CPU time a process has used, from ``/proc/<pid>/stat`` (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(pids: dict[str, int]) -> dict[str, float]:
    return {**{name: cpu_seconds(pid) for name, pid in pids.items()}, "load client": cpu_seconds()}


@dataclass(frozen=True)
class Step:
    rate: float
    started: int
    ok: int
    shed: int
    failed: int
    lost: int
    achieved: float
    p50: float
    p99: float
    cpu_ms: dict[str, float]  # CPU per completed login, by process: unlike wall times, hardly moved by neighbours

    @property
    def passed(self) -> bool:
        return self.ok == self.started and not (self.shed or self.failed or self.lost) and self.p99 < P99_LIMIT_MS


async def measure(rates: list[float], seconds: float, debug: bool, tls: bool = True,
                  overload: bool = True) -> list[Step]:
    work = Path(tempfile.mkdtemp(prefix="mrasim-throughput-"))
    lab_file = work / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()) + ("" if tls else "\n[tls]\nenabled = false\n"))
    users = int(max(rates) * seconds * 1.3 * (len(rates) + 3)) + 50  # every step logs in users of its own
    steps: list[Step] = []
    running = await start_processes(lab_file, work / "logs", work / "state", storm_users=users, debug=debug,
                                    fresh_logs=True)
    try:
        log = UnwrittenLog()  # no Jabber log is kept: render none
        users_seen = 0

        async def step_at(rate: float, duration: float) -> tuple[Step, float]:
            nonlocal users_seen
            plan = StormPlan(rate=rate, ramp=2.0, duration=duration, seed=int(rate) + len(steps), keepalive=0.0,
                             timeout=10.0, session="http", first=users_seen + 1)
            users_seen += plan.count
            storm = Storm(running.lab, network(running.lab, work / "state"), log, plan, MemoryWatch(lambda: 0), users)
            before = cpu_by_process(running.pids())
            stats = await storm.run()
            drained = time.perf_counter() - stats.last_arrival  # from the last arrival to the last answer
            after = cpu_by_process(running.pids())
            cpu = {name: (after[name] - before[name]) * 1000 / max(1, stats.ok) for name in after}
            await asyncio.sleep(0.5)  # let the last answers reach the logs
            lost = sum(report.lost for report in check_logs(work / "logs"))
            total = Summary.of(stats.totals)
            return (Step(rate, stats.started, stats.ok, stats.shed, stats.failed, lost,
                         stats.rate_after(plan.ramp), total.median, total.p99, cpu), drained)

        for rate in rates:
            step, _ = await step_at(rate, seconds)
            steps.append(step)
            print(render_step(step), flush=True)
            if sum(not s.passed for s in steps) >= 2:
                break
        passed = [s.rate for s in steps if s.passed]
        if overload and passed:
            # Twice the highest sustained rate, then at once half of it: the lab must shed (503), lose nothing, and
            # carry the lower rate cleanly as soon as the overload's backlog has drained.
            high, _ = await step_at(2 * max(passed), seconds)
            print("overload " + render_step(high), flush=True)
            low, drained = await step_at(max(passed) / 2, seconds)
            print(f"after it, at once: {render_step(low)}", flush=True)
            print(f"overload at {2 * max(passed):.0f}/s: {high.shed} shed, {high.failed} failed, "
                  f"{high.lost} lost; the following {max(passed) / 2:.0f}/s {'passed' if low.passed else 'FAILED'} "
                  f"(its last answer {drained:.1f} s after its last arrival)", flush=True)
    finally:
        await running.stop()
        shutil.rmtree(work, ignore_errors=True)
    return steps


def render_step(step: Step) -> str:
    verdict = "pass" if step.passed else "FAIL"
    return (f"{step.rate:7.0f}/s  achieved {step.achieved:6.1f}/s  p50 {step.p50:7.1f} ms  p99 {step.p99:7.1f} ms  "
            f"ok {step.ok:>5}/{step.started:<5} shed {step.shed:>4} failed {step.failed:>4} lost {step.lost:>3}  "
            f"{verdict}\n         CPU per login {sum(step.cpu_ms.values()):.1f} ms: "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in step.cpu_ms.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.split("\n\n")[0],
                                     epilog="example: python -m benchmarks.throughput --rates 50,100,150 --seconds 8")
    parser.add_argument("--rates", default="50,100,150,200,250", help="logins/s to try, lowest first (%(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of arrivals per rate (%(default)s)")
    parser.add_argument("--debug", choices=("on", "off"), default="off", help="[lab] debug (%(default)s)")
    parser.add_argument("--transport", choices=("tls", "plain"), default="tls",
                        help="TLS on every hop (the lab's default) or the plain-HTTP lab kept for comparison")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the load client's event loop: uvloop as in 'mrasim storm' (%(default)s), or asyncio's own")
    parser.add_argument("--no-overload", action="store_true",
                        help="skip the overload step (twice the highest passing rate, then half of it at once)")
    args = parser.parse_args(argv)
    rates = sorted(float(r) for r in args.rates.split(","))
    if args.loop == "uvloop":
        use_fast_loop()
    print(f"sustained logins on {os.cpu_count()} cores, lab in processes, {args.transport}, debug {args.debug}, "
          f"load client on {type(asyncio.get_event_loop_policy()).__module__.split('.')[0]}; "
          f"pass = all ok, p99 < {P99_LIMIT_MS:.0f} ms, nothing shed, failed or lost; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    steps = asyncio.run(measure(rates, args.seconds, args.debug == "on", args.transport == "tls",
                                not args.no_overload))
    passed = [s.rate for s in steps if s.passed]
    print(f"highest sustained rate: {max(passed):.0f} logins/s" if passed else "no rate passed")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
