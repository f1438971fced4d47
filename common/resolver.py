"""The lab's own DNS: host names to loopback listeners, and the SRV records Jabber looks up, in two views.

Real nodes find each other by name (``cucm.lab.example:8443``). In the lab every name resolves to a loopback
listener, so a request to ``http://cucm.lab.example:8443/cucm-uds/servers`` is carried to, say, ``127.0.0.1:18445``
while its ``Host`` header and every log line keep the real name. The same table answers
``_collab-edge._tls.<domain>`` for the client, which is how Jabber discovers Expressway-E from outside.

Split-horizon DNS, as MRA needs it (Cisco Expressway MRA Deployment Guide, "DNS records"; Jabber Planning Guide,
"Service discovery"): the **public** view — what Jabber sees outside — has ``_collab-edge._tls.<domain>`` and
Expressway-E's A record and nothing of the inside; the **internal** view — what the Expressways and the servers see —
has ``_cisco-uds._tcp.<domain>`` and every host. A lab file's ``[dns]`` takes records out of either view, so a
scenario can lose the SRV record or E's A record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from common.config import DnsConfig, Lab, Listener, SrvRecord
from common.faults import FaultEngine

if TYPE_CHECKING:
    from common.tls import LabTls


class NameError_(LookupError):
    """NXDOMAIN: the lab knows no such name (or no listener on that port)."""


class LabResolver:
    """The lab's network as the nodes see it: names, listeners, and the faults injected between them."""

    def __init__(self, srv: Iterable[SrvRecord] = (), faults: FaultEngine | None = None) -> None:
        self._listeners: dict[tuple[str, int], tuple[str, int]] = {}
        self._names: dict[tuple[str, int], str] = {}
        self._owners: dict[tuple[str, int], str] = {}
        self._aliases: dict[str, tuple[str, ...]] = {}
        self._srv: dict[str, list[SrvRecord]] = {}
        self.faults = faults or FaultEngine()
        self.dns = DnsConfig()
        self._public: set[str] | None = None  # None: no views (a resolver made without a lab answers everything)
        self._internal_srv: dict[str, list[SrvRecord]] = {}
        self.tls: LabTls | None = None  # the lab's TLS material; None: plain TCP on every hop
        for record in srv:
            self._srv.setdefault(record.name.lower(), []).append(record)

    @classmethod
    def from_lab(cls, lab: Lab) -> LabResolver:
        resolver = cls(lab.srv)
        resolver.dns = lab.dns
        edge = lab.edge.listener.host.lower()
        # The IdP is public too: a remote user's browser must reach it (SAML SSO over the edge, docs/sso.md).
        idp = [lab.idp.listener.host.lower()] if lab.idp is not None else []
        resolver._public = {edge, *(a.lower() for a in lab.edge.aliases), *idp} - set(lab.dns.omit_public)
        uds = f"_cisco-uds._tcp.{lab.domain}"
        if uds not in lab.dns.omit_internal:
            resolver._internal_srv[uds] = [SrvRecord(uds, c.listener.host, c.listener.port, 1, 10)
                                           for c in lab.clusters]
        resolver._aliases[lab.edge.listener.host.lower()] = tuple(a.lower() for a in lab.edge.aliases)
        owners = lab.owners()
        for name, listener in lab.listeners().items():
            resolver.bind(listener)
            resolver._names[(listener.host.lower(), listener.port)] = name
            resolver._owners[(listener.host.lower(), listener.port)] = owners.get(name, name)
        return resolver

    def node_name(self, host: str, port: int) -> str:
        """The lab's name for the node at ``host:port`` (``expressway-c``, ``cucm:cluster1`` …), else the host."""
        return self._names.get((host.lower(), port), host)

    def owner(self, host: str, port: int) -> str:
        """The node that listens at ``host:port``: ``imp:imp`` for its XCP port ``imp:imp:xcp``, else the node name."""
        return self._owners.get((host.lower(), port)) or self.node_name(host, port)

    def bind(self, listener: Listener, listen_port: int | None = None) -> None:
        """Record where ``listener`` really is; ``listen_port`` overrides a port chosen at bind time."""
        port = listener.listen_port if listen_port is None else listen_port
        for host in (listener.host.lower(), *self._aliases.get(listener.host.lower(), ())):
            self._listeners[(host, listener.port)] = (listener.address, port)

    def private_view(self) -> LabResolver:
        """An empty table sharing this lab's node names and faults: what one node alone can reach.

        Expressway-E gets one: it has no route to Expressway-C, CUCM or IM&P, only the loopback port of the tunnel
        Expressway-C opened, bound here under C's name while the tunnel is up (:mod:`edge.tunnel`).
        """
        view = LabResolver(faults=self.faults)
        view._names, view._owners = self._names, self._owners
        view.tls = self.tls
        return view

    def unbind(self, host: str, port: int) -> None:
        self._listeners.pop((host.lower(), port), None)

    def locate(self, host: str, port: int, view: str = "internal") -> tuple[str, int]:
        """Where ``host:port`` listens, if ``view`` (``public`` or ``internal``) has an A record for ``host``."""
        name = host.lower()
        if view == "public" and self._public is not None and name not in self._public:
            raise NameError_(f"{host} has no A record in the public DNS")
        if self.dns.omit_internal and view == "internal" and name in self.dns.omit_internal:
            raise NameError_(f"{host} has no A record in the internal DNS")
        try:
            address, listen_port = self._listeners[(host.lower(), port)]
        except KeyError:
            raise NameError_(f"{host}:{port} is not in the lab's DNS") from None
        if listen_port == 0:
            raise NameError_(f"{host}:{port} is not listening yet")
        return address, listen_port

    def srv(self, name: str, view: str = "public") -> list[SrvRecord]:
        """SRV answers ordered by priority, then by weight (RFC 2782, without the random draw)."""
        key = name.lower().rstrip(".")
        if view == "public":
            records = [] if key in self.dns.omit_public else self._srv.get(key, [])
        else:
            records = self._internal_srv.get(key, [])
        if not records:
            raise NameError_(f"no SRV record for {name}")
        return sorted(records, key=lambda r: (r.priority, -r.weight))
