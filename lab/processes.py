"""The lab with each node in its own process: ``mrasim up --processes`` and ``mrasim storm --processes``.

One event loop carries the whole lab in ``mrasim up``; on a two-core machine that leaves a core idle while a storm
queues on the other. Here every node runs as ``mrasim serve <node>`` (ARCHITECTURE rule 6): the same lab file, the
same fixed listen ports, the same logs, and the nodes find each other by name through the lab's resolver. The CUCM
nodes of a cluster share their SQLite database under ``--state``, as they share the replicated database.

Start order follows the dependencies of a start, not of a request: CUCM publishers and Expressway-E first and
together (E needs no one until a client arrives), then the subscribers and IM&P (they read the publisher's keys),
then Expressway-C (it fetches the AuthZ keys from every cluster as it starts). A node is ready when it prints its
``serving`` line.

The SAML IdP, when the lab has one, starts last, and the supervisor then does the SAML metadata exchange an
administrator does once (:mod:`lab.samlexchange`), over the nodes' sockets as in the one-process lab; C and the IdP
keep what they imported under ``--state``, so a restarted node still trusts its peer. ``sso=True`` (``--sso``) runs
every node with ``Lab.with_sso()``, as ``mrasim run --sso`` does in one process.

Nodes ``mrasim serve`` does not run (Unity Connection, until it can be served alone) are left out and named.
A storm that needs extra users gets a copy of the lab file with the storm users appended under ``--state``; the TOML
schema does not change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.resolver import LabResolver
from common.tasks import cancel_and_wait
from common.tls import LabTls
from common.config import Lab, load_lab
from lab.forkserver import ForkedProcess, ForkServer
from lab.lifeline import START_LINE, child_env
from lab.netns import Topology, rewrite_addresses
from lab.nodenames import log_name, node_names, servable
from lab.samlexchange import exchange_metadata

PIDS_FILE = "pids.json"
READY_TIMEOUT = 60.0  # every node interpreter imports at once: on a busy 2-core machine 30 s was seen to be too few


@dataclass
class NodeProcess:
    name: str
    process: asyncio.subprocess.Process | ForkedProcess
    banner: str = ""
    stopping: bool = False  # set before the lab ends it on purpose, so its exit does not stop the whole lab

    @property
    def alive(self) -> bool:
        return self.process.returncode is None


@dataclass
class ProcessLab:
    lab: Lab
    lab_file: Path
    logs: Path
    state: Path
    nodes: list[NodeProcess] = field(default_factory=list)
    skipped: tuple[str, ...] = ()
    ready_ms: float = 0.0
    netns: Topology | None = None  # ``up --netns``: each node runs in its zone's namespace
    sso: bool = False  # every node runs the lab with SAML SSO on (``--sso``)
    forks: ForkServer | None = None  # where node processes are forked from (lab/forkserver.py); None: exec each
    # One node operation at a time: a restart racing a stop of the same node would leave two processes on one port.
    _operating: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set whenever a node's process is replaced, so ``wait_unexpected_exit`` watches the new one.
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def pids(self) -> dict[str, int]:
        return {node.name: node.process.pid for node in self.nodes}

    def log_paths(self) -> dict[str, Path]:
        return {node.name: self.logs / log_name(node.name, self.lab) for node in self.nodes}

    def node(self, name: str) -> NodeProcess:
        """The node's current process; KeyError naming the nodes run here (and those only ``mrasim up`` runs)."""
        found = next((node for node in self.nodes if node.name == name), None)
        if found is None:
            alone = f"; not run in processes: {', '.join(self.skipped)}" if self.skipped else ""
            raise KeyError(f"no node {name!r}; nodes: {', '.join(n.name for n in self.nodes)}{alone}")
        return found

    async def wait_unexpected_exit(self) -> NodeProcess:
        """Return the first node process that exits without the lab ending it (a lab that lost a node is not a lab).

        A node stopped or restarted through the control API exits on purpose; it is not a reason to stop the lab.
        """
        while True:
            self._changed.clear()
            waits = {asyncio.ensure_future(node.process.wait()): node
                     for node in self.nodes if node.alive and not node.stopping}
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                done, _ = await asyncio.wait({*waits, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (*waits, changed):
                    task.cancel()
            dead = [waits[task] for task in done if task in waits and not waits[task].stopping]
            if dead:
                return dead[0]

    async def stop_node(self, name: str) -> None:
        """End one node's process as Ctrl-C would (it closes its listener and log); it stays listed, not alive."""
        async with self._operating:
            node = self.node(name)
            if not node.alive:
                raise ValueError(f"node {name!r} is not running")
            await _end(node)
            self._changed.set()

    async def start_node(self, name: str) -> None:
        """Start a stopped node's ``mrasim serve`` again (same lab file, logs and state) and wait until it serves."""
        async with self._operating:
            if self.node(name).alive:
                raise ValueError(f"node {name!r} is already running")
            await self._respawn(name)

    async def restart_node(self, name: str) -> None:
        """Stop one node's process and start it again with the same logs and state; return once it serves."""
        async with self._operating:
            node = self.node(name)
            if node.alive:
                await _end(node)
            await self._respawn(name)

    async def _respawn(self, name: str) -> None:
        old = self.node(name).process
        if old.stdin is not None:
            old.stdin.close()  # the lifeline of a process that died on its own
        node = await self.spawn(name)
        self.nodes[self.nodes.index(self.node(name))] = node
        self._changed.set()
        _release(node)
        try:
            await _ready(node)
        except BaseException:
            if node.alive:
                await _end(node)
            raise
        (self.state / PIDS_FILE).write_text(json.dumps(self.pids(), indent=2))

    async def spawn(self, name: str) -> NodeProcess:
        """A new process for node ``name``, waiting for its start line: forked where there is a fork server, else a
        fresh interpreter (also when the fork server has gone)."""
        argv = ["--lab", str(self.lab_file), "serve", name, "--into", str(self.logs), "--state", str(self.state),
                *(["--sso"] if self.sso else [])]
        if self.forks is not None:
            try:
                return NodeProcess(name, await self.forks.start("serve", argv))
            except OSError:
                await self.close_forks()
        return await _spawn(name, argv, self.netns)

    async def close_forks(self) -> None:
        forks, self.forks = self.forks, None
        if forks is not None:
            await forks.close()

    async def stop(self) -> None:
        """Ctrl-C to every node (each closes its listener and its log), then kill what is still there."""
        for node in reversed(self.nodes):
            node.stopping = True
            if node.alive:
                with contextlib.suppress(ProcessLookupError):
                    node.process.send_signal(signal.SIGINT)
        for node in reversed(self.nodes):
            await _end(node)
        await self.close_forks()
        (self.state / PIDS_FILE).unlink(missing_ok=True)

    def describe(self) -> str:
        lines = [f"mrasim lab is up in {len(self.nodes)} processes, ready in {self.ready_ms:.0f} ms (Ctrl-C stops it)"]
        lines += [f"  {node.name:<24} pid {node.process.pid:<8} {node.banner}" for node in self.nodes]
        if self.skipped:
            lines.append(f"  not started ('mrasim serve' cannot run them alone yet): {', '.join(self.skipped)}")
        control = self.lab.control
        lines.append(f"Control API on http://{control.address}:{control.listen_port}: 'mrasim status', "
                     "'mrasim restart|stop|start NODE' (clock, skew, faults: only without --processes)")
        lines.append(f"Logs are written to {self.logs}/")
        return "\n".join(lines)


def network(lab: Lab, state: Path) -> LabResolver:
    """The lab's names and TLS material (the certificates the node processes share in ``state``), as a client
    outside the node processes needs them."""
    resolver = LabResolver.from_lab(lab)
    resolver.tls = LabTls.prepare(lab, state)
    return resolver


def derived_lab_file(lab_file: Path, state: Path, storm_users: int = 0, debug: bool | None = None) -> Path:
    """``lab_file`` itself, or a copy under ``state`` with storm users appended and ``[lab] debug`` set."""
    if not storm_users and debug is None:
        return lab_file
    text = lab_file.read_text()
    if debug is not None:
        text = set_debug(text, debug)
    if storm_users:
        text = set_lab_key(text, "storm_users", str(storm_users))
    state.mkdir(parents=True, exist_ok=True)
    derived = state / f"{lab_file.stem}-processes.toml"
    derived.write_text(text)
    return derived


def set_debug(text: str, debug: bool) -> str:
    """Set ``debug`` in the ``[lab]`` table of a lab file's text, keeping everything else as written."""
    return set_lab_key(text, "debug", "true" if debug else "false")


def set_lab_key(text: str, key: str, value: str) -> str:
    """Set ``key = value`` (a TOML literal) in the ``[lab]`` table of a lab file's text, keeping the rest as written."""
    head, sep, rest = text.partition("[lab]")
    if not sep:
        return f"[lab]\n{key} = {value}\n\n" + text
    table, *tail = re.split(r"(?m)^(?=\[)", rest, maxsplit=1)
    if re.search(rf"(?m)^{key}\s*=", table):
        table = re.sub(rf"(?m)^{key}\s*=\s*\S+", f"{key} = {value}", table, count=1)
    else:
        table = f"\n{key} = {value}" + table
    return head + sep + table + "".join(tail)


def with_free_ports(text: str) -> str:
    """A lab file's text with every ``*listen_port`` and the control port moved to a port free right now.

    For tests and benchmarks that run a lab in processes next to other labs: the nodes must agree on fixed ports,
    so ``listen_port = 0`` cannot be used across processes. The ports are chosen below the kernel's ephemeral range:
    a port taken there would be free again for any outgoing connection (a node dialling another, a test's client)
    until the node binds it, seconds later at start or restart; only an explicit bind can take one now.
    """
    chosen: set[int] = set()

    def free(match: re.Match[str]) -> str:
        port = _free_fixed_port(chosen)
        chosen.add(port)
        return f"{match.group(1)} = {port}"

    return re.sub(r"(?m)^(\w*listen_port|control_port)\s*=\s*\d+", free, text)


def _free_fixed_port(chosen: set[int]) -> int:
    """A loopback port free right now, not in ``chosen`` (the lab's other ports, still unbound), and outside the
    ephemeral range (or, failing that, any free port)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    candidates = [random.randrange(10000, low) for _ in range(50)] if low > 10000 else []
    for port in [*(p for p in candidates if p not in chosen), 0]:
        with contextlib.closing(socket.socket()) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            if (found := int(sock.getsockname()[1])) not in chosen:
                return found
    raise OSError("no free loopback port")


async def start_processes(lab_file: Path, logs: Path, state: Path, *, storm_users: int = 0,
                          debug: bool | None = None, fresh_logs: bool = False,
                          netns: Topology | None = None, sso: bool = False,
                          forks: ForkServer | None = None) -> ProcessLab:
    """Start every servable node of the lab in its own process and wait until each serves; with an IdP, exchange
    the SAML metadata once all serve.

    With ``netns`` (already created) each node runs in its zone's namespace, from a copy of the lab file whose
    addresses are the zones' (:func:`lab.netns.rewrite_addresses`). The nodes are forked from ``forks``
    (:meth:`ForkServer.fork_here`) or, without one, from a fork server started here; with ``netns``, or where forking
    cannot be done, each is a fresh interpreter. The lab owns the fork server from here on."""
    started = time.perf_counter()
    if netns is not None and forks is not None:
        await forks.close()
        forks = None
    elif forks is None and netns is None:
        forks = await ForkServer.spawn()  # it imports the nodes while the lab file and the PKI are read here
    try:
        file = derived_lab_file(lab_file, state, storm_users, debug)
        if netns is not None:
            state.mkdir(parents=True, exist_ok=True)
            placed = state / f"{lab_file.stem}-netns.toml"
            placed.write_text(rewrite_addresses(file.read_text()))
            file = placed
        lab = load_lab(file).with_sso() if sso else load_lab(file)
    except BaseException:
        if forks is not None:
            await forks.close()
        raise
    names = node_names(lab)
    running = ProcessLab(lab, file, logs, state, skipped=tuple(n for n in names if not servable(n)), netns=netns,
                         sso=sso, forks=forks)
    publishers = [c.node_name(c.listener) for c in lab.clusters]
    waves = [[*publishers, "expressway-e"],
             [n for n in names if (n.startswith("cucm:") and n not in publishers) or n.startswith("imp:")],
             ["expressway-c"], ["idp"] if "idp" in names else []]
    try:
        logs.mkdir(parents=True, exist_ok=True)
        if fresh_logs:
            for name in ("jabber", *names):
                (logs / log_name(name, lab)).unlink(missing_ok=True)
        LabTls.prepare(lab, state)  # once, here: every node process then finds the same certificates in --state
        # The first wave is started and released at once; every later process is started while it comes up (a fork
        # takes milliseconds; a fresh interpreter imports meanwhile), and each wave is released only once the one
        # before serves (see _GATE), so the start order, and every node's log, is as if they started one by one.
        first = [await running.spawn(name) for name in waves[0]]
        running.nodes += first
        for node in first:
            _release(node)
        later = asyncio.ensure_future(_spawn_waves(running, waves[1:]))
        try:
            await asyncio.gather(*(_ready(node) for node in first))
            for wave in await later:
                for node in wave:
                    _release(node)
                await asyncio.gather(*(_ready(node) for node in wave))
        finally:
            await cancel_and_wait(later)
        await exchange_metadata(lab, network(lab, state))
    except BaseException:
        await running.stop()
        raise
    running.ready_ms = (time.perf_counter() - started) * 1000
    (state / PIDS_FILE).write_text(json.dumps(running.pids(), indent=2))
    return running


async def _spawn_waves(running: ProcessLab, waves: list[list[str]]) -> list[list[NodeProcess]]:
    """Start (not release) each node of ``waves``, in order; each is listed in ``running`` as soon as it exists."""
    spawned = []
    for names in waves:
        wave = []
        for name in names:
            node = await running.spawn(name)
            running.nodes.append(node)
            wave.append(node)
        spawned.append(wave)
    return spawned


# ``mrasim serve`` itself, entered only when the parent says so: the imports (most of a Python start-up) overlap
# with the nodes started before, while the start order — and so every node's log — stays as if started one by one.
# A node process imports only its own node (cli.servenode), not the whole command line, and from then on holds the
# supervisor's lifelines (lab/lifeline.py): it ends when the supervisor dies.
_GATE = ("import sys, lab.lifeline as life, cli.servenode as node; node.preload(sys.argv[1:]); "
         "sys.exit(life.gated(node.main, sys.argv[1:]))")


async def _spawn(name: str, argv: list[str], netns: Topology | None = None) -> NodeProcess:
    prefix = netns.exec_prefix(name) if netns is not None else []
    process = await asyncio.create_subprocess_exec(
        *prefix, sys.executable, "-c", _GATE, *argv, stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE, preexec_fn=_default_sigint, env=child_env())
    return NodeProcess(name, process)


async def _end(node: NodeProcess) -> None:
    """Ctrl-C to one node, then kill it if it has not stopped within 5 s; marked as ended on purpose first."""
    node.stopping = True
    if node.alive:
        with contextlib.suppress(ProcessLookupError):
            node.process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(node.process.wait(), 5.0)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            node.process.kill()
        await node.process.wait()
    if node.process.stdin is not None:
        node.process.stdin.close()  # the lifeline's write end (lab/lifeline.py), kept open for the node's life


def _release(node: NodeProcess) -> None:
    assert node.process.stdin is not None
    node.process.stdin.write(START_LINE)  # and the pipe stays open: the node's lifeline (lab/lifeline.py)


async def _ready(node: NodeProcess) -> None:
    assert node.process.stdout is not None
    try:
        line = await asyncio.wait_for(node.process.stdout.readline(), READY_TIMEOUT)
    except asyncio.TimeoutError:
        raise RuntimeError(f"{node.name} did not start within {READY_TIMEOUT:.0f} s") from None
    if b"serving" not in line:
        code = await node.process.wait()
        raise RuntimeError(f"{node.name} did not start (exit status {code}): {line.decode(errors='replace').strip()}")
    node.banner = line.decode(errors="replace").strip()


def _default_sigint() -> None:
    """A shell starts background jobs with SIGINT ignored; a node must still stop cleanly on our Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_pids(state: Path) -> dict[str, int]:
    """The node pids a running ``mrasim up --processes`` wrote under its state directory ({} if none)."""
    try:
        return {str(k): int(v) for k, v in json.loads((state / PIDS_FILE).read_text()).items()}
    except (OSError, ValueError):
        return {}
