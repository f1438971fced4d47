"""An honest answer when no knowledge-base entry fits (issue 12, item 3).

It says what was seen: how far the sign-in got, the first error and what it means in plain words, which product's log
would settle it, and which entries came close. It is an Issue, never "no issue found", whenever the logs hold an error.
"""

from __future__ import annotations

import re

from analyzer import knowledge
from analyzer.model import CORE, CUCM, EDGE, IMP, ISSUE, JABBER, UNITY, Event, Finding

# How far a sign-in got, in the order a Jabber over MRA goes (mra-facts section 3).
STAGES = (
    ("service discovery (DNS SRV)", re.compile(r"_collab-edge|_cisco-uds|DNS query|ServiceDiscovery", re.I)),
    ("edge configuration (get_edge_sso / get_edge_config)", re.compile(r"get_edge_(?:sso|config)|EdgeConfig", re.I)),
    ("authentication (UDS, OAuth authorize/token)", re.compile(r"cucm-uds|authorize|access_token|localauthentication|"
                                                              r"HomeUds|LocatorUds|ssosp", re.I)),
    ("IM and Presence (XMPP)", re.compile(r"XmppSDK|xmpp|XCP_|<stream|SASL", re.I)),
    ("phone registration (SIP)", re.compile(r"\bREGISTER\b|SIP/2\.0|sipOAuth|\.cnf\.xml", re.I)),
)
MEANINGS = (
    (re.compile(r"certificate|\bSSL\b|\bTLS\b|handshake|unknown ca", re.I),
     "a TLS handshake failed: a certificate is not trusted (its CA is missing), has expired, or does not carry the name "
     "that was dialled"),
    (re.compile(r"resolve|UNRESOLVED|DNS|name or service not known", re.I),
     "a name could not be resolved in DNS: an SRV or A record is missing or wrong"),
    (re.compile(r"refused|ECONNREFUSED", re.I),
     "a connection was refused: nothing listens on that port, or a firewall rejects it"),
    (re.compile(r"timed? ?out|TIMEOUT|unreachable", re.I),
     "a connection timed out or the host is unreachable: a firewall drops the traffic or the server is down"),
    (re.compile(r"\b401\b|Unauthori[sz]ed|authentication failed|AUTHENTICATION_FAILED", re.I),
     "the credentials or the token were refused (401): a wrong password, an unknown user, or an invalid or expired "
     "token"),
    (re.compile(r"\b403\b|Forbidden", re.I),
     "the request was refused (403 Forbidden): a role, an allow list, a domain or a policy does not permit it"),
    (re.compile(r"\b404\b|Not Found", re.I), "the resource was not found (404): a wrong URL, service or user"),
    (re.compile(r"\b50[0-9]\b", re.I),
     "a server behind this one failed or did not answer (5xx): the next hop is down or unreachable"),
)
_ERROR = re.compile(r"\b(?:ERROR|FATAL|CRITICAL)\b|fail(?:ed|ure)|refused|denied|unable to|cannot|could not|"
                    r"(?:HTTP/1\.[01] |Status=\"|Response-code=\"|response code |responseCode =\[)[45]\d\d|"
                    r"exception|invalid|rejected|not trusted", re.I)
NEXT_LOG = {JABBER: "Expressway-E and Expressway-C", EDGE: "Expressway-C", CORE: "CUCM (and IM and Presence)",
            CUCM: "Expressway-C", IMP: "Expressway-C", UNITY: "CUCM", "": "Expressway-C and the Jabber client"}
_WORD = re.compile(r"[a-z][a-z0-9-]{3,}")
_COMMON = {"with", "from", "that", "this", "request", "response", "server", "client", "failed", "error", "cisco",
           "expressway", "jabber", "user", "https", "http", "level", "detail", "info", "debug", "module"}


# Jabber's discovery states before the user typed a password: named FAILED_…, but no failure.
_NOT_YET = re.compile(r"return code FAILED_(?:UCM90|EDGE|WEBEX)_CREDENTIALS_NOT_SET\s*$")


def _is_error(event: Event) -> bool:
    text = event.text[:2000]
    return _ERROR.search(text) is not None and _NOT_YET.search(text) is None


def first_error(events: list[Event]) -> Event | None:
    for event in events:
        if event.level in ("ERROR", "FATAL", "CRITICAL", "WARN", "WARNING") and _is_error(event):
            return event
    return next((e for e in events if _is_error(e)), None)


def stage(events: list[Event]) -> str:
    reached = ""
    for name, pattern in STAGES:
        if any(pattern.search(e.text[:2000]) for e in events):
            reached = name
    return reached


def meaning(event: Event) -> str:
    text = event.text[:2000]
    return next((plain for pattern, plain in MEANINGS if pattern.search(text)),
                "an error this knowledge base has no entry for")


def close_entries(event: Event, limit: int = 3) -> list[knowledge.Entry]:
    words = set(_WORD.findall(event.text[:2000].lower())) - _COMMON
    scored = []
    for entry in knowledge.load():
        own = set(_WORD.findall(f"{entry.title} {entry.root_cause}".lower())) - _COMMON
        score = len(words & own)
        if score >= 3:
            scored.append((score, entry.priority, entry))
    scored.sort(key=lambda x: (-x[0], -x[1]))
    return [entry for _, _, entry in scored[:limit]]


def nothing_fits(events: list[Event], nodes: set[str]) -> Finding | None:
    """The Issue to report when the logs hold an error and no entry matched; ``None`` when they hold none."""
    error = first_error(events)
    if error is None:
        return None
    product = f"{error.node} log" if error.node else "log of a product that could not be placed"
    reached = stage(events) or "an unknown step"
    close = close_entries(error)
    missing = [n for n in (JABBER, EDGE, CORE, CUCM) if n not in nodes]
    settle = NEXT_LOG.get(error.node, "Expressway-C")
    cause = (f"No entry of the knowledge base fits. The sign-in got as far as {reached}. The first error is in the "
             f"{product} and means {meaning(error)}.")
    if close:
        cause += " Entries that came close: " + "; ".join(f"{e.title} [{e.id}]" for e in close) + "."
    fix = (f"The {settle} log for the same minute would settle it" +
           (f" (not given: {', '.join(missing)})" if missing else "") +
           "; read the line quoted below and the lines around it.")
    return Finding("nothing-fits", ISSUE, f"Unexplained error in the {product} at {reached}", cause, fix,
                   "mrasim analyzer: no matching entry (see docs/analyzer.md for the knowledge base)", 5, [error])
