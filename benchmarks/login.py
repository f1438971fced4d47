"""Login benchmark: N full MRA logins through the lab, per step and in total, against a pass-through baseline.

    .venv/bin/python -m benchmarks.login -n 200 [--debug on|off] [--profile prof.txt|prof.html]

A full login is Jabber's whole sequence — ``get_edge_sso``, ``authorize``, ``localauthentication`` (with C's
``clusterUser`` and ``authorize_proxy`` behind it), ``OAuthcb``, ``access_token`` (with C's token leg), then
``get_edge_config`` (OAuthvalidator) and the two proxied UDS calls — each over a fresh client connection per login,
as a newly started Jabber opens one. The baseline (:mod:`benchmarks.passthrough`) replays the same exchanges over
the same hops with no logic and no logging, in the same process and the same run: blocks of lab logins and baseline
logins alternate, so a neighbour's load on the machine hits both alike. Figures are client-side wall times; the
ratio is ours / baseline. ``--profile`` profiles the lab blocks only, with pyinstrument (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import platform
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from yarl import URL

from benchmarks.passthrough import Canned, Recorder, StepScript, start_baseline
from common.clock import LabClock
from common.config import Lab, load_lab
from common.hop import HopClient
from common.nodelog import CsfLog, LineSink
from common.resolver import LabResolver
from jabber.flow import Reply, Settings, login
from lab.running import RunningLab, start_lab
from load.client import Attempt, drive
from load.stats import percentile

BLOCK = 10


def settings_for(running: RunningLab) -> Settings:
    return running.jabber(seed=7).settings(f"{running.lab.edge.listener.scheme}://{running.lab.srv[0].target}:"
                                           f"{running.lab.srv[0].port}")


async def record(running: RunningLab, settings: Settings) -> list[StepScript]:
    """One real login, step by step, with E's and C's outgoing calls recorded (see :mod:`benchmarks.passthrough`)."""
    recorder = Recorder()
    recorder.wrap_edge(running.edge.state.hop)
    recorder.wrap_core(running.core.hop)
    script: list[StepScript] = []
    flow = login(settings, CsfLog(running.clock, LineSink(), debug=False))
    async with HopClient(running.resolver, running.lab.jabber.address) as hop:
        step = next(flow)
        try:
            while True:
                recorder.current = StepScript(step.name, step.method, URL(step.url).path)
                data = None if step.form is None else "&".join(f"{k}={v}" for k, v in step.form)
                headers = dict(step.headers)
                if data is not None:
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
                answer = await hop.request(step.method, step.url, headers=headers, data=data)
                recorder.current.reply = Canned.of(answer)
                script.append(recorder.current)
                step = flow.send(Reply(answer.status, answer.reason, answer.headers, answer.body))
        except StopIteration as done:
            if not done.value.ok:
                raise SystemExit(f"the recorded login failed: {done.value.failed_step}: {done.value.reason}")
    del running.edge.state.hop.request, running.core.hop.request  # the wrappers were instance attributes
    recorder.current = None
    return script


async def one_login(resolver: LabResolver, address: str, settings: Settings, log: CsfLog) -> Attempt:
    async with HopClient(resolver, address) as hop:
        return await drive(login(settings, log), hop)


@dataclasses.dataclass
class Series:
    per_step: dict[str, list[float]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    totals: list[float] = dataclasses.field(default_factory=list)

    def add(self, attempt: Attempt) -> None:
        if not attempt.outcome.ok:
            raise SystemExit(f"a benchmark login failed: {attempt.error_kind}: {attempt.outcome.reason}")
        for step in attempt.steps:
            self.per_step[step.name].append(step.ms)
        self.totals.append(attempt.total_ms)


async def run(lab: Lab, count: int, profile: Path | None) -> tuple[Series, Series, str]:
    logs = Path(tempfile.mkdtemp(prefix="mrasim-bench-"))
    running = await start_lab(lab, logs)
    settings = settings_for(running)
    script = await record(running, settings)
    baseline = await start_baseline(script, running.resolver.tls)
    base_resolver = LabResolver(lab.srv)
    base_resolver.tls = running.resolver.tls
    base_resolver.bind(lab.edge.listener, baseline.edge_port)
    lab_log = CsfLog(running.clock, running.sinks["jabber"], debug=lab.debug)
    base_log = CsfLog(LabClock(), LineSink(), debug=lab.debug)
    ours, base = Series(), Series()
    profiler = _profiler(profile)
    try:
        for _ in range(3):  # warm both paths: pools, caches, first-call imports
            await one_login(running.resolver, lab.jabber.address, settings, lab_log)
            await one_login(base_resolver, lab.jabber.address, settings, base_log)
        done = 0
        while done < count:
            size = min(BLOCK, count - done)
            if profiler is not None:
                profiler.start()
            for _ in range(size):
                ours.add(await one_login(running.resolver, lab.jabber.address, settings, lab_log))
            if profiler is not None:
                profiler.stop()
            for _ in range(size):
                base.add(await one_login(base_resolver, lab.jabber.address, settings, base_log))
            done += size
    finally:
        await baseline.stop()
        await running.stop()
    report = ""
    if profiler is not None and profile is not None:
        report = _write_profile(profiler, profile)
    return ours, base, report


def _profiler(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("--profile needs pyinstrument: pip install -e '.[bench]'") from None
    return Profiler(interval=0.0005, async_mode="disabled")


def _write_profile(profiler: Any, path: Path) -> str:
    session = profiler.last_session
    if path.suffix == ".html":
        path.write_text(profiler.output_html())
    else:
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    return f"profile of the lab logins written to {path} ({session.duration:.1f} s sampled)"


def render(lab: Lab, count: int, ours: Series, base: Series) -> str:
    transport = "TLS on every hop" if lab.tls.enabled else "plain HTTP"
    head = (f"login benchmark ({transport}, baseline over the same transport): {count} logins, debug "
            f"{'on' if lab.debug else 'off'}, Python "
            f"{platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    lines = [head, "", f"{'step':<22}{'ours p50':>10}{'p99':>9}{'base p50':>11}{'p99':>9}{'ratio p50':>11}{'p99':>7}"]

    def row(name: str, a: list[float], b: list[float]) -> str:
        a50, a99, b50, b99 = percentile(a, 50), percentile(a, 99), percentile(b, 50), percentile(b, 99)
        return (f"{name:<22}{a50:>10.2f}{a99:>9.2f}{b50:>11.2f}{b99:>9.2f}{a50 / b50 if b50 else 0:>10.2f}x"
                f"{a99 / b99 if b99 else 0:>6.2f}x")

    for name in ours.per_step:
        lines.append(row(name, ours.per_step[name], base.per_step[name]))
    lines.append(row("full login", ours.totals, base.totals))
    ratio = percentile(ours.totals, 50) / max(percentile(base.totals, 50), 1e-9)
    verdict = "within" if ratio <= 2 else "OVER"
    lines += ["", f"full login ours/baseline (median) = {ratio:.2f}x: {verdict} the 2x target; times in ms, "
                  "client side"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.login", description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--logins", type=int, default=200, help="logins on each side (%(default)s)")
    parser.add_argument("--lab", type=Path, help="lab description (default: the default lab)")
    parser.add_argument("--debug", choices=("on", "off"), help="override [lab] debug")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of the lab logins (.txt or .html)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio",
                        help="event loop for lab and client alike (%(default)s; uvloop: pip install uvloop)")
    parser.add_argument("--transport", choices=("both", "tls", "plain"), default="both",
                        help="TLS lab against a TLS baseline, plain against plain, or both in turn (%(default)s)")
    args = parser.parse_args(argv)
    lab = (load_lab(args.lab) if args.lab else load_lab()).with_ephemeral_ports()
    if args.debug is not None:
        lab = dataclasses.replace(lab, debug=args.debug == "on")
    started = time.perf_counter()
    if args.loop == "uvloop":
        import uvloop
        uvloop.install()
    for tls in {"both": (True, False), "tls": (True,), "plain": (False,)}[args.transport]:
        chosen = lab.with_tls(tls)
        ours, base, report = asyncio.run(run(chosen, args.logins, args.profile))
        print(render(chosen, args.logins, ours, base))
        if report:
            print(report)
        print()
    print(f"(benchmark took {time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
