"""The lab: every node of a :class:`~common.config.Lab` started in one event loop on loopback.

``start_lab`` is the one way a lab comes up — for ``mrasim up``, ``mrasim run`` and the tests (ARCHITECTURE rule 5).
Nodes start inside-out (CUCM, then Expressway-C, which fetches the AuthZ keys, then Expressway-E), each on its own
listener, and register where they really listen in the lab's resolver. Each node writes its own log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common.clock import LabClock
from common.config import Lab
from common.nodelog import LineSink
from common.resolver import LabResolver
from core.node import CoreNode, start_core
from cucm_stub.app import CucmNode, start_cucm
from edge.node import EdgeNode, start_edge
from jabber.client import JabberClient

LOG_NAMES = {"expressway-e": "expressway-e.log", "expressway-c": "expressway-c.log", "cucm": "cucm.log",
             "jabber": "jabber.log"}


def log_name(node: str, lab: Lab) -> str:
    if node.startswith("cucm:"):
        cluster = node.split(":", 1)[1]
        return "cucm.log" if len(lab.clusters) == 1 else f"cucm-{cluster}.log"
    return LOG_NAMES[node]


@dataclass
class RunningLab:
    lab: Lab
    clock: LabClock
    resolver: LabResolver
    sinks: dict[str, LineSink]
    edge: EdgeNode
    core: CoreNode
    cucm: list[CucmNode] = field(default_factory=list)

    @property
    def edge_port(self) -> int:
        return self.edge.running.port

    def jabber(self, userid: str | None = None, password: str | None = None, seed: int | None = None) -> JabberClient:
        return JabberClient(self.lab, self.clock, self.resolver, self.sinks["jabber"], userid, password, seed)

    def log_text(self, node: str) -> str:
        return self.sinks[node].text()

    async def stop(self) -> None:
        await self.edge.stop()
        await self.core.stop()
        for node in self.cucm:
            await node.stop()
        for sink in self.sinks.values():
            sink.close()


async def start_lab(lab: Lab, log_dir: Path | None = None, clock: LabClock | None = None) -> RunningLab:
    clock = clock or LabClock()
    resolver = LabResolver.from_lab(lab)
    names = ["jabber", "expressway-e", "expressway-c", *(f"cucm:{c.name}" for c in lab.clusters)]
    sinks = {name: LineSink(log_dir / log_name(name, lab) if log_dir else None) for name in names}
    cucm: list[CucmNode] = []
    try:
        for cluster in lab.clusters:
            node = await start_cucm(lab, cluster, clock, sinks[f"cucm:{cluster.name}"])
            resolver.bind(cluster.listener, node.running.port)
            cucm.append(node)
        core = await start_core(lab, clock, resolver, sinks["expressway-c"])
        edge = await start_edge(lab, clock, resolver, sinks["expressway-e"])
    except BaseException:
        for node in cucm:
            await node.stop()
        raise
    return RunningLab(lab, clock, resolver, sinks, edge, core, cucm)
