"""``mrasim storm`` and ``mrasim up --processes`` at the console: where the lab runs, where the logs go, the report.

Three ways to meet a lab: the embedded lab (every node in this process, on free ports; clients share the process and
its memory figure), ``--processes`` (every node in its own process, started here and stopped at the end; the memory
figure is the nodes' alone), and ``--target`` (a lab already running from the same lab file, e.g. ``mrasim up
--processes --storm-users N``; its memory is read from the pids it wrote under ``--state``, its logs from ``--logs``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

from common.clock import LabClock
from common.config import Lab
from common.nodelog import CsfLog, LineSink

from lab.running import log_name, node_names, start_lab
from common.stormusers import STORM_PREFIX, with_storm_users
from load.stats import proc_memory, self_peak
from lab.forkserver import ForkServer
from lab.processcontrol import up_processes
from lab.processes import network, read_pids, start_processes
from lab.runfolder import LATEST, new_run_folder
from cli.output import command, emit
from load.storm import MemoryWatch, Storm, StormPlan, render_report, report_data
from load.txncheck import check_logs

STORM_STATE = Path(".mrasim") / "storm-state"


def add_up_options(up: argparse.ArgumentParser) -> None:
    up.add_argument("--processes", action="store_true",
                    help="run each node in its own process ('mrasim serve'), so a storm can use every core")
    up.add_argument("--netns", action="store_true",
                    help="run the nodes in processes inside network namespaces (inside, DMZ, internet) behind the MRA "
                         "firewall rules (root, iproute2 and nftables; otherwise on loopback)")
    up.add_argument("--storm-users", type=int, default=0, metavar="N",
                    help=f"add N generated users ({STORM_PREFIX}00001 …) for 'mrasim storm --target'")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    storm = command(
        sub, "storm", "an open-model login storm: arrival rate, ramp, duration or user count, seed",
        ["mrasim storm --users 200 --rate 50", "mrasim storm --processes --session http --rate 100 --duration 45",
         "mrasim up --processes --storm-users 1000   # then, in another shell: mrasim storm --target --users 1000"],
        description="Log in many Jabber users at a target arrival rate (Poisson, ramped), keep them connected, and "
                    "report per-step latency histograms, the achieved rate, errors by kind, peak memory and lost "
                    "transactions. Runs against the embedded lab unless --processes or --target.")
    storm.add_argument("--rate", type=float, default=50.0, help="target logins per second (%(default)s)")
    storm.add_argument("--ramp", type=float, default=5.0, help="seconds to ramp from 0 to the rate (%(default)s)")
    limit = storm.add_mutually_exclusive_group()
    limit.add_argument("--users", type=int, help="number of logins (one per generated user)")
    limit.add_argument("--duration", type=float, help="seconds of arrivals (default: 10 when --users is not given)")
    storm.add_argument("--seed", type=int, default=1, help="seed of the arrival times (%(default)s)")
    storm.add_argument("--keepalive", type=float, default=60.0,
                       help="seconds between a connected client's get_edge_config keep-alives; 0: none (%(default)s)")
    storm.add_argument("--hold", type=float, default=0.0,
                       help="seconds to keep every client connected after the last login (%(default)s)")
    storm.add_argument("--session", choices=("xmpp", "http"),
                       help="what a connected client keeps: its XMPP stream (default when the lab has IM&P) or its "
                            "HTTP connection with get_edge_config keep-alives")
    storm.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (%(default)s)")
    storm.add_argument("--debug", choices=("on", "off"), help="override [lab] debug (DEBUG HTTPMSG blocks)")
    where = storm.add_mutually_exclusive_group()
    where.add_argument("--processes", action="store_true", help="start each node in its own process for the storm")
    where.add_argument("--target", action="store_true",
                       help="storm a lab already running from the same lab file ('mrasim up --storm-users N')")
    storm.add_argument("--lab-users", type=int,
                       help="with --target: how many storm users the running lab has (default: as many as logins)")
    storm.add_argument("--logs", type=Path, default=Path("logs"),
                       help="where the run folders go (embedded, --processes: a new %(default)s/<time>/); with "
                            "--target the running lab's folder (default: %(default)s/latest)")
    storm.add_argument("--state", type=Path,
                       help=f"state directory (default: {STORM_STATE}; with --target: .mrasim/state, for its pids)")
    storm.add_argument("--quiet", action="store_true", help="no live progress line")


def main(args: argparse.Namespace, lab: Lab) -> int:
    session = args.session or ("xmpp" if lab.imps else "http")
    plan = StormPlan(rate=args.rate, ramp=args.ramp, duration=args.duration, users=args.users, seed=args.seed,
                     keepalive=args.keepalive, hold=args.hold, timeout=args.timeout, session=session)
    if plan.rate <= 0 or plan.count < 1:
        print("mrasim: storm needs a positive --rate and at least one login", file=sys.stderr)
        return 2
    debug = None if args.debug is None else args.debug == "on"
    return asyncio.run(storm(args, lab, plan, debug))


def up(args: argparse.Namespace, lab: Lab) -> int:
    """``mrasim up --processes``: the fork server is forked first, from this process that has imported every node,
    before the event loop or any thread exists (lab/forkserver.py)."""
    forks = None if args.netns else ForkServer.fork_here()
    return asyncio.run(up_processes(args.lab, new_run_folder(args.logs), args.state, args.storm_users,
                                    netns=args.netns, forks=forks))


def _progress(quiet: bool) -> Callable[[str], None] | None:
    if quiet:
        return None
    tty = sys.stdout.isatty()

    def show(line: str) -> None:
        print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)

    return show


async def storm(args: argparse.Namespace, lab: Lab, plan: StormPlan, debug: bool | None) -> int:
    progress = _progress(args.quiet or getattr(args, "json", False))
    logs: Path = args.logs / LATEST if args.target else new_run_folder(args.logs)
    if args.target:
        state = args.state or Path(".mrasim") / "state"
        pids = read_pids(state)
        watch = MemoryWatch(lambda: sum(proc_memory(pid)[0] for pid in pids.values()))
        sink = LineSink(logs / "jabber-storm.log")
        log = CsfLog(LabClock(), sink, debug=lab.debug)
        target = f"the running lab ({', '.join(pids) or 'pids unknown: memory not measured'})"
        runner = Storm(lab, network(lab, state), log, plan, watch, args.lab_users or plan.count, progress)
        try:
            await runner.run()
        finally:
            sink.close()
        lost = [report.render() for report in check_logs(logs)] if logs.exists() else []
    elif args.processes:
        state = args.state or STORM_STATE
        running = await start_processes(args.lab, logs, state, storm_users=plan.count, debug=debug, fresh_logs=True)
        pids = running.pids()
        watch = MemoryWatch(lambda: sum(proc_memory(pid)[0] for pid in pids.values()))
        sink = LineSink(logs / log_name("jabber", running.lab))
        log = CsfLog(LabClock(), sink, debug=running.lab.debug)
        target = f"the lab in {len(pids)} processes ({', '.join(pids)}), ready in {running.ready_ms:.0f} ms"
        runner = Storm(running.lab, network(running.lab, state), log, plan, watch, plan.count, progress)
        try:
            await runner.run()
        finally:
            await running.stop()
            sink.close()
        lost = [report.render() for report in check_logs(logs)]
    else:
        embedded = with_storm_users(lab.with_ephemeral_ports(), plan.count)
        if debug is not None:
            embedded = dataclasses.replace(embedded, debug=debug)
        logs.mkdir(parents=True, exist_ok=True)
        for name in ("jabber", *node_names(embedded)):
            (logs / log_name(name, embedded)).unlink(missing_ok=True)
        lab_running = await start_lab(embedded, logs)
        watch = MemoryWatch(lambda: proc_memory()[0])
        log = CsfLog(lab_running.clock, lab_running.sinks["jabber"], debug=embedded.debug)
        target = "the embedded lab (lab and clients in this process)"
        runner = Storm(embedded, lab_running.resolver, log, plan, watch, plan.count, progress)
        try:
            await runner.run()
        finally:
            await lab_running.stop()
        lost = [report.render() for report in check_logs(logs)]
    if progress is not None and sys.stdout.isatty():
        print()
    emit(args, report_data(runner, target, lost, self_peak()), render_report(runner, target, lost, self_peak()))
    failed = runner.stats.failed or any("LOST" in line for line in lost)
    return 1 if failed else 0

