"""Run the signatures over a corpus and report: Issues Found, Missing Information, Potential Problem.

The first Issue is the root cause the analyzer stands behind: signatures are ranked by priority (specific before
generic), then by the time of their first evidence. When sessions failed and no signature explains them, a generic
issue names the step and status where the login stopped, so a failure is never reported as "no issue".
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analyzer import explain, flows, sessions as sessions_mod
from analyzer.facts import Facts
from analyzer.ingest import load
from analyzer.model import CORE, EDGE, GROUPS, ISSUE, JABBER, MISSING, POTENTIAL, Corpus, Finding, Session
from analyzer.signatures import CATALOGUE, MRA_GUIDE
from analyzer.ssosignatures import SSO_CATALOGUE
from analyzer.sipsignatures import SIP_SIGNATURES
from analyzer.transportsignatures import TRANSPORT_SIGNATURES

EVIDENCE_PER_FINDING = 6


@dataclass
class Report:
    corpus: Corpus
    sessions: list[Session]
    findings: list[Finding] = field(default_factory=list)

    @property
    def issues(self) -> list[Finding]:
        return [f for f in self.findings if f.group == ISSUE]

    @property
    def root_cause(self) -> Finding | None:
        return self.issues[0] if self.issues else None


def analyze(paths: Iterable[str | Path]) -> Report:
    """Read the paths and diagnose them: the whole pipeline in one call."""
    # Hundreds of thousands of small objects and no cycles among them: the cyclic GC would only rescan them.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return diagnose(load(paths))
    finally:
        if enabled:
            gc.enable()


def diagnose(corpus: Corpus) -> Report:
    txns = flows.build(corpus)
    found_sessions = sessions_mod.build(corpus, txns)
    facts = Facts(corpus, txns, found_sessions)
    findings: list[Finding] = []
    for signature in (*CATALOGUE, *SSO_CATALOGUE, *SIP_SIGNATURES, *TRANSPORT_SIGNATURES):
        evidence = signature.match(facts)
        if evidence:
            unique = list({id(e): e for e in evidence}.values())
            unique.sort(key=lambda e: e.time or 0.0)
            findings.append(Finding(signature.id, signature.group, signature.title, signature.root_cause,
                                    signature.fix, signature.document, signature.priority,
                                    unique[:EVIDENCE_PER_FINDING], signature.basis))
    if not any(f.group == ISSUE for f in findings):
        failed = facts.failed_sessions()
        healthy = facts.sessions and not failed and any(s.ok for s in facts.sessions)
        honest = None if healthy else explain.nothing_fits(corpus.events, corpus.nodes())
        stopped = _unexplained(facts)
        if honest is not None and stopped:
            honest.root_cause = f"{stopped[0].title}. {honest.root_cause}"
        findings.extend([honest] if honest is not None else stopped)
    findings.extend(_missing(facts))
    findings.extend(_potential(facts))
    order = {group: i for i, group in enumerate(GROUPS)}
    findings.sort(key=lambda f: (order[f.group], -f.priority, f.evidence[0].time or 0.0 if f.evidence else 0.0))
    return Report(corpus, found_sessions, findings)


def _unexplained(facts: Facts) -> list[Finding]:
    out = []
    for session in facts.failed_sessions():
        evidence = [e for m in session.messages if m.failed or (m.note and m.events and m.events[0].level == "ERROR")
                    for e in m.events][:EVIDENCE_PER_FINDING]
        status = f" with {session.status}" if session.status else ""
        out.append(Finding("login-failed-unexplained", ISSUE,
                           f"Session #{session.number} stopped at {session.stopped_at}{status}; no known signature",
                           f"The {session.kind} of {session.user or 'an unknown user'} stopped at "
                           f"{session.stopped_at}{status}, and no signature of the catalogue explains it.",
                           "Read the ladder of this session ('mrasim ladder … --session "
                           f"{session.number}') from the last successful arrow.", MRA_GUIDE, 10, evidence))
        break
    return out


def _missing(facts: Facts) -> list[Finding]:
    corpus, out = facts.corpus, []

    def add(ident: str, title: str, cause: str, fix: str, evidence: list | None = None) -> None:
        out.append(Finding(ident, MISSING, title, cause, fix, MRA_GUIDE, 50, evidence or []))

    nodes = corpus.nodes()
    forwarded = any(t.node == EDGE and (t.forwarded or "CE_C" in t.response) for t in facts.txns)
    if forwarded and CORE not in nodes:
        add("no-expressway-c-log", "No Expressway-C log", "Expressway-E forwarded requests to Expressway-C, but no "
            "Expressway-C log was given: C's calls to CUCM and its validation verdicts are unknown.",
            "Add Expressway-C's diagnostic log for the same time span.")
    if CORE in nodes and EDGE not in nodes and any(t.last_via for t in facts.txns):
        add("no-expressway-e-log", "No Expressway-E log", "Requests reached Expressway-C through an Expressway-E "
            "whose log was not given.", "Add Expressway-E's diagnostic log for the same time span.")
    if facts.failed_sessions() and JABBER not in nodes:
        add("no-jabber-log", "No Jabber log", "A login failed and there is no Jabber (csf-unified) log to show "
            "what the client saw.", "Collect a Jabber problem report covering the failed sign-in.")
    if any(e.fmt == "expressway" for e in corpus.events) \
            and not any(e.level == "DEBUG" and e.fmt == "expressway" for e in corpus.events):
        add("debug-missing", "Expressway DEBUG logging was off", "No DEBUG lines: the HTTP messages (HTTPMSG) are "
            "not in the log, so the ladder shows requests without their bodies.",
            "Run Expressway diagnostic logging (Maintenance > Diagnostics > Diagnostic logging) during the sign-in.")
    if corpus.unknown_modules:
        counts = ", ".join(f"{name} ×{n}" for name, n in sorted(corpus.unknown_modules.items())[:8])
        add("unknown-modules", "Lines from modules the analyzer does not know",
            f"Read but not interpreted: {counts}.", "Nothing to do unless the problem is in one of these modules.")
    if corpus.problems or corpus.unparsed:
        text = "; ".join(corpus.problems[:6]) + (f"; {corpus.unparsed} line(s) in no known format skipped"
                                                   if corpus.unparsed else "")
        add("unreadable-input", "Some input could not be read", text.strip("; "),
            "Check the files named; give the original logs rather than excerpts where possible.")
    return out


def _potential(facts: Facts) -> list[Finding]:
    out = []
    skews = [d for d, _ in facts.skew()]
    if skews and abs(statistics.median(skews)) > 2:
        out.append(Finding("clock-skew-measured", POTENTIAL, f"Expressway-C logs requests {statistics.median(skews):+.1f}"
                           " s after Expressway-E sent them", "The two Expressways' clocks disagree (measured over "
                           "requests joined by TrackingID).", "Check NTP on both Expressways.", MRA_GUIDE, 30, []))
    for version, event in facts.versions():
        if version < (11, 5, 1) and not any(f for f in out if f.id == "cucm-old"):
            out.append(Finding("cucm-old", POTENTIAL, f"CUCM {'.'.join(map(str, version))} is older than 11.5(1)SU3",
                               "This release has no authorization code grant or refresh tokens.",
                               "Upgrade to 11.5(1)SU3 or later for OAuth with refresh.", MRA_GUIDE, 30, [event]))
    for event in facts.corpus.events[:20000]:
        if not event.block or "TANDBERG-Video-Communication-Server/X" not in event.block:
            continue
        match = re.search(r"TANDBERG-Video-Communication-Server/X(\d+)\.(\d+)(?:\.(\d+))?", event.block)
        if match and (int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)) < (8, 10, 1):
            out.append(Finding("expressway-old", POTENTIAL, f"Expressway {match.group(0).split('/')[1]} is older than "
                               "X8.10.1", "Refresh tokens need Expressway X8.10.1 or later.", "Upgrade Expressway.",
                               MRA_GUIDE, 30, [event]))
            break
    return out


def render_text(report: Report) -> str:
    """The report an engineer reads in a terminal."""
    corpus = report.corpus
    lines = [f"Read {len(corpus.files)} file(s), {corpus.bytes_read / 1e6:.1f} MB, {len(corpus.events)} log records; "
             f"nodes: {', '.join(sorted(corpus.nodes())) or 'none'}"]
    lines.append(f"Sessions ({len(report.sessions)}):")
    for session in report.sessions:
        when = _when(session.start)
        lines.append(f"  {session.summary()}  [{when}]")
    if corpus.startup is not None:
        lines.append(f"  start-up (not a session; ladder --session 0): {len(corpus.startup.messages)} key exports and "
                     "fetches")
    markers = [e for e in corpus.events if "DEBUG_MARKER" in e.text[:200] and e.node == CORE]
    for event in markers:
        lines.append(f"  marker [{_when(event.time)}] {event.get('Detail')}")
    root = report.root_cause
    lines.append("")
    lines.append(f"Root cause: {root.title} [{root.id}]" if root else "Root cause: none — no issue found")
    for group in GROUPS:
        items = [f for f in report.findings if f.group == group]
        if not items:
            continue
        lines.append("")
        lines.append(f"== {group} ==")
        for number, finding in enumerate(items, 1):
            lines.append(f"{number}. {finding.title}  [{finding.id}]")
            lines.append(f"   Root cause: {finding.root_cause}")
            lines.append(f"   Fix: {finding.fix}")
            lines.append(f"   Source: {finding.document}" + (f" ({finding.note})" if finding.note else ""))
            for event in finding.evidence:
                lines.append(f"   > {event.where}: {event.quote(300).splitlines()[0]}")
    return "\n".join(lines) + "\n"


def render_json(report: Report) -> str:
    return json.dumps({
        "files": report.corpus.files, "problems": report.corpus.problems,
        "unknown_modules": report.corpus.unknown_modules, "records": len(report.corpus.events),
        "sessions": [{"number": s.number, "kind": s.kind, "user": s.user, "client": s.client, "outcome": s.outcome,
                      "stopped_at": s.stopped_at, "status": s.status, "start": _when(s.start)}
                     for s in report.sessions],
        "root_cause": report.root_cause.id if report.root_cause else None,
        "findings": [f.as_dict() for f in report.findings],
    }, indent=2)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "?"
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


