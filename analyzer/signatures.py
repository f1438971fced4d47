"""Diagnostic signatures: the knowledge base (:mod:`analyzer.knowledge`) made runnable over a corpus.

An entry is recognised by its Python matcher (:mod:`analyzer.matchers`, for the lab's catalogue, whose symptoms span
transactions and sessions) and by its symptom regexes (for the field's logs: a line as Jabber, an Expressway, CUCM,
IM&P or Unity writes it). Either finds evidence; both are looked for. ``priority`` orders the Issues Found: a specific
symptom (``No matching AuthZ key``) outranks a generic one (``401 at access_token``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analyzer import knowledge
from analyzer.facts import Facts
from analyzer.matchers import MATCHERS
from analyzer.model import ISSUE, Event

SEED = "Understanding OAuth and MRA (Cisco Community, A. Okanlawon, 2020) — the seed article"
MRA_GUIDE = "Mobile and Remote Access Through Cisco Expressway Deployment Guide (X14), 'OAuth token authorization'"
LAB = "checked on the logs of the mrasim catalogue scenario of the same name"
FACTS_ONLY = "not produced by the lab yet: built from mra-facts.md section 9 and the seed"
FIELD = "written from the real log lines of its source document"
BASIS = {"lab": LAB, "facts": FACTS_ONLY, "field": FIELD}


@dataclass(frozen=True)
class Signature:
    id: str
    group: str
    title: str
    root_cause: str
    fix: str
    document: str
    priority: int
    match: Callable[[Facts], list[Event]]
    basis: str = LAB
    entry: knowledge.Entry | None = None


def symptoms_found(entry: knowledge.Entry, facts: Facts) -> list[Event]:
    """Records showing one of the entry's symptoms (in the product that writes it), when its ``requires`` hold."""
    found: list[Event] = []
    for symptom in entry.symptoms:
        found.extend(facts.search(symptom.pattern, symptom.nodes))
    if found and entry.requires and not all(facts.search(pattern) for pattern in entry.requires):
        return []
    return found


def _runner(entry: knowledge.Entry) -> Callable[[Facts], list[Event]]:
    matcher = MATCHERS.get(entry.matcher) if entry.matcher else None
    if entry.matcher and matcher is None:
        raise knowledge.KnowledgeError(f"analyzer/knowledge/{entry.topic}.toml, entry {entry.id!r}: no matcher "
                                       f"{entry.matcher!r} in analyzer/matchers.py")

    def run(facts: Facts) -> list[Event]:
        found = matcher(facts) if matcher is not None else []
        return found + symptoms_found(entry, facts) if entry.symptoms else found
    run.__name__ = entry.matcher or entry.id
    return run


def _signature(entry: knowledge.Entry) -> Signature:
    return Signature(entry.id, ISSUE, entry.title, entry.root_cause, entry.fix, entry.document, entry.priority,
                     _runner(entry), BASIS.get(entry.basis, FIELD), entry)


CATALOGUE: tuple[Signature, ...] = tuple(_signature(entry) for entry in knowledge.load())

CATALOGUE_NAMES = (
    "healthy-login", "oauthlocal-off", "keys-regenerated-c-not-refreshed", "authz-keys-differ-across-nodes",
    "refresh-disabled-on-cucm", "refresh-token-expired", "refresh-token-revoked", "issuing-subscriber-down-at-refresh",
    "expired-token-replay-blocked", "clock-skew-e-c", "wrong-password-credentials", "wrong-password-oauth",
    "user-not-found", "no-home-cluster", "ils-missing-two-clusters", "domain-not-configured", "srv-target-mismatch",
    "internal-auth-check-mixed-capability", "mra-disabled-in-profile", "cucm-too-old-for-code-grant",
    "ssh-tunnel-down", "http-allow-list-missing", "imp-realm-stale", "xmpp-bind-conflict", "user-id-case-mismatch",
    "ssh-tunnel-credentials-wrong", "ssh-tunnel-port-blocked", "xcp-dual-nic-wrong-interface",
)
