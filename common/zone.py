"""A Unified Communications traversal zone's status, as both Expressways' *Status > Zones* pages show it.

Expressway-C is the traversal client: it opens the SSH tunnel to Expressway-E's TCP 2222 (E's traffic server sends
the HTTP requests through it), the XCP link to E's 7400, and the SIP/TLS zone on 7001. Expressway-E is the traversal
server and only ever accepts. Each end keeps a :class:`ZoneStatus` with one :class:`LinkStatus` per link; the zone is
``Active`` when every configured link is, otherwise ``Failed`` with the first failing link's reason (the real page
shows e.g. "Failed" with "Connection refused"; the reason texts here are modelled, see docs/transport.md).

Both nodes render the same shape (this module is in ``common`` because E and C never import each other); the lab's
control API collects it (``mrasim status``), from the running nodes in one process or from the JSON each node writes
under the lab's state directory with ``up --processes``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ZONE_TYPE = "Unified Communications traversal"
ACTIVE, FAILED, CHECKING = "Active", "Failed", "Checking"
SSH_TUNNEL, XCP, SIP = "SSH tunnel", "XCP", "SIP"

# The SSH tunnel's ciphers, in the order both ends prefer them. asyncssh would pick chacha20-poly1305 first, which it
# runs as two ChaCha20 contexts and a Poly1305 per packet, driven from Python; AES-GCM is one AEAD call into
# OpenSSL (RFC 5647; OpenSSH's ``aes128-gcm@openssh.com``) and halved the tunnel's CPU per round trip (issue 18,
# docs/performance.md). The rest stay offered so that a peer without AES-GCM still gets a tunnel.
TUNNEL_ENCRYPTION = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
                     "aes128-ctr", "aes256-ctr")


@dataclass
class LinkStatus:
    """One link of the zone: ``name`` (SSH tunnel, XCP, SIP), its nominal ``port`` and its state."""

    name: str
    port: int
    state: str = CHECKING
    reason: str = ""
    connections: int = 0
    since: str = ""

    @property
    def text(self) -> str:
        return f"{self.state}: {self.reason}" if self.state == FAILED and self.reason else self.state


@dataclass
class ZoneStatus:
    """The zone as one Expressway sees it; ``role`` is ``traversal client`` (C) or ``traversal server`` (E)."""

    node: str
    name: str
    role: str
    peer: str
    links: dict[str, LinkStatus] = field(default_factory=dict)
    on_change: Callable[[ZoneStatus], None] | None = field(default=None, repr=False, compare=False)

    def link(self, name: str, port: int) -> LinkStatus:
        return self.links.setdefault(name, LinkStatus(name, port))

    def set(self, name: str, state: str, reason: str = "", *, connections: int | None = None,
            since: str = "") -> None:
        """Record a link's state; the ``on_change`` hook (e.g. :func:`file_writer`) runs when anything moved."""
        link = self.links[name]
        before = (link.state, link.reason, link.connections)
        link.state, link.reason = state, reason if state != ACTIVE else ""
        if connections is not None:
            link.connections = connections
        if (link.state, link.reason, link.connections) != before:
            link.since = since or link.since
            if self.on_change is not None:
                self.on_change(self)

    @property
    def state(self) -> str:
        states = [link.state for link in self.links.values()]
        if states and all(s == ACTIVE for s in states):
            return ACTIVE
        return FAILED if FAILED in states else CHECKING

    @property
    def reason(self) -> str:
        return next((f"{link.name}: {link.reason}" for link in self.links.values()
                     if link.state == FAILED and link.reason), "")

    def to_json(self) -> dict[str, Any]:
        return {"zone": self.name, "type": ZONE_TYPE, "role": self.role, "peer": self.peer,
                "status": self.state, "reason": self.reason,
                "links": {name: asdict(link) for name, link in self.links.items()}}


def render(node: str, data: dict[str, Any]) -> list[str]:
    """The zone as text lines for ``mrasim status``, in the order of the product's zone status page."""
    status = data.get("status", "?")
    shown = f"{status}: {data['reason']}" if status == FAILED and data.get("reason") else status
    lines = [f"  {node}: zone {data.get('zone', '?')!r} ({data.get('type', ZONE_TYPE)}, {data.get('role', '')}) "
             f"peer {data.get('peer', '?')}: {shown}"]
    for link in data.get("links", {}).values():
        state = f"{link['state']}: {link['reason']}" if link.get("reason") else link.get("state", "?")
        lines.append(f"    {link['name']:<11} {link['port']:<5} {state}"
                     + (f" ({link['connections']} connection{'s' if link['connections'] != 1 else ''})"
                        if link.get("connections") else ""))
    return lines


def file_writer(path: Path) -> Callable[[ZoneStatus], None]:
    """An ``on_change`` hook that keeps the zone's JSON in ``path`` (atomically), for ``up --processes``."""

    def write(zone: ZoneStatus) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(zone.to_json(), indent=2))
        temp.replace(path)

    return write


def read_file(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
