"""Connected clients: what the lab holds for each Jabber that stays connected, HTTP and XMPP, up to 20,000.

    .venv/bin/python -m benchmarks.connected [--session xmpp,http] [--clients 1000,5000,10000,20000] [--rate 40]

One ``mrasim up --processes`` lab (every node its own process, ``--debug off``) per session kind. Clients are added
in steps; at each step every added client has logged in with the full flow (:mod:`jabber.flow`) and stays
connected: ``xmpp`` signs in over XMPP through the edge and keeps only that stream, ``http`` keeps its HTTP
connection to Expressway-E and re-reads ``get_edge_config`` every ``--keepalive`` seconds (Expressway-E closes an
HTTP connection idle for 75 s). At each step the report gives, over all lab processes, the resident memory and the
open descriptors, and per node; the figures per client are differences from the idle lab measured in the same run.

Descriptors are planned, because this machine's hard ``RLIMIT_NOFILE`` is 20,000 per process: this process raises
its soft limit to the hard one, and the node processes inherit it; the clients run in load processes of at most
``--per-process`` clients each (one descriptor per client in the load process). A lab that spends more than one
descriptor per client in one node (XMPP with one XCP link per session holds two in Expressway-E) runs out of them
before 20,000 clients; the step where that happens fails to connect its clients and the report says so.

Absolute figures depend on what else runs on the machine; the per-client figures do not, much.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common.clock import LabClock
from common.config import DEFAULT_LAB, load_lab
from common.nodelog import CsfLog, LineSink
from common.tasks import cancel_and_wait
from lab.processes import network, set_lab_key, start_processes, with_free_ports
from load.stats import proc_memory
from load.storm import MemoryWatch, Storm, StormPlan

HARD_LIMIT_NOTE = "hard RLIMIT_NOFILE"


def raise_descriptor_limit() -> int:
    """Raise this process's soft descriptor limit to the hard one (children inherit it); returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def descriptors(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


@dataclass(frozen=True)
class Sample:
    clients: int
    rss: dict[str, int]
    fds: dict[str, int]

    @property
    def total_rss(self) -> int:
        return sum(self.rss.values())

    @property
    def total_fds(self) -> int:
        return sum(self.fds.values())


def sample(pids: dict[str, int], clients: int) -> Sample:
    return Sample(clients, {n: proc_memory(p)[0] for n, p in pids.items()}, {n: descriptors(p) for n, p in pids.items()})


def render(session: str, idle: Sample, step: Sample, wanted: int) -> str:
    added = step.clients or 1
    per_node = "  ".join(f"{name.split(':')[0]} {(step.rss[name] - idle.rss[name]) / added / 1024:.1f} KiB "
                         f"{(step.fds[name] - idle.fds[name]) / added:.2f} fd" for name in step.rss)
    shortfall = "" if step.clients >= wanted else f"  (only {step.clients} of {wanted} connected)"
    return (f"{session:4} {step.clients:>6} clients: lab {step.total_rss / 2**20:6.0f} MiB, {step.total_fds:>6} fds; "
            f"per client {(step.total_rss - idle.total_rss) / added / 1024:6.1f} KiB, "
            f"{(step.total_fds - idle.total_fds) / added:5.2f} fds{shortfall}\n       per node: {per_node}")


async def worker_main(args: argparse.Namespace) -> int:
    """One load process: ``--count`` storm users from ``--first`` log in, connect and stay connected until killed."""
    lab = load_lab(args.lab_file)
    log = CsfLog(LabClock(), LineSink(None), debug=False)
    plan = StormPlan(rate=args.rate, ramp=1.0, users=args.count, seed=args.first, keepalive=args.keepalive,
                     hold=10**9, timeout=60.0, session=args.session, first=args.first)

    def progress(line: str) -> None:
        stats = storm.stats
        unconnected = sum(n for kind, n in stats.errors.items() if kind.startswith("xmpp"))  # signed in, no stream
        kinds = ",".join(f"{kind.replace(' ', '_')}={n}" for kind, n in stats.errors.most_common(4)) or "none"
        print(f"connected {storm.connected} ok {stats.ok} failed {stats.failed + stats.shed + unconnected} "
              f"kinds {kinds}", flush=True)

    storm = Storm(lab, network(lab, args.state), log, plan, MemoryWatch(lambda: 0), args.users, progress)
    await storm.run()
    return 0


async def spawn_worker(lab_file: Path, state: Path, session: str, first: int, count: int, users: int,
                       args: argparse.Namespace) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.connected", "--worker", "--lab-file", str(lab_file), "--state", str(state),
        "--session", session, "--first", str(first), "--count", str(count), "--users", str(users),
        "--rate", str(args.rate), "--keepalive", str(args.keepalive), stdout=asyncio.subprocess.PIPE)


