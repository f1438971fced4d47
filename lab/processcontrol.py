"""The control API of ``mrasim up --processes``: what an operator can honestly do to nodes in separate processes.

It listens where ``mrasim up``'s does (the lab file's ``control_port``), so ``mrasim status|restart|stop|start`` work
unchanged. A node here is an operating-system process running ``mrasim serve``: the API reports each process, and
stops, starts or restarts it with the same lab file, logs and state, as an engineer restarts a VM.

The lab clock, a node's skew, the fault engine, CUCM's enterprise parameters and the diagnostic bundle live in one
process's memory in ``mrasim up``. Here every node has its own clock and its own fault engine and nothing can reach
into them, so those routes answer ``501`` and say to use the single-process lab rather than pretending to act on one
node's copy.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from aiohttp import web

from common.serve import Running, serve
from common.zone import read_file as read_zone
from common.config import load_lab
from lab.netns import DMZ_INSIDE, DMZ_OUTSIDE, INSIDE_NODE, new_topology, unavailable
from lab.processes import ProcessLab, start_processes

LAB = web.AppKey("process_lab", ProcessLab)

DONE = {"restart": "restarted", "stop": "stopped", "start": "started"}
SINGLE_PROCESS_ONLY = {
    "/clock": "the lab clock",
    "/nodes/{node}/skew": "a node's clock skew",
    "/faults": "faults",
    "/faults/{id}": "faults",
    "/clusters/{cluster}/enterprise": "enterprise parameters",
    "/bundle/start": "the diagnostic bundle",
    "/bundle/marker": "the diagnostic bundle",
    "/bundle/stop": "the diagnostic bundle",
}


async def status(request: web.Request) -> web.Response:
    lab = request.app[LAB]
    listeners = lab.lab.listeners()
    nodes = {}
    for node in lab.nodes:
        listener = listeners[node.name if node.name in listeners else f"{node.name}:xcp"]
        nodes[node.name] = {"state": "running" if node.alive else "stopped", "pid": node.process.pid,
                            "alive": node.alive, "origin": listener.origin,
                            "listening": f"{listener.address}:{listener.listen_port}"}
    zones = {}
    for name in ("expressway-c", "expressway-e"):
        alive = any(node.name == name and node.alive for node in lab.nodes)
        data = read_zone(lab.state / f"zone-{name}.json") if alive else None
        if data is not None:
            zones[name] = data
    return web.json_response({"domain": lab.lab.domain, "mode": "processes", "nodes": nodes,
                              "not_served": list(lab.skipped), "zones": zones})


def _node_action(action: str) -> web.Handler:
    async def act(request: web.Request) -> web.Response:
        lab = request.app[LAB]
        name = request.match_info["node"]
        try:
            await getattr(lab, f"{action}_node")(name)
        except KeyError as exc:
            return web.json_response({"error": str(exc).strip("'\"")}, status=404)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=409)
        except RuntimeError as exc:  # the new process did not come up: its own words
            return web.json_response({"error": str(exc)}, status=500)
        node = lab.node(name)
        return web.json_response({DONE[action]: name, "pid": node.process.pid, "alive": node.alive})

    return act


def _single_process_only(what: str) -> web.Handler:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({
            "error": f"not available with --processes: {what}. Every node process has its own clock and fault "
                     "engine; use the single-process lab ('mrasim up' without --processes)",
            "available_in": "mrasim up"}, status=501)

    return refuse


def process_control_app(lab: ProcessLab) -> web.Application:
    app = web.Application()
    app[LAB] = lab
    app.router.add_get("/status", status)
    for action in ("restart", "stop", "start"):
        app.router.add_post(f"/nodes/{{node}}/{action}", _node_action(action))
    for path, what in SINGLE_PROCESS_ONLY.items():
        app.router.add_route("*", path, _single_process_only(what))
    return app


async def start_process_control(lab: ProcessLab) -> Running:
    return await serve(process_control_app(lab), lab.lab.control)


async def up_processes(lab_file: Path, logs: Path, state: Path, storm_users: int = 0, netns: bool = False) -> int:
    """``mrasim up --processes``: start, serve the control API, describe, and run until Ctrl-C or a node dies.

    A node stopped or restarted through the control API (``mrasim stop|start|restart``) does not end the lab.
    ``netns``: the nodes in network namespaces behind the MRA firewall (:mod:`lab.netns`); where that cannot be done,
    say why and run on loopback.
    """
    topology = None
    if netns:
        reason = unavailable()
        if reason is not None:
            print(f"mrasim: --netns: {reason}; running the nodes in processes on loopback instead", file=sys.stderr)
        else:
            topology = new_topology()
            topology.create(load_lab(lab_file))
    try:
        running = await start_processes(lab_file, logs, state, storm_users=storm_users, netns=topology)
    except BaseException:
        if topology is not None:
            topology.destroy()
        raise
    try:
        control = await start_process_control(running)
    except BaseException:
        await running.stop()
        if topology is not None:
            topology.destroy()
        raise
    if topology is not None:
        print(f"Network namespaces: {topology.inside} (C, CUCM, IM&P at {INSIDE_NODE}), {topology.dmz} "
              f"(E: internal {DMZ_INSIDE}, external {DMZ_OUTSIDE}); clients reach E from this host at {DMZ_OUTSIDE}",
              flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        print(running.describe(), flush=True)
        death = asyncio.ensure_future(running.wait_unexpected_exit())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({death, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not death.done():
            death.cancel()
            return 0
        dead = death.result()
        print(f"mrasim: {dead.name} exited with status {dead.process.returncode}; stopping the lab", file=sys.stderr)
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await control.stop()
        await running.stop()
        if topology is not None:
            topology.destroy()
