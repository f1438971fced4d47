"""The control API of ``mrasim up --processes``: what an operator can honestly do to nodes in separate processes.

It listens where ``mrasim up``'s does (the lab file's ``control_port``), so ``mrasim status|restart|stop|start`` work
unchanged. A node here is an operating-system process running ``mrasim serve``: the API reports each process, and
stops, starts or restarts it with the same lab file, logs and state, as an engineer restarts a VM.

The lab clock, a node's skew, the fault engine, CUCM's enterprise parameters and the diagnostic bundle live in one
process's memory in ``mrasim up``. Here every node has its own clock and its own fault engine and nothing can reach
into them, so those routes answer ``501`` and say to use the single-process lab rather than pretending to act on one
node's copy.

The lab survives its children (issue 13 item 5). ``mrasim up --processes`` is a supervisor: a node that dies —
``kill -9`` included — is reported on stderr and in ``mrasim status`` while the others keep serving, and
``mrasim start <node>`` brings it back. The control API itself runs in a process of its own (a relay from the control
port to the supervisor's socket under ``--state``), so killing it loses no node and no state: the supervisor reports
it and starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web

from common.serve import Running, serve
from common.zone import read_file as read_zone
from common.config import load_lab
from lab.forkserver import ForkedProcess, ForkServer
from lab.lifeline import START_LINE, child_env
from lab.netns import DMZ_INSIDE, DMZ_OUTSIDE, INSIDE_NODE, new_topology, unavailable
from lab.processes import READY_TIMEOUT, ProcessLab, _default_sigint, start_processes

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


CONTROL_SOCKET = "control.sock"
RESPAWN_DELAY = 0.5
SUPERVISOR = web.AppKey("supervisor", object)


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
    report: dict[str, object] = {"domain": lab.lab.domain, "mode": "processes", "nodes": nodes,
                                 "not_served": list(lab.skipped), "zones": zones}
    relay = request.app.get(SUPERVISOR)
    if isinstance(relay, ControlProcess) and relay.process is not None:
        report["control"] = {"pid": relay.process.pid, "alive": relay.process.returncode is None,
                             "restarts": relay.restarts}
    return web.json_response(report)


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


class ControlProcess:
    """The control API's own process: it serves the control port and relays each request to the supervisor.

    Forked from the lab's fork server when it has one (lab/forkserver.py), else a fresh interpreter."""

    def __init__(self, lab: ProcessLab, socket_path: Path) -> None:
        self.lab, self.socket_path = lab, socket_path
        self.process: asyncio.subprocess.Process | ForkedProcess | None = None
        self.restarts = 0

    async def start(self) -> None:
        if self.process is not None and self.process.stdin is not None:
            self.process.stdin.close()  # the lifeline of the process that died
        argv = [str(self.lab.lab_file), str(self.socket_path)]
        process: asyncio.subprocess.Process | ForkedProcess | None = None
        if self.lab.forks is not None:
            try:
                process = await self.lab.forks.start("control", argv)
                process.stdin.write(START_LINE)  # and held open: its lifeline
            except OSError:
                await self.lab.close_forks()
        if process is None:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _RELAY, *argv, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.PIPE,
                preexec_fn=_default_sigint, env=child_env())
        self.process = process
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), READY_TIMEOUT)
        if b"serving" not in line:
            code = await self.process.wait()
            raise RuntimeError(f"the control API did not start (exit status {code}): {line.decode().strip()}")

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(self.process.wait(), 5.0)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()


# Its lifelines first: it ends with the supervisor, however the supervisor ends (lab/lifeline.py).
_RELAY = "import sys, lab.lifeline as life, lab.processcontrol as p; life.hold(); sys.exit(p.relay_main(sys.argv[1:]))"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})


def relay_main(argv: list[str]) -> int:
    """The control API process: ``<lab file> <supervisor socket>``; serves until Ctrl-C (its lifelines are held)."""
    lab = load_lab(argv[0])
    socket_path = argv[1]

    async def forward(request: web.Request) -> web.Response:
        async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=socket_path)) as session:
            try:
                async with session.request(request.method, f"http://supervisor{request.path_qs}",
                                           data=await request.read(),
                                           headers={k: v for k, v in request.headers.items()
                                                    if k.lower() not in _HOP_BY_HOP}) as answer:
                    body = await answer.read()
                    headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
                    return web.Response(status=answer.status, body=body, headers=headers)
            except aiohttp.ClientError as exc:
                return web.json_response({"error": f"the lab's supervisor cannot be reached: {exc}"}, status=503)

    async def run() -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        running = await serve(app, lab.control)
        print(f"control API serving on {lab.control.address}:{running.port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await stop.wait()
        finally:
            await running.stop()

    asyncio.run(run())
    return 0


async def _serve_unix(app: web.Application, path: Path) -> web.AppRunner:
    path.unlink(missing_ok=True)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.UnixSite(runner, str(path)).start()
    return runner


async def up_processes(lab_file: Path, logs: Path, state: Path, storm_users: int = 0, netns: bool = False,
                       forks: ForkServer | None = None) -> int:
    """``mrasim up --processes``: start, serve the control API, describe, and supervise until Ctrl-C.

    A node that exits on its own is reported and left stopped — the others keep serving — until
    ``mrasim start <node>``; the control API's process is started again at once. Only Ctrl-C ends the lab.
    ``netns``: the nodes in network namespaces behind the MRA firewall (:mod:`lab.netns`); where that cannot be done,
    say why and run on loopback. ``forks``: the fork server this process forked before its event loop
    (lab/forkserver.py), which the lab then owns.
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
        running = await start_processes(lab_file, logs, state, storm_users=storm_users, netns=topology, forks=forks)
    except BaseException:
        if topology is not None:
            topology.destroy()
        raise
    app = process_control_app(running)
    relay = ControlProcess(running, state / CONTROL_SOCKET)
    app[SUPERVISOR] = relay
    inner: web.AppRunner | None = None
    try:
        inner = await _serve_unix(app, state / CONTROL_SOCKET)
        await relay.start()
    except BaseException:
        if inner is not None:
            await inner.cleanup()
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
        stopped = asyncio.ensure_future(stop.wait())
        while not stop.is_set():
            death = asyncio.ensure_future(running.wait_unexpected_exit())
            control_death = asyncio.ensure_future(relay.wait())
            await asyncio.wait({death, control_death, stopped}, return_when=asyncio.FIRST_COMPLETED)
            for task in (death, control_death):
                if not task.done():
                    task.cancel()
            if stop.is_set():
                break
            if death.done() and not death.cancelled():
                dead = death.result()
                print(f"mrasim: {dead.name} exited with status {dead.process.returncode}; the rest of the lab keeps "
                      f"serving ('mrasim start {dead.name}' starts it again)", file=sys.stderr, flush=True)
            if control_death.done() and not control_death.cancelled():
                print(f"mrasim: the control API exited with status {control_death.result()}; starting it again",
                      file=sys.stderr, flush=True)
                await asyncio.sleep(RESPAWN_DELAY)
                try:
                    await relay.start()
                    relay.restarts += 1
                except (OSError, RuntimeError, asyncio.TimeoutError) as exc:
                    print(f"mrasim: the control API did not start again: {exc}", file=sys.stderr, flush=True)
        stopped.cancel()
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await relay.stop()
        await inner.cleanup()
        (state / CONTROL_SOCKET).unlink(missing_ok=True)
        await running.stop()
        if topology is not None:
            topology.destroy()
