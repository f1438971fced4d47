"""How long ``mrasim up`` takes to be ready to serve, from the command to its "lab is up" line.

    .venv/bin/python -m benchmarks.startup [--runs 5] [--processes] [--users 20000] [--compare DIR] [--bytecode]

Each run starts the real command in a fresh interpreter (imports included, as a user sees it) on a copy of the lab
file with free ports and a fresh state directory for the first run (CUCM generates its AuthZ keys, as on install)
and the same one afterwards (keys read back, as on every later start). Ready means the command printed its banner:
every node is listening, Expressway-C has fetched the keys and its zone's links have settled.

At that moment the benchmark also reads the CPU time the command's whole process tree has used (``/proc``): on a
machine shared with other work the wall time stretches with the load, the CPU time hardly does.

``--compare DIR`` times a second checkout (e.g. ``git worktree add /tmp/old <commit>``) run for run, alternating
with this one, so both see the same load. ``--bytecode`` lets the first start write its bytecode (into a cache of
its own, ``PYTHONPYCACHEPREFIX``) and the later starts read it, as an installed package does; without it, the
environment decides (``PYTHONDONTWRITEBYTECODE=1`` makes every start compile every module it imports).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.config import DEFAULT_LAB
from lab.processes import with_free_ports
from load.stats import percentile

READY = "is up"
HERE = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Tree:
    """Where the command's time went: the wall time to its banner, and the CPU seconds of its processes by then."""

    ready_ms: float
    cpu: dict[str, float] = field(default_factory=dict)  # per process (the command itself is "supervisor")

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu.values())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *descendants(int(child))]
    return found


def process_name(pid: int) -> str:
    """A node's name, from its ``serve NODE`` arguments or, for a forked one, its thread name."""
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    if b"serve" in args[:-1]:
        return args[args.index(b"serve") + 1].decode()
    comm = Path(f"/proc/{pid}/comm").read_text().strip()
    return comm if comm not in ("python", "python3") and not comm.startswith("python3.") else f"process {pid}"


def read_tree(root: int, ready_ms: float) -> Tree:
    tree = Tree(ready_ms, {"supervisor": cpu_seconds(root)})
    for pid in descendants(root):
        try:
            tree.cpu[process_name(pid)] = tree.cpu.get(process_name(pid), 0.0) + cpu_seconds(pid)
        except OSError:
            continue
    return tree


class StartFailed(Exception):
    """The command ended before it was ready; the message is the end of what it printed on stderr."""


def start_once(lab_file: Path, state: Path, logs: Path, processes: bool, users: int = 0, checkout: Path = HERE,
               env: dict[str, str] | None = None) -> Tree:
    command = [sys.executable, "-m", "cli.main", "--lab", str(lab_file), "up", "--logs", str(logs),
               "--state", str(state), *(["--processes"] if processes else []),
               *(["--storm-users", str(users)] if users else [])]
    env = {**(env if env is not None else os.environ), "PYTHONPATH": str(checkout)}
    started = time.perf_counter()
    errors = tempfile.TemporaryFile()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=checkout,
                             env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if READY in line:
                return read_tree(child.pid, (time.perf_counter() - started) * 1000)
        code = child.wait()
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip().splitlines()[-2:]
        raise StartFailed(f"exited with {code} before it was ready: {' / '.join(said)}")
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        errors.close()


def summary(label: str, trees: list[Tree]) -> str:
    later = trees[1:] or trees
    walls = [t.ready_ms for t in later]
    cpus = [t.cpu_total for t in later]
    by_process: dict[str, list[float]] = {}
    for tree in later:
        for name, seconds in tree.cpu.items():
            by_process.setdefault(name if not name.startswith("process ") else "other", []).append(seconds)
    split = ", ".join(f"{name} {percentile(values, 50):.2f}" for name, values in by_process.items())
    return (f"{label}: first start {trees[0].ready_ms:.0f} ms; later starts median {percentile(walls, 50):.0f} ms "
            f"(min {min(walls):.0f}, max {max(walls):.0f}); CPU by then median {percentile(cpus, 50):.2f} s "
            f"({split})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts to time, per checkout (%(default)s)")
    parser.add_argument("--processes", action="store_true", help="time 'mrasim up --processes'")
    parser.add_argument("--users", type=int, default=0, help="generated storm users ([lab] storm_users, 0: none)")
    parser.add_argument("--compare", type=Path, help="another checkout to time, alternating run for run")
    parser.add_argument("--bytecode", action="store_true",
                        help="write bytecode at the first start and read it after, as an installed package does")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mrasim-startup-"))
    env = dict(os.environ)
    if args.bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    checkouts = {"this": HERE, **({"compare": args.compare.resolve()} if args.compare else {})}
    runs: dict[str, list[Tree]] = {name: [] for name in checkouts}
    loads = [os.getloadavg()[0]]
    for run in range(args.runs):
        for name, checkout in checkouts.items():
            lab_file = work / f"{name}.toml"
            lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
            try:
                tree = start_once(lab_file, work / f"state-{name}", work / f"logs-{name}", args.processes,
                                  args.users, checkout, env)
            except StartFailed as exc:
                print(f"run {run + 1} {name:<8} failed: {exc}", flush=True)
                continue
            runs[name].append(tree)
            note = " (first start: keys generated)" if run == 0 else ""
            print(f"run {run + 1} {name:<8} ready in {tree.ready_ms:6.0f} ms, CPU {tree.cpu_total:5.2f} s, "
                  f"load {os.getloadavg()[0]:.1f}{note}", flush=True)
            loads.append(os.getloadavg()[0])
    mode = ("mrasim up --processes" if args.processes else "mrasim up") + (f" with {args.users} users" if args.users
                                                                              else "")
    print(f"{mode} ({os.cpu_count()} CPUs, load average {min(loads):.1f}-{max(loads):.1f}"
          f"{', bytecode cached' if args.bytecode else ''}); target < 1000 ms")
    for name, checkout in checkouts.items():
        if runs[name]:
            print(summary(f"{name} ({checkout})", runs[name]))
    if args.compare and runs["this"] and runs["compare"]:
        this, other = runs["this"][1:] or runs["this"], runs["compare"][1:] or runs["compare"]
        print(f"this / compare: ready time {percentile([t.ready_ms for t in this], 50) / percentile([t.ready_ms for t in other], 50):.2f}x, "
              f"CPU {percentile([t.cpu_total for t in this], 50) / percentile([t.cpu_total for t in other], 50):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
