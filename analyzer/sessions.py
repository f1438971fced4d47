"""Login attempts: transactions grouped per client and user into sessions, each ending in an outcome and a step.

A Jabber login is a fixed sequence (mra-facts section 3, seed ``{1: get_edge_sso}`` … ``{8: OAuthvalidator}``), so a
new attempt starts where ``get_edge_sso`` (discovery) or a token refresh starts, when the user changes, or after a
pause no login has. The client is E's ``Src-ip`` (C sees only E: ``Last-via-addr``). Jabber, CUCM and IM&P lines carry
neither Txn-id nor TrackingID; they join the session whose time span holds them, after :mod:`analyzer.ingest` has put
every clock on UTC.
"""

from __future__ import annotations

import bisect
import re

from analyzer import sipladder, xmpp
from analyzer.flows import Txn
from analyzer.model import CORE, EDGE, JABBER, Corpus, Event, Message, Session

GAP = 300.0
_KEYS = re.compile(r"AuthZ keys? (?:exported|fetched|loaded)", re.I)
XMPP_AFTER = 60.0  # Jabber opens its XMPP stream seconds after get_edge_config; a minute allows a slow network
CLOCK_SLACK = 0.5  # Jabber's clock is aligned to the Expressways' only to the few milliseconds most lines agree on
STARTS = ("get_edge_sso", "refresh")
DONE = ("get_edge_config", "uds_user", "uds_devices", "refresh", "access_token")


def _status_label(status: int | None, response: str, reason: str) -> str:
    first = response.split("\n", 1)[0]
    if first.startswith("HTTP/1."):
        return first.split(" ", 1)[1]
    if status is None:
        return "(no response logged)"
    return f"{status} {reason}".strip()


def txn_messages(txn: Txn) -> list[Message]:
    """The arrows of one client-facing transaction: client → E → C → CUCM … and back."""
    out: list[Message] = []
    step, common = txn.step, {"txn": txn.txn, "tracking": txn.tracking, "user": txn.user, "client": txn.src}
    front = txn if txn.node == EDGE else None
    core = txn.peer if front else txn
    if front is not None:
        out.append(Message(JABBER, EDGE, f"{txn.method} {step}", txn.start, step=step,
                           detail=txn.request or txn.url, events=txn.events[:1], **common))
    if core is not None or (front and front.forwarded):
        c = core or txn
        label = f"{c.method or txn.method} {step}" if (core and core.url) or front else step
        out.append(Message(EDGE, CORE, label, c.start if core else txn.start, step=step,
                           detail=(core.request if core else "") or txn.forwarded or c.url,
                           events=core.events[:1] if core else [], **common))
        if core is not None:
            out.extend(core.calls)
        if core is not None and core.txn:
            out.append(Message(CORE, EDGE, _status_label(core.status, core.response, core.reason), core.end,
                               status=core.status, step=step, detail=core.response or core.reason,
                               events=core.events[-1:], **common))
    if front is not None:
        out.append(Message(EDGE, JABBER, _status_label(txn.status, txn.response, txn.reason), txn.end,
                           status=txn.status, step=step, detail=txn.response or txn.reason,
                           events=txn.events[-1:], **common))
    return out


def _front(txns: list[Txn]) -> list[Txn]:
    fronts = [t for t in txns if t.node == EDGE and t.url or t.node == CORE and t.peer is None
              and (t.url or any(c.step not in ("authz_keys", "") for c in t.calls))]
    return sorted(fronts, key=lambda t: t.start or 0.0)


def build(corpus: Corpus, txns: list[Txn]) -> list[Session]:
    """Sessions in time order, numbered from 1."""
    sessions: list[Session] = []
    current: dict[str, Session] = {}
    last_time: dict[str, float] = {}
    for txn in _front(txns):
        client = txn.src if txn.node == EDGE else (txn.last_via or txn.src or txn.host)
        step = txn.step
        if txn.node == CORE and txn.peer is None:
            joined = _join_recent(sessions, txn)
            if joined is not None:
                joined.messages.extend(txn_messages(txn))
                continue
        session = current.get(client)
        gap = txn.start is not None and txn.start - last_time.get(client, txn.start) > GAP
        new_user = bool(session and session.user and txn.user and txn.user.lower() != session.user.lower())
        if session is None or step in STARTS or gap or new_user:
            kind = "refresh" if step == "refresh" else "login" if step in ("get_edge_sso", "authorize") else "requests"
            inherited = session.user if session is not None and not new_user else ""
            session = Session(0, txn.user or inherited, client, kind)
            sessions.append(session)
            current[client] = session
        if txn.user and not session.user:
            session.user = txn.user
        session.messages.extend(txn_messages(txn))
        last_time[client] = txn.end or txn.start or last_time.get(client, 0.0)
    _attach_notes(corpus, sessions)
    sessions.sort(key=_first)
    sessions = _without_startup(corpus, sessions)
    for number, session in enumerate(sessions, 1):
        session.number = number
        _outcome(session)
    return sessions


