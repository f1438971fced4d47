"""The live ladder: a running lab's log records → the analyzer's arrows → rows the page draws, numbered as
``mrasim run`` numbers them.

Nothing here re-derives the order of a login: the records go through the analyzer exactly as log files would
(:func:`analyzer.ingest.load_texts`, :func:`analyzer.flows.build`, :func:`analyzer.sessions.build`), which pairs each
request with its answer and puts the arrows in causal order. This module adds only what a trainee needs on top:

* the numbering of ``mrasim run``'s table and docs/flow.md (:mod:`lab.runner`): each Jabber request gets the next
  number, and so does each call Expressway-C makes on its behalf unless it has the request's own name (C's leg of
  ``access_token`` is ``↳ access_token`` under ``{7: access_token}``); answers carry their request's number;
* for every arrow, the request and the answer side by side, and the exact lines it wrote in each product's log:
  the Expressways' lines tied by ``Txn-id`` and ``TrackingID``, and for the products that log neither (Jabber, CUCM,
  IM&P) the lines written while that transaction or call was open;
* the lanes, from the lab's own nodes, so a node added to the lab (the IdP, a SIP peer) gets its lane.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from analyzer import flows, sessions as sessions_mod
from analyzer.diagnose import Report, diagnose
from analyzer.ingest import load_texts
from analyzer.model import CORE, CUCM, EDGE, IMP, JABBER, NODE_ORDER, UNITY, ZONES, Corpus, Event, Message, Session
from lab.events import LogRecord
from lab.runner import INTERNAL_NAMES

IDP, SIP = "IdP", "SIP peer"
# Lab node name (or its prefix before ":") → lane. A node the table does not know gets a lane of its own name.
LANE_OF_NODE = {"jabber": JABBER, "expressway-e": EDGE, "expressway-c": CORE, "cucm": CUCM, "imp": IMP,
                "unity": UNITY, "idp": IDP, "sip": SIP}
LANE_ORDER = (JABBER, IDP, EDGE, CORE, CUCM, IMP, UNITY, SIP)
ZONE_OF_LANE = {**ZONES, IDP: "Internet", SIP: "Internet"}
ZONE_TITLES = {"Internet": "Internet", "DMZ": "DMZ", "Internal": "Inside"}
EXPRESSWAYS = (EDGE, CORE)
MAX_DETAIL = 6000


def lane_for(node: str) -> str:
    return LANE_OF_NODE.get(node.split(":", 1)[0], node)


def lanes(nodes: Iterable[str], used: Iterable[str] = ()) -> list[dict[str, str]]:
    """The lanes for a lab's nodes (and any lane an arrow uses), left to right as a request travels."""
    names = {lane_for(node) for node in nodes} | set(used) | {JABBER}
    ordered = [lane for lane in LANE_ORDER if lane in names] + sorted(names - set(LANE_ORDER))
    return [{"name": lane, "zone": ZONE_TITLES.get(ZONE_OF_LANE.get(lane, "Internal"), "Inside")}
            for lane in ordered]


@dataclass
class Ladder:
    corpus: Corpus
    sessions: list[Session]
    rows: list[dict[str, object]]
    report: Report | None = None

    @property
    def broke(self) -> int | None:
        """The row where the login broke: in the first session whose answer to Jabber failed, the first failed
        answer (CUCM's 401, not the 401 E relays), which is where it happened."""
        failed = [r for r in self.rows if r.get("failed")]
        to_client = [r for r in failed if r["dst"] == JABBER]
        first = (to_client or failed or [None])[0]
        if first is None:
            return None
        origin = next(r for r in failed if r["session"] == first["session"])
        return int(origin["i"])  # type: ignore[call-overload]


def corpus_of(records: Iterable[LogRecord]) -> Corpus:
    by_log: dict[str, list[str]] = {}
    for record in records:
        by_log.setdefault(record.log, []).append(record.text)
    return load_texts((name, ("\n".join(texts) + "\n").encode()) for name, texts in by_log.items())


def build(records: Iterable[LogRecord], final: bool = False) -> Ladder:
    """The ladder of everything recorded so far; ``final`` also runs the diagnosis (``mrasim diagnose``)."""
    records = list(records)
    corpus = corpus_of(records)
    report = diagnose(corpus) if final else None
    txns = flows.build(corpus)
    found = report.sessions if report is not None else sessions_mod.build(corpus, txns)
    idp_lines = _idp_events(records)
    for session in found:
        _add_browser_hops(session, corpus, idp_lines)
    rows: list[dict[str, object]] = []
    for session in found:
        rows.append({"i": len(rows), "kind": "session", "title": session.summary(), "session": session.number,
                     "n": None, "failed": False, "src": "", "dst": ""})
        _session_rows(session, txns, corpus, rows)
    return Ladder(corpus, found, rows, report)


