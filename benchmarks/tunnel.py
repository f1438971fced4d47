"""The cost of crossing the SSH traversal tunnel: CPU per E→C request as the lab crosses it, as it crossed it before
issue 18's fourth round, and with no tunnel at all, alternated in one process.

    .venv/bin/python -m benchmarks.tunnel [--requests 1000] [--rounds 5] [--concurrency 8] [--loop uvloop]

One lab (``start_lab``, every node in this process, TLS, debug off). Expressway-E's own hop client sends C the
request E's relay sends for a login's first step (``get_edge_sso``, with the traversal zone's stamp), ``--requests``
of them with ``--concurrency`` in flight, in three ways that alternate for ``--rounds`` rounds:

* ``channels`` — as the lab does: each of E's pooled connections to C is an SSH channel, with TLS straight over it
  at both ends (:mod:`common.sshstream`);
* ``sockets`` — as before: E's client dials the tunnel's loopback port on E (asyncssh forwards it into a channel)
  and C's end of each channel dials C's HTTPS listener on loopback (asyncssh's ``forward_connection``);
* ``direct`` — E's table points at C's listener itself: no tunnel, the floor.

E's pool is emptied at each switch. Everything else — E's HTTP client, C's handling, the logs — is the same in all
three, so the differences in process CPU per request are what crossing the tunnel costs, both ends together. On a
shared machine CPU time is inflated by other work (the load average is printed): read the ratios of one run, and
the lowest round of each way as the least disturbed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import os
import statistics
import time
from pathlib import Path

from common import traversal
from common.config import DEFAULT_LAB, Lab, load_lab
from lab.running import RunningLab, start_lab


def _syscalls() -> int:
    """Read and write system calls this process has made (``/proc/self/io``: counts, unmoved by other work)."""
    try:
        fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    except OSError:
        return 0
    return int(fields["syscr"]) + int(fields["syscw"])


async def _burst(running: RunningLab, requests: int, concurrency: int) -> tuple[float, int, int]:
    """CPU seconds of this process for ``requests`` E→C requests, how many were answered 200, and the read and
    write system calls they took."""
    hop = running.edge.state.hop
    core = running.lab.core.listener
    domain = base64.b64encode(running.lab.domain.encode()).decode().rstrip("=")
    url = f"https://{core.host}:{core.port}/{domain}/get_edge_sso?email=user1@{running.lab.domain}"
    stamp = traversal.stamp(running.lab.edge.traversal_password, running.clock.timestamp())
    ok = 0
    todo = iter(range(requests))

    async def worker() -> None:
        nonlocal ok
        for _ in todo:
            answer = await hop.request("GET", url, headers={traversal.HEADER: stamp})
            ok += answer.status == 200

    started, calls = time.process_time(), _syscalls()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.process_time() - started, ok, _syscalls() - calls


async def _switch(running: RunningLab, mode: str) -> None:
    """Cross the tunnel as ``mode`` says (module docstring), with E's pool emptied."""
    edge, core, traffic = running.edge.tunnel, running.core.tunnel, running.core.traffic
    assert core is not None and core.conn is not None
    conn = core.conn
    edge.direct_channels = mode == "channels"
    if mode == "sockets":
        core.serve_channel = lambda _host, _port: conn.forward_connection(traffic.address, traffic.port)  # type: ignore
    else:
        core.serve_channel = traffic.channel_session
    core_end = dataclasses.replace(running.lab.core.listener, address="127.0.0.1")
    reach = running.edge.state.hop.resolver
    if mode == "direct":
        reach.bind(core_end, traffic.port)
    else:
        reach.bind(core_end, next(iter(edge.forwards.values())).get_port())
    await running.edge.state.hop.close()
    await running.edge.state.hop.start()
    await _burst(running, 100, 8)  # the pool grows again


MODES = ("channels", "sockets", "direct")


async def measure(lab: Lab, requests: int, rounds: int, concurrency: int) -> dict[str, list[float]]:
    running = await start_lab(lab)
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    syscalls: dict[str, float] = {}
    try:
        for mode in MODES:
            await _switch(running, mode)
            await _burst(running, 200, concurrency)
        for _ in range(rounds):
            for mode in MODES:
                await _switch(running, mode)
                cpu, ok, calls = await _burst(running, requests, concurrency)
                if ok != requests:
                    raise SystemExit(f"{mode}: only {ok} of {requests} requests answered 200")
                results[mode].append(cpu / requests * 1e6)
                syscalls[mode] = calls / requests
            print("  " + "  ".join(f"{mode} {results[mode][-1]:6.0f}" for mode in MODES) + "  µs CPU per request",
                  flush=True)
        print("  read and write system calls per request: "
              + ", ".join(f"{mode} {syscalls[mode]:.1f}" for mode in MODES))
    finally:
        await running.stop()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tunnel", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per measurement (%(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="alternations of the three ways (%(default)s)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (%(default)s)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="uvloop",
                        help="event loop (%(default)s, as the lab's node processes)")
    args = parser.parse_args(argv)
    if args.loop == "uvloop":
        import uvloop
        uvloop.install()
    lab = dataclasses.replace(load_lab(DEFAULT_LAB), debug=False)
    print(f"E→C request across the SSH tunnel (channels, as before with loopback sockets) and straight to C, "
          f"one process, TLS, debug off; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    results = asyncio.run(measure(lab, args.requests, args.rounds, args.concurrency))
    for name, pick in (("median", statistics.median), ("lowest", min)):
        figures = {mode: pick(results[mode]) for mode in MODES}
        floor = figures["direct"]
        print(f"{name:<6}: " + ", ".join(f"{mode} {figures[mode]:.0f} µs" for mode in MODES)
              + f"; the crossing costs {figures['channels'] - floor:.0f} µs per request "
                f"(was {figures['sockets'] - floor:.0f} µs with loopback sockets)")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on the machine inflates CPU "
          f"time: the lowest of the rounds is the least disturbed)")

if __name__ == "__main__":
    main()
