"""What one connected XMPP client costs the lab: descriptors and resident memory per session, per node process.

Starts the lab with each node in its own process (``mrasim up --processes``, DEBUG off), logs one user in over HTTP,
then signs in XMPP sessions through Expressway-E (one resource each, no presence broadcast: the lab has no roster, so
N announcing clients would cost N² deliveries, which is not what this measures) and reads every node's open
descriptors (``/proc/<pid>/fd``) and VmRSS at each step. Figures are per session, measured in the same run against
the lab's own baseline. The soft descriptor limit is raised to the hard one (the node processes inherit it)::

    python -m benchmarks.xmppsessions --sessions 1000 5000
    python -m benchmarks.xmppsessions --sessions 1000 --json

``measure_xmpp_sessions`` is the reusable part (a connected-clients benchmark can call it for its XMPP mode).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.clock import LabClock
from common.config import DEFAULT_LAB
from common.nodelog import LineSink
from jabber.client import JabberClient
from jabber.flow import Outcome
from jabber.xmppclient import XmppConnection, connect_xmpp
from lab import processes
from lab.processes import network, start_processes, with_free_ports
from load.stats import proc_memory

NODES = ("expressway-e", "expressway-c", "imp:imp")


def raise_descriptor_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def snapshot(pids: dict[str, int]) -> dict[str, tuple[int, int]]:
    """(open descriptors, RSS bytes) of each node process."""
    return {name: (len(os.listdir(f"/proc/{pid}/fd")), proc_memory(pid)[0]) for name, pid in pids.items()}


async def measure_xmpp_sessions(counts: list[int], concurrency: int = 50, lab_text: str | None = None,
                                on_step: Callable[[dict[str, Any]], None] | None = None) -> dict[str, object]:
    """Per-session descriptors and RSS at each of ``counts`` connected XMPP sessions (ascending); ``on_step`` sees
    each step as it is measured (a long run on a busy machine shows its figures as they come). A sign-in that fails
    (a timeout on a loaded machine) is tried again, twice at most, before the run gives up."""
    limit = raise_descriptor_limit()
    processes.READY_TIMEOUT = max(processes.READY_TIMEOUT, 120.0)  # a busy machine imports slowly
    root = Path(tempfile.mkdtemp(prefix="mrasim-xmpp-"))
    lab_file = root / "lab.toml"
    lab_file.write_text(with_free_ports(lab_text or DEFAULT_LAB.read_text()))
    running = await start_processes(lab_file, root / "logs", root / "state", debug=False)
    connections: list[XmppConnection] = []
    results: dict[str, object] = {"descriptor_limit": limit, "steps": []}
    try:
        pids = {name: pid for name, pid in running.pids().items() if name in NODES}
        sink = LineSink(root / "logs" / "jabber-bench.log")
        client = JabberClient(running.lab, LabClock(), network(running.lab, root / "state"), sink)
        outcome, _ = await client.login()
        if not outcome.ok:
            raise RuntimeError(f"login failed: {outcome.reason}")
        await asyncio.sleep(0.5)
        base = snapshot(pids)
        results["baseline"] = base
        started = time.perf_counter()
        for target in counts:
            while len(connections) < target:
                batch = min(concurrency, target - len(connections))
                opened = await asyncio.gather(*(sign_in(client, outcome, f"bench{len(connections) + i}")
                                                for i in range(batch)))
                connections.extend(opened)
            await asyncio.sleep(0.5)
            now = snapshot(pids)
            step = {"sessions": target, "elapsed_s": round(time.perf_counter() - started, 1),
                    "per_node": {name: {"fds_per_session": (now[name][0] - base[name][0]) / target,
                                        "rss_kib_per_session": (now[name][1] - base[name][1]) / target / 1024,
                                        "fds": now[name][0], "rss_mib": now[name][1] / 2**20}
                                 for name in pids}}
            step["fds_per_session"] = sum(n["fds_per_session"] for n in step["per_node"].values())  # type: ignore[union-attr]
            step["rss_kib_per_session"] = sum(n["rss_kib_per_session"]  # type: ignore[union-attr]
                                              for n in step["per_node"].values())  # type: ignore[union-attr]
            results["steps"].append(step)  # type: ignore[union-attr]
            if on_step is not None:
                on_step(step)
    finally:
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        await running.stop()
    return results


async def sign_in(client: JabberClient, outcome: Outcome, resource: str, tries: int = 3) -> XmppConnection:
    for attempt in range(1, tries + 1):
        result, connection = await connect_xmpp(client, outcome, resource=resource, presence=False)
        if connection is not None:
            return connection
        if attempt == tries:
            raise RuntimeError(f"sign-in of {resource} failed {tries} times: {result.reason}")
    raise AssertionError("unreachable")


def render_step(step: dict[str, Any]) -> str:
    nodes = step["per_node"]
    fds = " / ".join(f"{nodes[n]['fds_per_session']:.2f}" for n in NODES if n in nodes)
    rss = " / ".join(f"{nodes[n]['rss_kib_per_session']:.1f}" for n in NODES if n in nodes)
    lab = sum(nodes[n]["rss_mib"] for n in nodes)
    return (f"{step['sessions']:>6} sessions: descriptors {fds} = {step['fds_per_session']:.2f}; "
            f"RSS KiB {rss} = {step['rss_kib_per_session']:.1f}; E, C and IM&P hold {lab:.0f} MiB "
            f"({step['elapsed_s']} s)")


def title(results: dict[str, object]) -> str:
    return (f"XMPP sessions through E (descriptor limit {results['descriptor_limit']}), per session, "
            "E / C / IM&P / lab total:")


def render(results: dict[str, object]) -> str:
    return "\n".join([title(results), *(render_step(step) for step in results["steps"])])  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.xmppsessions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1000], help="session counts (%(default)s)")
    parser.add_argument("--concurrency", type=int, default=50, help="sign-ins at a time (%(default)s)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.json:
        print(json.dumps(asyncio.run(measure_xmpp_sessions(sorted(args.sessions), args.concurrency)), indent=2))
        return 0
    print(f"XMPP sessions through E, per session, E / C / IM&P / lab total; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    asyncio.run(measure_xmpp_sessions(sorted(args.sessions), args.concurrency,
                                      on_step=lambda step: print(render_step(step), flush=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