def _is_startup(message: Message) -> bool:
    return message.step == "authz_keys" or message.note and _KEYS.search(message.label) is not None


def _without_startup(corpus: Corpus, sessions: list[Session]) -> list[Session]:
    """The nodes' start-up work — CUCM exporting its AuthZ keys, Expressway-C, IM&P and Unity fetching them — is not a
    login: it goes to ``corpus.startup`` (shown apart, ladder ``--session 0``). What a start-up-only group leaves behind
    without a client arrow of its own (a DNS note, a validator call a moment before the login) joins the login whose
    time span holds it."""
    moved: list[Message] = []
    for session in sessions:
        moved += [m for m in session.messages if _is_startup(m)]
        session.messages = [m for m in session.messages if not _is_startup(m)]
    if not moved:
        return sessions
    corpus.startup = Session(0, "", "", "start-up", moved, outcome="start-up")
    logins = sorted(((_first(s), s.end or _first(s), s) for s in sessions if s.kind in ("login", "refresh")
                     and s.messages), key=lambda x: x[0])
    login_starts = [span[0] for span in logins]
    out: list[Session] = []
    for session in sessions:
        if not session.messages:
            continue
        holder = None
        if session.kind in ("requests", "events") and \
                not any(not m.note and JABBER in (m.src, m.dst) for m in session.messages):
            start = _first(session)
            i = bisect.bisect_right(login_starts, start + 1.0) - 1
            if i >= 0 and start <= logins[i][1] + 1.0:
                holder = logins[i][2]
        if holder is not None:
            blocks: list[list[Message]] = []
            for message in session.messages:
                previous = blocks[-1][-1] if blocks else None
                if previous is None or message.time is None or previous.time is None \
                        or message.time - previous.time > 0.05:
                    blocks.append([message])
                else:
                    blocks[-1].append(message)
            holder.messages = causal_merge(holder.messages, blocks)
            continue
        out.append(session)
    return out


def _join_recent(sessions: list[Session], txn: Txn) -> Session | None:
    """A C transaction seen without its E side joins the latest session of its user that ended within a minute."""
    for session in reversed(sessions):
        end = session.end
        if end is None or txn.start is None or txn.start - end > 60:
            return None
        if not txn.user or not session.user or txn.user.lower() == session.user.lower():
            return session
    return None


def _first(session: Session) -> float:
    return next((m.time for m in session.messages if not m.note and m.time is not None), session.start or 0.0)


def note_for(event: Event) -> Message | None:
    """A Jabber, CUCM or IM&P line that is not XMPP as a note on the ladder, or ``None`` when it says nothing new."""
    if event.fmt == "csf":
        message = event.message
        if event.level in ("ERROR", "WARN", "WARNING") or "DNS query" in message or "received" in message:
            return Message(JABBER, JABBER, message[:160], event.time, detail=event.text, events=[event], note=True)
        return None
    if event.fmt == "log4j" and (event.level != "DEBUG" or "Issuing" in event.message):
        return Message(event.node, event.node, event.message[:160], event.time, detail=event.text, events=[event],
                       note=True)
    return None


def _attach_notes(corpus: Corpus, sessions: list[Session]) -> None:
    spans = sorted(((_first(s), s.end or 0.0, s) for s in sessions if s.start is not None), key=lambda x: x[0])
    starts = [span[0] for span in spans]
    leftovers: list[Message] = []
    xmpp_messages: list[Message] = []
    sip_messages: list[Message] = []
    extras: dict[int, list[list[Message]]] = {}
    for event in corpus.events:
        if event.fmt == "expressway" or event.time is None:
            continue
        found = xmpp.messages_for(event)
        if found is not None:
            xmpp_messages.extend(found)
            continue
        sip = sipladder.message_for(event)
        if sip is not None:
            sip_messages.append(sip)
            continue
        note = note_for(event)
        if note is None:
            continue
        i = bisect.bisect_right(starts, event.time) - 1
        if i > 0 and starts[i] - event.time > -0.002 and spans[i - 1][1] + 0.5 >= event.time:
            i -= 1
        if i < 0 and spans and starts[0] - event.time <= 0.5:
            i = 0
        if i >= 0 and spans[i][1] + 0.5 >= event.time:
            extras.setdefault(id(spans[i][2]), []).append([note])
        else:
            leftovers.append(note)
    edge_configs = _edge_configs(sessions)
    for attempt in xmpp.attempts(xmpp_messages):
        owner = _xmpp_owner(edge_configs, attempt)
        if owner is None:
            leftovers.extend(attempt.messages)
        else:
            extras.setdefault(id(owner), []).append(list(attempt.messages))
    sip_messages.sort(key=lambda m: m.time if m.time is not None else 0.0)
    for message in sip_messages:  # the softphone registers after the sign-in that fetched its edge config
        owners = [s for when, s in edge_configs if message.time is not None and when <= message.time]
        if owners:
            extras.setdefault(id(owners[-1]), []).append([message])
        else:
            leftovers.append(message)
    for session in sessions:
        session.messages = causal_merge(session.messages, extras.get(id(session), []))
    leftovers.sort(key=lambda m: m.time if m.time is not None else 0.0)
    group: list[Message] = []
    for note in leftovers + [None]:  # type: ignore[list-item]
        if note is not None and (not group or (note.time or 0) - (group[-1].time or 0) <= 120):
            group.append(note)
            continue
        if group and any(xmpp.is_xmpp(m) or not m.note or m.events[0].level in ("ERROR", "WARN") for m in group):
            kind = "xmpp" if any(xmpp.is_xmpp(m) for m in group) else "events"
            sessions.append(Session(0, "", "", kind, messages=group))
        group = [note] if note is not None else []


