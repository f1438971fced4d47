"""How long ``mrasim up`` takes to be ready to serve, from the command to its "lab is up" line.

    .venv/bin/python -m benchmarks.startup [--runs 5] [--processes] [--users 20000]

Each run starts the real command in a fresh interpreter (imports included, as a user sees it) on a copy of the lab
file with free ports and a fresh state directory for the first run (CUCM generates its AuthZ keys, as on install)
and the same one afterwards (keys read back, as on every later start). Ready means the command printed its banner:
every node is listening and Expressway-C has fetched the keys.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common.config import DEFAULT_LAB
from load.stats import percentile
from lab.processes import with_free_ports

READY = "is up"


def start_once(lab_file: Path, state: Path, logs: Path, processes: bool, users: int = 0) -> float:
    command = [sys.executable, "-m", "cli.main", "--lab", str(lab_file), "up", "--logs", str(logs),
               "--state", str(state), *(["--processes"] if processes else []),
               *(["--storm-users", str(users)] if users else [])]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if READY in line:
                return (time.perf_counter() - started) * 1000
        raise SystemExit(f"mrasim up exited with {child.wait()} before it was ready")
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts to time (%(default)s)")
    parser.add_argument("--processes", action="store_true", help="time 'mrasim up --processes'")
    parser.add_argument("--users", type=int, default=0, help="generated storm users ([lab] storm_users, 0: none)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mrasim-startup-"))
    lab_file = work / "lab.toml"
    times = []
    for run in range(args.runs):
        lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
        times.append(start_once(lab_file, work / "state", work / "logs", args.processes, args.users))
        print(f"run {run + 1}: ready in {times[-1]:.0f} ms{' (first start: keys generated)' if run == 0 else ''}")
    later = times[1:] or times
    mode = ("mrasim up --processes" if args.processes else "mrasim up") + (f" with {args.users} users" if args.users
                                                                              else "")
    print(f"{mode}: first start {times[0]:.0f} ms; later starts median {percentile(later, 50):.0f} ms, "
          f"max {max(later):.0f} ms ({os.cpu_count()} CPUs); target < 1000 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
