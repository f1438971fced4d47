"""The XMPP part of a sign-in as arrows: Jabber ↔ E (stream, SASL, bind), E ↔ C and C ↔ IM&P (the xdb SASL get/set).

After ``get_edge_config`` Jabber opens an XMPP stream to Expressway-E's XMPP port; E's connection manager asks C's XCP
router for the SASL mechanisms (an ``xdb`` get in ``ns='http://jabber.com/protocol/sasl'``), C routes it to IM&P's auth
component, and the answer comes back as the stream features Jabber sees; then the ``auth`` (xdb set) and the resource
bind (mra-facts section 3, the seed's XMPP excerpt). Each node logs its own side: Jabber's ``csf.jwcpp`` lines what it
sent and received, E's ``XCP_JABBERD`` ``Got Buffer`` lines the xdb packets on the traversal link, C's ``DELIVER``
lines where its router sent each packet, IM&P's ``xcp.*`` lines its verdicts. None of them carries an HTTP Txn-id, a
TrackingID or the client's address, so the lines of one attempt are held together by the xdb id E gives it
(``jtx_10392``, which C prefixes: ``conauth765380-jtx_10392``) and by time, and :mod:`analyzer.sessions` hands the
attempt to the login whose ``get_edge_config`` preceded it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analyzer.model import CORE, EDGE, IMP, JABBER, Event, Message

STREAM, SASL, BIND = "xmpp stream", "xmpp sasl", "xmpp bind"
_MECHS = re.compile(r"<mechanism>([^<]+)</mechanism>")
_AUTH = re.compile(r"""<auth[^>]*mechanism=['"]([^'"]+)['"]""")
_XDB_TYPE = re.compile(r"<xdb [^>]*type='(\w+)'")
_JTX = re.compile(r"jtx_\d+")
_USER = re.compile(r"<jid>([^@<]+)@|(?:for|as|by) ([^@\s<]+)@")
_FAILURE = re.compile(r"<failure[^>]*>(?:<([\w-]+))?")
_BIND_JID = re.compile(r"<jid>([^<]+)</jid>")
IMPLIED = "(not logged by Jabber; implied by its answer)\n"


def is_xmpp(message: Message) -> bool:
    """XMPP steps travel as one attempt, not by the HTTP session's time span (their lines have no Txn-id)."""
    return message.step.startswith("xmpp")


def messages_for(event: Event) -> list[Message] | None:
    """The XMPP arrows and notes one line stands for; ``None`` when the line is not XMPP, ``[]`` when it adds nothing."""
    if event.fmt == "xcp":
        return _xcp(event)
    if event.fmt == "csf" and ("XmppSDK" in event.message or "XMPP connection state" in event.message):
        return _jabber(event)
    if event.fmt == "log4j" and event.node == IMP and event.get("category").startswith("xcp.") \
            and ("@" in event.message or "stream" in event.message):
        return _imp(event)
    return None


def _arrow(src: str, dst: str, label: str, event: Event, step: str, status: int | None = None,
           detail: str = "") -> Message:
    return Message(src, dst, label, event.time, status=status, step=step, detail=detail or event.text,
                   events=[event])


def _note(event: Event, text: str, step: str) -> Message:
    return Message(event.node, event.node, text[:160], event.time, step=step, detail=event.text, events=[event],
                   note=True)


def _answer(src: str, dst: str, detail: str, event: Event) -> Message:
    """An xdb result (or error) travelling back: the mechanisms offered, SASL success, or SASL failure."""
    if "<mechanisms>" in detail:
        return _arrow(src, dst, f"mechanisms [{', '.join(_MECHS.findall(detail))}]", event, STREAM, 200, detail)
    if "<success" in detail:
        return _arrow(src, dst, "SASL success", event, SASL, 200, detail)
    failure = _FAILURE.search(detail)
    if failure or "type='error'" in detail:
        reason = failure.group(1) if failure and failure.group(1) else "error"
        return _arrow(src, dst, f"SASL failure ({reason})", event, SASL, 401, detail)
    return _arrow(src, dst, "xdb result", event, STREAM, 200, detail)


def _request(src: str, dst: str, detail: str, event: Event) -> Message:
    """An xdb get (which SASL mechanisms for this JID?) or set (``auth`` with the mechanism Jabber chose)."""
    auth = _AUTH.search(detail)
    if auth:
        return _arrow(src, dst, f"xdb set: SASL auth {auth.group(1)}", event, SASL, detail=detail)
    return _arrow(src, dst, "xdb get: SASL mechanisms?", event, STREAM, detail=detail)


def _xcp(event: Event) -> list[Message]:
    """E's ``Got Buffer`` lines are the xdb packets on the E↔C link; C's ``DELIVER`` lines say where C routed one."""
    detail = event.get("Detail")
    sasl = "ns='http://jabber.com/protocol/sasl'" in detail
    kind = (_XDB_TYPE.search(detail) or [None, ""])[1]
    if sasl and event.node == EDGE:
        if kind in ("get", "set"):
            return [_request(EDGE, CORE, detail, event)]
        return [_answer(CORE, EDGE, detail, event)]
    if sasl and "DELIVER:" in detail:
        if "host:auth-" in detail:
            return [_request(CORE, IMP, detail, event)]
        if "host:connect-auth-" in detail:
            return [_answer(IMP, CORE, detail, event)]
        return [_answer(CORE, EDGE, detail, event)]
    step = SASL if "SASL" in detail else STREAM
    return [_note(event, detail[:120], step)]