def causal_merge(skeleton: list[Message], blocks: list[list[Message]]) -> list[Message]:
    """The session's arrows in causal order (issue 12, item 4).

    The skeleton is the transactions in the order Expressway-E started them (one clock), each already laid out as
    request, the calls it caused, answer. Notes and XMPP attempts are blocks placed after the last skeleton arrow
    that is not later than them — a block never splits another, and no two nodes' clocks are compared beyond that.
    A note of a node then moves inside the call to that node it follows by less than a second (CUCM's "Authorization
    code issued" belongs between C's authorize_proxy and CUCM's answer even when CUCM's clock runs ahead)."""
    out = list(skeleton)
    for block in sorted(blocks, key=lambda b: b[0].time if b[0].time is not None else 0.0):
        when = block[0].time
        at = len(out)
        if when is not None:
            at = 0
            for i, message in enumerate(out):
                if message.time is not None and message.time <= when:
                    at = i + 1
        out[at:at] = block
    for note in [m for m in out if m.note and m.src not in (JABBER, EDGE, CORE) and m.time is not None]:
        _inside_its_call(out, note)
    return out


def _inside_its_call(out: list[Message], note: Message) -> None:
    """Move a node's note between the request to that node nearest to it in time (within a second, either side) and
    the node's answer to it: the node wrote the line while serving that request, whatever its clock says."""
    node, i = note.src, out.index(note)
    calls = [j for j, m in enumerate(out) if m.dst == node and not m.note and m.status is None and m.src != node
             and m.time is not None and abs(note.time - m.time) < 1.0]  # type: ignore[operator]
    if not calls:
        return
    j = min(calls, key=lambda c: abs(note.time - out[c].time))  # type: ignore[operator]
    answer = next((k for k in range(j + 1, len(out)) if out[k].src == node and out[k].dst == out[j].src
                   and not out[k].note), None)
    if answer is None or j < i < answer:
        return
    out.pop(i)
    if i < answer:
        answer -= 1
    out.insert(answer, note)


def _edge_configs(sessions: list[Session]) -> list[tuple[float, Session]]:
    """Where each session's client got its edge config (E → Jabber 2xx): the moment Jabber turns to XMPP."""
    out = [(m.time, s) for s in sessions for m in s.messages
           if m.step == "get_edge_config" and m.dst == JABBER and m.status is not None and m.status < 400
           and m.time is not None]
    return sorted(out, key=lambda x: x[0])


def _xmpp_owner(edge_configs: list[tuple[float, Session]], attempt: xmpp.Attempt) -> Session | None:
    """The login an XMPP attempt continues: the latest ``get_edge_config`` of the same user at most ``XMPP_AFTER``
    before it (or, failing that, just after it: Jabber-only attempts carry Jabber's clock). XCP and Jabber lines carry no client address (E's XMPP port logs none), so the address is the one
    that fetched the edge config; the user must agree when the attempt names one (the JID's local part)."""
    start, user = attempt.start, attempt.user.lower()
    fits = [s for when, s in edge_configs if start - XMPP_AFTER <= when <= start
            and (not user or not s.user or s.user.lower() == user)]
    if fits:
        return fits[-1]
    late = [s for when, s in edge_configs if start < when <= start + CLOCK_SLACK
            and (not user or not s.user or s.user.lower() == user)]
    return late[0] if late else None


def _outcome(session: Session) -> None:
    client_side = [m for m in session.messages if m.dst == JABBER and not m.note]
    if not client_side:
        client_side = [m for m in session.messages if m.dst == EDGE and m.src == CORE]
    failed = next((m for m in client_side if m.failed), None)
    if failed is not None:
        session.outcome, session.stopped_at, session.status = "failed", failed.step, failed.status
        return
    error = next((m for m in session.messages if m.src == JABBER and m.note and m.events
                  and m.events[0].level == "ERROR"), None)
    if error is not None:
        session.outcome, session.stopped_at = "failed", error.step or "client"
        return
    steps = [m.step for m in client_side if m.status is not None and m.status < 400]
    if session.kind == "xmpp":
        session.outcome = "incomplete"
        session.stopped_at = "xmpp"
    elif any(step in DONE for step in steps):
        session.outcome = "succeeded"
        session.stopped_at = steps[-1]
    else:
        session.stopped_at = steps[-1] if steps else (session.messages[-1].step if session.messages else "")
    if session.user == "" and session.messages:
        session.user = next((m.user for m in session.messages if m.user), "")