def _idp_events(records: Iterable[LogRecord]) -> list[Event]:
    """The IdP's own lines, kept as written (the analyzer does not read its log yet): evidence for the browser hops."""
    out, number = [], 0
    for record in records:
        if lane_for(record.node) == IDP:
            number += 1
            out.append(Event(IDP, record.node, "idp", None, "INFO", {"message": record.text}, record.text,
                             record.log, number))
    return out


def _add_browser_hops(session: Session, corpus: Corpus, idp_lines: list[Event]) -> None:
    """Jabber's embedded browser at the SAML IdP (``idp_sso``, ``idp_login``), which ``mrasim run`` numbers and the
    analyzer does not draw yet: placed where Jabber's csf-unified.log says the browser went (its navigation lines
    are on the analyzer's aligned clock), answered when the browser moved on to the edge with the SAML response."""
    start, end = session.start, session.end
    if start is None or end is None:
        return
    navigations = [e for e in corpus.events if e.fmt == "csf" and e.time is not None and start <= e.time <= end + 1
                   and e.message.startswith("url = ")]
    added: list[Message] = []
    for i, nav in enumerate(navigations):
        if not nav.message.endswith("(IdP)"):
            continue
        url = nav.message[len("url = "):-len(" (IdP)")]
        t = nav.time or 0.0
        added.append(Message(JABBER, IDP, "GET idp_sso", t, step="idp_sso", detail=f"GET {url}", events=[nav],
                             note=False))
        done = next((n for n in navigations[i + 1:] if n.message.endswith("(SAML response to the edge)")), None)
        if done is None:
            continue
        t2 = (done.time or t) - 0.0002
        added.append(Message(IDP, JABBER, "200 sign-in page", t + 0.0001, status=200, step="idp_sso",
                             detail="HTTP/1.1 200 OK (the IdP's sign-in form)", events=idp_lines[:1]))
        added.append(Message(JABBER, IDP, "POST idp_login", t + 0.0002, step="idp_login",
                             detail=f"POST {url} (j_username, j_password=<CONCEALED>)", events=[]))
        added.append(Message(IDP, JABBER, "200 SAMLResponse form", t2, status=200, step="idp_login",
                             detail="HTTP/1.1 200 OK (an HTTP-POST form carrying the signed SAMLResponse to the "
                                    "edge)", events=idp_lines[1:] + [done]))
    if added:
        session.messages.extend(added)
        session.messages.sort(key=lambda m: m.time if m.time is not None else 0.0)


def _session_rows(session: Session, txns: list[flows.Txn], corpus: Corpus, rows: list[dict[str, object]]) -> None:
    number, step, step_number = 0, "", 0
    numbered: dict[int, tuple[int | None, bool]] = {}  # request index → (number, shown under its client step)
    enclosing: Message | None = None
    messages = session.messages
    for index, message in enumerate(messages):
        n: int | None
        if message.note:
            n, sub = None, False
        elif message.status is not None:
            request = _request_of(messages, index)
            n, sub = numbered.get(request, (number, False)) if request is not None else (number, False)
        elif message.src == JABBER:
            number += 1
            n, sub, step, enclosing = number, False, message.step, message
            step_number = number
        elif message.src == EDGE:  # E → C: the same hop as the client's request it relays
            n, sub = number, False
        else:  # a call Expressway-C (or another inside node) makes on the client's behalf
            sub = _runner_name(message) == step
            if not sub:
                number += 1
            n = step_number if sub else number
        if message.status is None and not message.note:
            numbered[index] = (n, sub)
        rows.append(_row(len(rows), session, message, n, sub, index, enclosing, txns, corpus))


def _runner_name(message: Message) -> str:
    """The name ``mrasim run`` gives an internal call (``/cucm-uds/clusterUser`` → ``edgeconfigprovision``)."""
    path = message.label.split(" ", 1)[-1].split("?", 1)[0]
    return INTERNAL_NAMES.get(path, message.step or path)


def _request_of(messages: list[Message], index: int) -> int | None:
    """The request an answer answers: the latest unanswered arrow the other way with the same step."""
    answer = messages[index]
    for j in range(index - 1, -1, -1):
        m = messages[j]
        if m.note or m.status is not None:
            continue
        if m.src == answer.dst and m.dst == answer.src and (m.step == answer.step or not answer.step):
            return j
    return None