def _jabber(event: Event) -> list[Message]:
    """What Jabber's XMPP library sent and received; the stream open and the bind request are implied by answers."""
    message, text = event.message, event.text
    if "Recv:<stream:features" in message and "<mechanisms" in message:
        mechs = _MECHS.findall(message)
        return [_arrow(JABBER, EDGE, "open XMPP stream", event, STREAM,
                       detail=IMPLIED + text),
                _arrow(EDGE, JABBER, f"stream:features [{', '.join(mechs) or 'no SASL mechanism'}]", event, STREAM,
                       200)]
    if "Recv:<stream:features" in message and "xmpp-bind" in message:
        return [_arrow(EDGE, JABBER, "stream:features [bind]", event, BIND, 200)]
    if "Recv:<stream:features" in message:
        return [_arrow(EDGE, JABBER, "stream:features [no SASL mechanism]", event, STREAM, 200)]
    if "Send:<auth" in message:
        auth = _AUTH.search(message)
        return [_arrow(JABBER, EDGE, f"SASL auth {auth.group(1) if auth else '?'}", event, SASL)]
    if "Recv:<success" in message:
        return [_arrow(EDGE, JABBER, "SASL success", event, SASL, 200)]
    if "Recv:<failure" in message:
        failure = _FAILURE.search(message)
        return [_arrow(EDGE, JABBER, f"SASL failure ({failure.group(1) if failure and failure.group(1) else '?'})",
                       event, SASL, 401)]
    if "Send:<iq" in message and "xmpp-bind" in message:
        return [_arrow(JABBER, EDGE, "bind resource", event, BIND)]
    if "Recv:<iq" in message and "xmpp-bind" in message or "<conflict" in message:
        if "type=\"error\"" in message or "type='error'" in message or "<conflict" in message:
            reason = "409 conflict" if "conflict" in message or "409" in message else "error"
            return [_implied_bind(event),
                    _arrow(EDGE, JABBER, f"bind refused: {reason}", event, BIND, 409 if "409" in reason else 400)]
        jid = _BIND_JID.search(message)
        return [_implied_bind(event), _arrow(EDGE, JABBER, f"bound {jid.group(1) if jid else ''}".strip(), event,
                                             BIND, 200)]
    if event.level in ("ERROR", "WARN", "WARNING"):
        step = BIND if "bind" in message else SASL if "SASL" in message else STREAM
        return [Message(JABBER, JABBER, message[:160], event.time, step=step, detail=text, events=[event], note=True)]
    return []


def _implied_bind(event: Event) -> Message:
    """Jabber logs the bind answer, not always the request; the answer proves the request was sent."""
    return _arrow(JABBER, EDGE, "bind resource", event, BIND, detail=IMPLIED + event.text)


def _imp(event: Event) -> list[Message]:
    """IM&P's auth component and c2s: its verdicts as notes (what it received is C's DELIVER arrow already)."""
    if event.level == "DEBUG":
        return []
    message = event.message
    step = BIND if "bind" in message or "bound" in message else SASL if "SASL" in message else STREAM
    return [_note(event, message, step)]


@dataclass
class Attempt:
    """One XMPP sign-in: one stream's mechanisms query, auth and bind, with every node's lines for it."""

    messages: list[Message] = field(default_factory=list)
    key: str = ""
    features: bool = False

    @property
    def start(self) -> float:
        return min((m.time for m in self.messages if m.time is not None), default=0.0)

    @property
    def user(self) -> str:
        for message in self.messages:
            found = _USER.search(message.detail)
            if found:
                return found.group(1) or found.group(2)
        return ""


def attempts(messages: list[Message]) -> list[Attempt]:
    """XMPP messages in time order → attempts: a new xdb id (E's ``jtx_N``) or a second mechanisms offer to Jabber
    starts one; a line without an id belongs to the attempt open at its time."""
    out: list[Attempt] = []
    by_key: dict[str, Attempt] = {}
    for message in sorted(messages, key=lambda m: m.time if m.time is not None else 0.0):
        key = next((k for e in message.events[:1] for k in _JTX.findall(e.text)), "")
        offer = message.src == EDGE and message.dst == JABBER and message.step == STREAM
        current = out[-1] if out else None
        if key and key in by_key:
            by_key[key].messages.append(message)
            continue
        if key:
            if current is None or current.key:
                current = Attempt()
                out.append(current)
            current.key = key
            by_key[key] = current
        elif current is None or offer and current.features:
            current = Attempt()
            out.append(current)
        current.features = current.features or offer
        current.messages.append(message)
    for attempt in out:
        attempt.messages = _dedupe(attempt.messages)
    return out


def _dedupe(messages: list[Message]) -> list[Message]:
    """C's DELIVER to E and E's ``Got Buffer`` are one packet on one link: one arrow, with both lines as evidence."""
    out: list[Message] = []
    logged = {(m.src, m.label) for m in messages if m.src == JABBER and not m.detail.startswith(IMPLIED)}
    for message in messages:
        if message.detail.startswith(IMPLIED) and (message.src, message.label) in logged:
            continue
        twin = next((m for m in out if not m.note and not message.note and (m.src, m.dst, m.label) ==
                     (message.src, message.dst, message.label) and abs((m.time or 0) - (message.time or 0)) < 0.05
                     and m.src != JABBER and m.dst != JABBER), None)
        if twin is not None:
            twin.events.extend(message.events)
            continue
        out.append(message)
    return out
