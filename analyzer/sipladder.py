"""The phone registration on the ladder: Jabber's ``sipio`` records as arrows between Jabber and Expressway-E.

Jabber prints every SIP message it sends (``sipio-sent--->``) and receives (``sipio-recv<---``) whole, so its log
alone draws the registration: ``REGISTER``, ``407`` (Bearer challenge), ``REGISTER`` with the token, ``200``. Like the
XMPP attempt, it carries no Txn-id; :mod:`analyzer.sessions` hands it to the login whose ``get_edge_config``
preceded it.
"""

from __future__ import annotations

import re

from analyzer.model import EDGE, JABBER, Event, Message

STEP = "sip register"
_START = re.compile(r"sipio-(sent|recv)\S* (?:(\w+) sip:\S+ SIP/2\.0|SIP/2\.0 (\d{3}) ([^\n]*))")
_WARNING = re.compile(r"^(?:Warning|Proxy-Authenticate|WWW-Authenticate): (.*)$", re.M)


def is_sip(message: Message) -> bool:
    return message.step == STEP


def message_for(event: Event) -> Message | None:
    """The arrow one ``platform_print_sip_msg`` record stands for, or None for any other line."""
    if event.fmt != "csf" or "sipio-" not in event.message:
        return None
    match = _START.search(event.text)
    if match is None:
        return None
    sent, method, status, reason = match.group(1) == "sent", match.group(2), match.group(3), match.group(4)
    extra = "; ".join(_WARNING.findall(event.text))
    if sent:
        label = method + (" + Bearer token" if "Proxy-Authorization: Bearer" in event.text else "")
        return Message(JABBER, EDGE, label, event.time, step=STEP, detail=event.text, events=[event])
    label = f"{status} {reason}" + (f" ({extra[:80]})" if extra else "")
    # A 401/407 is a challenge, the next step of the registration, not its failure: no status to mark it failed.
    code = None if status in ("401", "407") else int(status)
    return Message(EDGE, JABBER, label, event.time, status=code, step=STEP, detail=event.text, events=[event])
