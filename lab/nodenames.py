"""The lab's node names and their log files: what a lab runs, without importing any node.

Kept apart from :mod:`lab.running` (which imports every node to start them) so that a node process of
``mrasim up --processes`` can name itself and its log while importing only its own node (issue 18: start-up time).
"""

from __future__ import annotations

from common.labmodel import Lab

LOG_NAMES = {"expressway-e": "expressway-e.log", "expressway-c": "expressway-c.log", "jabber": "jabber.log",
             "unity": "unity.log", "idp": "idp.log"}


def log_name(node: str, lab: Lab) -> str:
    if node.startswith("imp:"):
        return "imp.log" if len(lab.imps) == 1 else f"imp-{node.split(':', 1)[1]}.log"
    if node.startswith("cucm:"):
        parts = node.split(":")
        if len(parts) == 3:
            return f"{parts[2]}.log"
        return "cucm.log" if len(lab.clusters) == 1 else f"cucm-{parts[1]}.log"
    return LOG_NAMES[node]


def node_names(lab: Lab) -> list[str]:
    """Every node the lab runs, in start order: CUCM nodes (publisher first), IM&P, Unity, Expressway-E, then
    Expressway-C, which dials the traversal zone to E as it starts, and the SAML IdP when the lab has one."""
    cucm = [cluster.node_name(node) for cluster in lab.clusters for node in cluster.nodes]
    unity = ["unity"] if lab.unity is not None else []
    idp = ["idp"] if lab.idp is not None else []
    return [*cucm, *(imp.name for imp in lab.imps), *unity, "expressway-e", "expressway-c", *idp]


def servable(name: str) -> bool:
    """The nodes ``mrasim serve`` can run alone."""
    return name in ("expressway-e", "expressway-c", "idp") or name.startswith(("cucm:", "imp:"))