class LoadProcess:
    """A load process and the latest of its progress lines (``connected N ok N failed N``), read as they come."""

    def __init__(self, process: asyncio.subprocess.Process, count: int) -> None:
        self.process, self.count = process, count
        self.connected = self.finished = 0
        self.kinds = "none"  # the failures so far, by kind
        self.changed = asyncio.get_running_loop().time()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            fields = line.split()
            connected, finished = int(fields[1]), int(fields[1]) + int(fields[5])
            self.kinds = fields[7].decode() if len(fields) > 7 else "none"
            if (connected, finished) != (self.connected, self.finished):
                self.changed = asyncio.get_running_loop().time()
            self.connected, self.finished = connected, finished

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await cancel_and_wait(self.reader)


async def wait_connected(added: list[LoadProcess], stall: float) -> None:
    """Until every client of the load processes is connected or has failed, or none progressed for ``stall`` s."""
    loop = asyncio.get_running_loop()
    while any(p.finished < p.count for p in added):
        if loop.time() - max(p.changed for p in added) > stall:
            return
        await asyncio.sleep(0.5)


async def measure(session: str, steps: list[int], args: argparse.Namespace) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="mrasim-connected-"))
    lab_file = work / "lab.toml"
    lab_file.write_text(set_lab_key(with_free_ports(DEFAULT_LAB.read_text()), "debug", "false"))
    users = max(steps)
    running = await start_processes(lab_file, work / "logs", work / "state", storm_users=users, fresh_logs=True)
    workers: list[LoadProcess] = []
    lines = []
    try:
        pids = running.pids()
        await asyncio.sleep(1.0)
        idle = sample(pids, 0)
        lines.append(f"{session:4} idle lab: {idle.total_rss / 2**20:.0f} MiB, {idle.total_fds} fds "
                     f"({', '.join(f'{n} {idle.rss[n] / 2**20:.0f} MiB' for n in pids)})")
        print(lines[-1], flush=True)
        first = 1
        for target in steps:
            added: list[LoadProcess] = []
            while first <= target:
                count = min(args.per_process, target - first + 1)
                added.append(LoadProcess(await spawn_worker(running.lab_file, work / "state", session, first, count,
                                                            users, args), count))
                first += count
            workers += added
            await wait_connected(added, args.stall)
            await asyncio.sleep(2.0)  # let the last sign-ins settle in the nodes
            connected = sum(p.connected for p in workers)
            lines.append(render(session, idle, sample(pids, connected), target))
            if connected < target:
                lines[-1] += "\n       failures by kind: " + "; ".join(p.kinds for p in workers)
            print(lines[-1], flush=True)
            if connected < target:
                break
    finally:
        for load in workers:
            await load.stop()
        await running.stop()
        shutil.rmtree(work, ignore_errors=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.connected", description=__doc__.split("\n\n")[0])
    parser.add_argument("--session", default="xmpp,http", help="session kinds to measure (%(default)s)")
    parser.add_argument("--clients", default="1000,5000,10000,20000", help="connected clients at each step")
    parser.add_argument("--rate", type=float, default=40.0, help="logins/s of each load process (%(default)s)")
    parser.add_argument("--keepalive", type=float, default=60.0,
                        help="s between keep-alives (XMPP ping or get_edge_config) (%(default)s)")
    parser.add_argument("--per-process", type=int, default=9000, help="clients per load process (%(default)s)")
    parser.add_argument("--stall", type=float, default=60.0, help="give a step up after this many s without "
                                                                  "progress (%(default)s)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    for hidden in ("--lab-file", "--state"):
        parser.add_argument(hidden, type=Path, help=argparse.SUPPRESS)
    for hidden in ("--first", "--count", "--users"):
        parser.add_argument(hidden, type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    limit = raise_descriptor_limit()
    if args.worker:
        args.session = args.session.split(",")[0]
        return asyncio.run(worker_main(args))
    steps = sorted(int(c) for c in args.clients.split(","))
    print(f"connected clients, lab in processes, debug off; descriptor limit {limit} per process "
          f"({HARD_LIMIT_NOTE}); load processes of at most {args.per_process} clients at {args.rate:g} logins/s; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    if args.per_process + 100 > limit:
        print(f"note: {args.per_process} clients per load process need more descriptors than {limit}", flush=True)
    for session in args.session.split(","):
        asyncio.run(measure(session, steps, args))
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{math.ceil(max(steps) / args.per_process)} load processes at the last step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