def _clock(stamp: float | None) -> str:
    if stamp is None:
        return ""
    return dt.datetime.fromtimestamp(stamp, dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def _row(i: int, session: Session, message: Message, n: int | None, sub: bool, index: int,
         enclosing: Message | None, txns: list[flows.Txn], corpus: Corpus) -> dict[str, object]:
    pair = _pair(session.messages, index)
    request, answer = (message, pair) if message.status is None else (pair, message)
    return {
        "i": i, "kind": "note" if message.note else "arrow", "session": session.number, "n": n, "sub": sub,
        "src": message.src, "dst": message.dst, "label": message.label, "step": message.step,
        "name": message.step if message.src in (JABBER, EDGE) or message.note else _runner_name(message),
        "status": message.status, "failed": message.failed, "reply": message.status is not None,
        "time": _clock(message.time), "txn": message.txn, "tracking": message.tracking,
        "request": _cut(request.detail) if request is not None else "",
        "answer": _cut(answer.detail) if answer is not None else "",
        "logs": _logs(message, pair, enclosing, txns, corpus),
    }


def _pair(messages: list[Message], index: int) -> Message | None:
    message = messages[index]
    if message.note:
        return None
    if message.status is not None:
        j = _request_of(messages, index)
        return messages[j] if j is not None else None
    for later in messages[index + 1:]:
        if later.status is not None and later.src == message.dst and later.dst == message.src \
                and (later.step == message.step or not later.step):
            return later
    return None


def _cut(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL] + "\n… (cut; the log holds the rest)"


def _line(event: Event, tie: str) -> dict[str, object]:
    log, _, line = event.where.rpartition(":")
    return {"log": log, "line": int(line) if line.isdigit() else 0, "node": event.node, "text": event.text,
            "tie": tie}


def _logs(message: Message, pair: Message | None, enclosing: Message | None, txns: list[flows.Txn],
          corpus: Corpus) -> list[dict[str, object]]:
    """The lines this arrow wrote, in log order per product, each saying what ties it to the arrow."""
    chosen: dict[int, tuple[Event, str]] = {}
    own = message if message.txn or message.tracking else enclosing if not message.note else None
    for event in message.events + (pair.events if pair is not None else []):
        chosen[id(event)] = (event, "this arrow")
    if own is not None and (own.txn or own.tracking):
        ids = set()
        for txn in txns:
            if own.tracking and txn.tracking == own.tracking or txn.node == EDGE and own.txn and txn.txn == own.txn:
                ids.add((txn.node, txn.txn))
                for event in txn.events:
                    chosen.setdefault(id(event), (event, f"Txn-id {txn.txn}" + (
                        f" · TrackingID {txn.tracking}" if txn.tracking else "")))
        for event in corpus.events:
            if event.node in EXPRESSWAYS and (event.node, event.get("Txn-id")) in ids:
                chosen.setdefault(id(event), (event, f"Txn-id {event.get('Txn-id')}"))
    span = _span(message, pair)
    if span is not None and not message.note:
        start, end = span
        for event in corpus.events:
            if event.node not in EXPRESSWAYS and event.time is not None and start - 0.0005 <= event.time <= end + 0.0005:
                chosen.setdefault(id(event), (event, f"written while this exchange was open ({event.node} logs no "
                                                     "Txn-id)"))
    order = {lane: i for i, lane in enumerate(NODE_ORDER)}
    picked = sorted(chosen.values(), key=lambda x: (order.get(x[0].node, 99), x[0].source, x[0].line))
    return [_line(event, tie) for event, tie in picked]


def _span(message: Message, pair: Message | None) -> tuple[float, float] | None:
    times = [m.time for m in (message, pair) if m is not None and m.time is not None]
    return (min(times), max(times)) if len(times) == 2 else None


def diagnosis(ladder: Ladder) -> dict[str, object] | None:
    """``mrasim diagnose``'s first issue: title, cause, fix, source and evidence lines."""
    if ladder.report is None or ladder.report.root_cause is None:
        return None
    return ladder.report.root_cause.as_dict()


def runner_numbers(rows: list[dict[str, object]]) -> list[tuple[int, str]]:
    """``(number, name)`` per numbered request, as ``mrasim run`` prints them: what the tests compare with."""
    out = []
    seen = set()
    for row in rows:
        if row["kind"] != "arrow" or row["reply"] or row["n"] is None or row["sub"]:
            continue
        key = (row["session"], row["n"])
        if key in seen:
            continue
        seen.add(key)
        name = row["step"] if row["src"] == JABBER else _runner_name(
            Message(str(row["src"]), str(row["dst"]), str(row["label"]), None, step=str(row["step"])))
        out.append((int(row["n"]), str(name)))  # type: ignore[call-overload]
    return out
