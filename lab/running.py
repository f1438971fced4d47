"""The lab: every node of a :class:`~common.config.Lab` started in one event loop on loopback.

``start_lab`` is the one way a lab comes up — for ``mrasim up``, ``mrasim run`` and the tests (ARCHITECTURE rule 5).
Nodes start inside-out (CUCM, IM&P, Expressway-E, then Expressway-C, which fetches the AuthZ keys and dials the
traversal zone to E), each on its own
listener, and register where they really listen in the lab's resolver. Each node writes its own log; nodes that keep
state across restarts (CUCM's database) keep it under the lab's state directory.

A running lab can restart one node (``restart``), as an engineer restarts a service or a VM: the node stops, and starts
again from the same lab description with the same log and state.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from common.clock import LabClock, NodeClock
from common.config import ClusterConfig, Lab, Listener
from common.nodelog import LineSink
from common.faults import FaultEngine
from common.resolver import LabResolver
from common.zone import ACTIVE
from common.serve import settle_handshakes
from common.tls import LabTls
from core.node import CoreNode, start_core
from cucm_stub.app import CucmNode, start_cucm
from presence.node import start_imp
from unity.node import start_unity
from edge.node import EdgeNode, start_edge
from idp.node import start_idp
from jabber.client import JabberClient
from jabber.flow import Step
from lab.nodenames import log_name, node_names  # re-exported: the names predate lab.nodenames
from lab.samlexchange import exchange_metadata

class Node(Protocol):
    name: str

    async def stop(self) -> None: ...


@dataclass
class RunningLab:
    lab: Lab
    clock: LabClock
    resolver: LabResolver
    sinks: dict[str, LineSink]
    state_dir: Path
    nodes: dict[str, Node] = field(default_factory=dict)
    clocks: dict[str, NodeClock] = field(default_factory=dict)
    jabber_gate: Callable[[Step], Awaitable[None]] | None = None  # given to every client: the page's step mode
    _owned_state: bool = False

    def clock_for(self, name: str) -> NodeClock:
        """The node's own clock: the lab clock plus the skew a fault may give it (``set_skew``)."""
        if name not in self.clocks:
            self.clocks[name] = NodeClock(self.clock)
        return self.clocks[name]

    def set_skew(self, name: str, seconds: float) -> None:
        """Make a node's clock run ``seconds`` ahead (negative: behind) of the lab, as without NTP."""
        if name not in self.nodes:
            raise KeyError(f"no node {name!r}; nodes: {', '.join(self.nodes)}")
        self.clock_for(name).skew = seconds

    @property
    def faults(self) -> FaultEngine:
        return self.resolver.faults

    @property
    def edge(self) -> EdgeNode:
        return cast(EdgeNode, self.nodes["expressway-e"])

    @property
    def core(self) -> CoreNode:
        return cast(CoreNode, self.nodes["expressway-c"])

    @property
    def cucm(self) -> list[CucmNode]:
        """The CUCM nodes, publisher first within each cluster."""
        return [cast(CucmNode, self.nodes[name]) for name in node_names(self.lab)
                if name.startswith("cucm:") and name in self.nodes]

    @property
    def edge_port(self) -> int:
        return self.edge.running.port

    def node_names(self) -> list[str]:
        return list(self.nodes)

    def jabber(self, userid: str | None = None, password: str | None = None, seed: int | None = None) -> JabberClient:
        client = JabberClient(self.lab, self.clock, self.resolver, self.sinks["jabber"], userid, password, seed)
        client.gate = self.jabber_gate
        return client

    async def wait_sip_zone(self, timeout: float = 5.0) -> bool:
        """Wait (bounded) for Expressway-C's traversal zone to come up; False when it did not."""
        core = self.nodes.get("expressway-c")
        sip = getattr(core, "sip", None)
        if sip is None:
            return False
        try:
            return await sip.wait_status("Active", timeout)
        except TimeoutError:
            return False

    def sip_status(self) -> dict[str, object]:
        """The SIP/TLS traversal zone as each Expressway's zone page shows it, and CUCM's registered devices."""
        now = self.clock.timestamp()
        core, edge = self.nodes.get("expressway-c"), self.nodes.get("expressway-e")
        zone = getattr(core, "sip", None)
        edge_zone = getattr(getattr(edge, "sip", None), "zone", None)
        registrations = []
        for node in self.cucm:
            if node.sip is not None:
                registrations += [{"device": r.device, "user": r.user, "node": node.name, "port": r.port,
                                   "auth": r.auth, "contact": r.contact, "expires_in": int(r.expires_at - now)}
                                  for r in node.sip.state.active(now)]
        return {
            "traversal_zone": {
                "expressway-c": {"status": zone.zone.status, "reason": zone.zone.reason,
                                 "peer": zone.peer, "port": self.lab.sip.zone.port}
                if zone is not None else {"status": "Off"},
                "expressway-e": {"status": edge_zone.status, "reason": edge_zone.reason}
                if edge_zone is not None else {"status": "Off"},
            },
            "registrations": registrations,
        }

    def log_text(self, node: str) -> str:
        return self.sinks[node].text()

    async def restart(self, name: str) -> None:
        """Stop one node and start it again from the lab description, keeping its log and its state.

        A restarted Expressway-E is back when Expressway-C has dialled the zone to it again (C retries on its own)."""
        if name not in self.nodes:
            raise KeyError(f"no node {name!r}; nodes: {', '.join(self.nodes)}")
        was_active = name == "expressway-e" and self.zone_active()
        await self.nodes.pop(name).stop()
        self.nodes[name] = await self._starters()[name]()
        if was_active:
            await self.wait_zone_active()

    def zones(self) -> dict[str, dict[str, object]]:
        """The traversal zone's status on each running Expressway (:mod:`common.zone`), as ``mrasim status`` shows."""
        found = {}
        for name in ("expressway-c", "expressway-e"):
            node = self.nodes.get(name)
            if node is not None:
                found[name] = cast(CoreNode | EdgeNode, node).zone.to_json()
        return found

    def zone_active(self) -> bool:
        core = self.nodes.get("expressway-c")
        return core is not None and cast(CoreNode, core).zone.state == ACTIVE

    async def wait_zone_active(self, timeout: float = 15.0) -> bool:
        """Wait until Expressway-C's traversal zone is Active again; False if it is not within ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.zone_active():
            if loop.time() > deadline or "expressway-c" not in self.nodes:
                return False
            await asyncio.sleep(0.02)
        return True

    async def start(self, name: str) -> None:
        """Start a node that was stopped, from the lab description, with its log and state."""
        if name in self.nodes:
            raise KeyError(f"node {name!r} is already running")
        starters = self._starters()
        if name not in starters:
            raise KeyError(f"no node {name!r}; nodes: {', '.join(starters)}")
        self.nodes[name] = await starters[name]()
        if name == "expressway-e" and "expressway-c" in self.nodes:
            await self.wait_zone_active()

    async def settle(self) -> None:
        """Let the nodes finish logging the TLS handshakes a client just abandoned (before logs are read)."""
        await settle_handshakes()

    async def stop(self) -> None:
        for name in reversed(list(self.nodes)):
            await self.nodes.pop(name).stop()
        for sink in self.sinks.values():
            sink.close()
        if self._owned_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def _starters(self) -> dict[str, Callable[[], Awaitable[Node]]]:
        lab, resolver, sinks, clock = self.lab, self.resolver, self.sinks, self.clock_for
        starters: dict[str, Callable[[], Awaitable[Node]]] = {}
        for cluster in lab.clusters:
            for listener in cluster.nodes:
                starters[cluster.node_name(listener)] = self._cucm_starter(cluster, listener)
        if lab.unity is not None:
            starters["unity"] = lambda: start_unity(lab, clock("unity"), resolver, sinks["unity"])
        for imp in lab.imps:
            starters[imp.name] = lambda imp=imp: start_imp(lab, imp, clock(imp.name), resolver,  # type: ignore[misc]
                                                           sinks[imp.name])
        starters["expressway-e"] = lambda: start_edge(lab, clock("expressway-e"), resolver, sinks["expressway-e"])
        starters["expressway-c"] = lambda: start_core(lab, clock("expressway-c"), resolver, sinks["expressway-c"],
                                                      state_dir=self.state_dir / "expressway-c")
        if lab.idp is not None:
            starters["idp"] = lambda: start_idp(lab, clock("idp"), resolver, sinks["idp"], self.state_dir / "idp")
        return starters

    def _cucm_starter(self, cluster: ClusterConfig, listener: Listener) -> Callable[[], Awaitable[Node]]:
        name = cluster.node_name(listener)

        async def start() -> Node:
            node = await start_cucm(self.lab, cluster, self.clock_for(name), self.sinks[name],
                                    state_dir=self.state_dir / f"cucm-{cluster.name}", node=listener,
                                    faults=self.resolver.faults, resolver=self.resolver, tls=self.resolver.tls)
            self.resolver.bind(listener, node.running.port)
            return node

        return start


async def start_lab(lab: Lab, log_dir: Path | None = None, clock: LabClock | None = None,
                    state_dir: Path | None = None) -> RunningLab:
    """Start every node; ``state_dir`` None means a private temporary directory removed at stop."""
    owned = state_dir is None
    state = Path(tempfile.mkdtemp(prefix="mrasim-")) if state_dir is None else state_dir
    names = ["jabber", *node_names(lab)]
    sinks = {name: LineSink(log_dir / log_name(name, lab) if log_dir else None) for name in names}
    running = RunningLab(lab, clock or LabClock(), LabResolver.from_lab(lab), sinks, state, _owned_state=owned)
    try:
        running.resolver.tls = LabTls.prepare(lab, state)
    except BaseException:
        await running.stop()
        raise
    try:
        for name, start in running._starters().items():
            running.nodes[name] = await start()
        await exchange_metadata(lab, running.resolver)
    except BaseException:
        await running.stop()
        raise
    return running
