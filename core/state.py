"""What Expressway-C keeps while it runs, shared by its handlers."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from aiohttp import web

from common.clock import LabClock
from common.config import ClusterConfig, CoreConfig, Lab, Listener
from common.nodelog import ExpresswayLog
from core.credentialmanager import AuthzKeyStore
from core.upstream import Upstream


@dataclass
class XAuthSession:
    """An ``X-Auth`` cookie issued after a credential (Basic) login; C keeps the credentials, the client the cookie."""

    user: str
    authorization: str
    expires: float


@dataclass
class CoreState:
    lab: Lab
    config: CoreConfig
    clock: LabClock
    log: ExpresswayLog
    upstream: Upstream
    keys: AuthzKeyStore
    codes: dict[str, str] = field(default_factory=dict)
    refresh_nodes: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, XAuthSession] = field(default_factory=dict)
    _lookups: int = 0

    def next_lookup(self) -> int:
        """Which cluster the next ``clusterUser`` lookup goes to (round robin over the discovered clusters)."""
        index = self._lookups % len(self.lab.clusters)
        self._lookups += 1
        return index

    @property
    def validator_url(self) -> str:
        return f"{self.config.validator.origin}/OAuthvalidator?reqtype=access"

    def cluster_by_host(self, host: str) -> ClusterConfig | None:
        """The cluster one of whose nodes is ``host``."""
        return next((c for c in self.lab.clusters if any(n.host == host.lower() for n in c.nodes)), None)

    @staticmethod
    def nodes_for(cluster: ClusterConfig, user: str) -> list[Listener]:
        """The cluster's nodes in the order C tries them for ``user``: a stable spread of users over the nodes,
        then the others in turn if one does not answer (modelled on a CUCM group's ordered list)."""
        nodes = list(cluster.nodes)
        first = zlib.crc32(user.encode()) % len(nodes)
        return nodes[first:] + nodes[:first]

    def cluster_by_uuid(self, uuid: str) -> ClusterConfig | None:
        return next((c for c in self.lab.clusters if c.uuid == uuid), None)


CORE_STATE = web.AppKey("core_state", CoreState)
