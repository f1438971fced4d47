"""The symptom tests of the lab's catalogue: Python functions over :class:`~analyzer.facts.Facts`.

Most knowledge-base entries (:mod:`analyzer.knowledge`) are recognised by regular expressions over the log text.
The failures the lab stages need more than a line: a transaction without its E side, a user found on one cluster and
not on another, the same user id in two spellings. Those tests live here, one function per entry, named by the
entry's ``matcher`` key; each is written from what a log shows, never from knowing which fault produced it (issue 6).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from analyzer.facts import NODES_C, NODES_E, NODES_J, NODES_U, Facts
from analyzer.model import EDGE, Event

def _once(match: Callable[[Facts], list[Event]]) -> Callable[[Facts], list[Event]]:
    """A symptom several signatures ask for (and that is a signature itself) is looked for once per corpus."""
    def cached(facts: Facts) -> list[Event]:
        found = facts.memo.get(match.__name__)
        if found is None:
            found = facts.memo[match.__name__] = match(facts)
        return found
    cached.__name__ = match.__name__
    return cached


_REFRESH_FAILED = ("handleRefreshTokenFailure",)


def _reason(facts: Facts, *needles: str) -> list[Event]:
    return facts.find(lambda e: any(n in e.get("Reason") or n in e.message for n in needles), needles=needles)


def _oauthlocal_off(f: Facts) -> list[Event]:
    no_mech = f.text("doesn't offer any SASL authentication mechanism", "no SASL mechanism", nodes=NODES_J)
    features = f.find(lambda e: "stream:features" in e.text and "<mechanism>" in e.text and "OAUTHBEARER" not in e.text,
                      NODES_J, needles=("stream:features",))
    offered = f.find(lambda e: e.fmt == "xcp" and "<mechanisms>" in e.text and "OAUTHBEARER" in e.text,
                     needles=("<mechanisms>",))
    relayed = f.find(lambda e: e.fmt == "xcp" and "auth mechanism='CISCO-VTG-TOKEN'" in e.text,
                     needles=("auth mechanism='CISCO-VTG-TOKEN'",))
    config = f.config(r"OAuthLocal\W+Off")
    if no_mech or (features and offered):
        return [*offered, *relayed, *features, *no_mech]
    if config and (features or relayed):
        return [*relayed, *features]
    return []


def _keys_not_refreshed(f: Facts) -> list[Event]:
    refused = f.find(lambda e: e.get("Reason") == "No matching AuthZ key" or "No matching AuthZ key" in
                     (e.block or "")[:200], NODES_C, needles=("No matching AuthZ key",))
    if not refused:
        return []
    return [*f.text("key regenerated", "set key regen", nodes=NODES_U), *refused]


@_once
def _keys_differ(f: Facts) -> list[Event]:
    failures = f.find(lambda e: "handleRefreshTokenFailure" in e.get("function")
                      and re.search(r"signature|decrypt|key", e.message, re.I) is not None, NODES_J, _REFRESH_FAILED)
    sums: dict[str, set[str]] = {}
    holders: dict[str, Event] = {}
    for event in f.text("checksum", nodes=NODES_U):
        match = re.search(r"checksum:? ([0-9a-f]{16,})", event.message)
        if match and "regenerated" not in event.message:
            sums.setdefault(match.group(1), set()).add(event.host)
            holders[match.group(1)] = event
    differ = [holders[k] for k in sums] if len(sums) > 1 and len({h for v in sums.values() for h in v}) > 1 else []
    return failures + differ if failures or differ else []


@_once
def _unsupported(f: Facts) -> list[Event]:
    return _reason(f, "unsupported_response_type")


@_once
def _refresh_disabled(f: Facts) -> list[Event]:
    events = _unsupported(f)
    return [e for e in events if "Refresh Login Flow" in e.text] or []


def _refresh_disabled_generic(f: Facts) -> list[Event]:
    events = _unsupported(f)
    if not events or _refresh_disabled(f) or _too_old(f):
        return []
    return events


@_once
def _too_old(f: Facts) -> list[Event]:
    events = [e for e in _unsupported(f) if "not supported by CUCM" in e.text or "implicit grant" in e.text]
    old = [e for v, e in f.versions() if v < (11, 5, 1)]
    return events + old if events or (old and _unsupported(f)) else []


@_once
def _refresh_expired(f: Facts) -> list[Event]:
    return f.find(lambda e: ("refresh token" in e.message.lower() or "refresh" in e.get("function").lower())
                  and re.search(r"expired", e.message, re.I) is not None and e.level in ("ERROR", "WARN"))


@_once
def _refresh_revoked(f: Facts) -> list[Event]:
    return f.find(lambda e: re.search(r"refresh token.*revoked|revoked.*refresh", e.message, re.I) is not None
                  and e.level in ("ERROR", "WARN", "INFO") and "revokeTokens" not in e.message) + \
        f.text("revokeTokens", nodes=NODES_U)


def _refresh_refused(f: Facts) -> list[Event]:
    if _refresh_expired(f) or _refresh_revoked(f) or _keys_differ(f) or _subscriber_down(f):
        return []
    return f.find(lambda e: "handleRefreshTokenFailure" in e.get("function"), NODES_J, _REFRESH_FAILED)


@_once
def _subscriber_down(f: Facts) -> list[Event]:
    failed = f.find(lambda e: e.get("Action") == "Failed" and "/ssosp/token/access_token" in e.get("Url"), NODES_C,
                    ("/ssosp/token/access_token",))
    refresh = [s for s in f.sessions if s.kind == "refresh" and s.status == 502]
    jabber = f.find(lambda e: "handleRefreshTokenFailure" in e.get("function") and "502" in e.message, NODES_J,
                    _REFRESH_FAILED)
    return [*failed, *jabber, *(e for s in refresh for m in s.messages[-1:] for e in m.events)] if failed else []


def _tunnel_down(f: Facts) -> list[Event]:
    out = []
    for txn in f.txns:
        if txn.node == EDGE and txn.status == 502 and txn.peer is None:
            out.extend(e for e in txn.events if e.get("Status") == "502" or "502" in (e.block or "")[:20])
    out += f.text("tunnel", "ssh", nodes=NODES_E + NODES_C) if out else []
    return out if out and not f.find(lambda e: e.get("Action") == "Failed", NODES_C, ("Failed",)) else []


def _tunnel_credentials(f: Facts) -> list[Event]:
    """C's SSH login to E's 2222 refused: C's zone reason, E's sshd ``Failed password``."""
    return (f.find(lambda e: e.get("Reason") == "SSH tunnel authentication failure", NODES_C,
                   ("SSH tunnel authentication failure",))
            + f.text("Failed password for", nodes=NODES_E))


def _tunnel_blocked(f: Facts) -> list[Event]:
    """C's dial to E's 2222 times out (a firewall dropping it) while E sees no login from C."""
    timed_out = f.find(lambda e: e.get("Detail") == "SSH tunnel failed" and e.get("Reason") == "Connection timed out",
                       NODES_C, ("Connection timed out",))
    return timed_out if timed_out and not f.text("Failed password for", nodes=NODES_E) else []


def _xcp_refused(f: Facts) -> list[Event]:
    """C's XCP dial to E's 7400 refused while the SSH tunnel is up: E listens for XCP where C cannot reach it."""
    return f.find(lambda e: e.get("Detail") == "XCP failed" and e.get("Reason") == "Connection refused", NODES_C,
                  ("XCP failed",))


def _replay_blocked(f: Facts) -> list[Event]:
    blocked = f.find(lambda e: re.search(r"intrusion|[Bb]locked|HTTP proxy authorization failure", e.text[:600])
                     is not None, NODES_E, ("intrusion", "Blocked", "blocked", "HTTP proxy authorization failure"))
    if blocked:
        return blocked
    if not f.find(lambda e: e.get("Reason") == "Token expired", NODES_C, ("Token expired",)):
        return []
    per_ip: dict[str, list[Event]] = {}
    for event in f.field("Status", "401", nodes=NODES_E):
        per_ip.setdefault(event.get("Dst-ip"), []).append(event)
    for events in per_ip.values():
        times = [e.time or 0.0 for e in events]
        for i in range(len(times) - 5):
            if times[i + 5] - times[i] <= 600:
                return events[i:i + 6]
    return []


def _clock_skew(f: Facts) -> list[Event]:
    skewed = [(d, t) for d, t in f.skew() if abs(d) > 5]
    forbidden = [t for _, t in skewed if t.status == 403]
    if forbidden:
        return [e for t in forbidden for e in t.events[:1] + t.events[-1:]]
    return f.text("clock skew", "time skew", "not yet valid", nodes=NODES_C)


def _wrong_password_credentials(f: Facts) -> list[Event]:
    return f.find(lambda e: e.get("Detail") == "Authentication failed" or "not accepted for user" in e.message,
                  needles=("Authentication failed", "not accepted for user"))


def _wrong_password_oauth(f: Facts) -> list[Event]:
    return f.find(lambda e: "access_denied" in (e.get("Reason") + e.message)
                  and re.search(r"credential|password", e.get("Reason") + e.message, re.I) is not None)


@_once
def _user_not_found(f: Facts) -> list[Event]:
    return f.find(lambda e: e.get("Reason") == "User not found" or 'found="false"' in (e.block or ""), NODES_C,
                  ("User not found", 'found="false"'))


def _ils_missing(f: Facts) -> list[Event]:
    missing = _user_not_found(f)
    if not missing:
        return []
    found = f.find_answers(lambda e: 'found="true"' in (e.block or "") and "<clusterUser" in (e.block or ""), NODES_C)
    hosts = {re.sub(r"^https?://([^/:]+).*", r"\1", e.get("Request-url")) for e in missing + found
             if e.get("Request-url")}
    return missing + found[:1] if len(hosts) > 1 else []


def _no_home_cluster(f: Facts) -> list[Event]:
    return f.find_answers(lambda e: re.search(r"<homeCluster[^>]*(/>|>\s*</homeCluster>)|<userUdsServer\s*/>|<userUdsServer>\s*</userUdsServer>",
                                      e.block or "") is not None)


def _domain(f: Facts) -> list[Event]:
    refused = f.find(lambda e: "not configured" in e.get("Reason") and "domain" in e.get("Reason"), NODES_E,
                     ("not configured",))
    ce_e = [e for t in f.txns if t.node == EDGE and t.status == 403 and "Server: CE_E" in t.response
            for e in t.events[-1:]]
    return refused + ce_e


def _srv_mismatch(f: Facts) -> list[Event]:
    return f.text("XAuth Cookie expiration time is invalid")


def _mixed_capability(f: Facts) -> list[Event]:
    """One cluster refuses the code grant while another grants it: Expressway offered OAuth to everyone."""
    refused = [e for e in _unsupported(f) if e.get("Server")]
    if not refused:
        return []
    failing = {e.get("Server") for e in refused}
    granted = [e for e in f.corpus.events if e.get("Detail") == "Successful authorization"
               and e.get("Server") and e.get("Server") not in failing]
    offered = f.find_answers(lambda e: 'Token reuse="true"' in (e.block or ""))
    return refused[:2] + granted[:1] + offered[:1] if granted else []


def _mra_disabled(f: Facts) -> list[Event]:
    return f.text("Mobile and Remote Access is not enabled", "MRA not enabled", "not enabled for MRA")


def _allow_list(f: Facts) -> list[Event]:
    return f.find(lambda e: "allow list" in e.get("Detail").lower() or "allow list" in e.get("Reason").lower(),
                  NODES_C)


def _imp_realm(f: Facts) -> list[Event]:
    return f.text("Failed to query auth component for SASL mechanisms")


def _bind_conflict(f: Facts) -> list[Event]:
    return f.find(lambda e: "<conflict" in e.text and ("bind" in e.text or "409" in e.text), needles=("<conflict",))


def _case_mismatch(f: Facts) -> list[Event]:
    """A user id that fails in one spelling and works (or is known) in another that differs only by case."""
    failed = [s for s in f.failed_sessions() if s.user]
    if not failed:
        return []
    spellings: dict[str, set[str]] = {}
    for session in f.sessions:
        if session.user:
            spellings.setdefault(session.user.lower(), set()).add(session.user)
    for event in f.notable:
        for name in ("Username", "User"):
            if event.get(name):
                spellings.setdefault(event.get(name).lower(), set()).add(event.get(name))
    for session in failed:
        if len(spellings.get(session.user.lower(), set())) > 1:
            return [e for m in session.messages if m.failed or m.note for e in m.events][:4] + \
                [e for s in f.sessions if s.ok and s.user.lower() == session.user.lower()
                 for m in s.messages[:1] for e in m.events]
    return []


def _access_expired(f: Facts) -> list[Event]:
    return f.find(lambda e: e.get("Reason") == "Token expired" and "Access" in (e.get("Type") + e.get("Detail")),
                  NODES_C, ("Token expired",))


def _cert_san(f: Facts) -> list[Event]:
    return f.text("hostname mismatch", "doesn't match", "subjectAltName", "certificate name mismatch",
                  nodes=NODES_J + NODES_E)


def _unknown_ca(f: Facts) -> list[Event]:
    return f.text("unknown ca", "certificate verify failed", "unable to get local issuer", nodes=NODES_C + NODES_U)


def _failed_unexplained(f: Facts) -> list[Event]:
    """Only when nothing specific matched: say where the login stopped (set by the engine, see diagnose)."""
    return []


MATCHERS: dict[str, Callable[[Facts], list[Event]]] = {
    name.lstrip("_"): function for name, function in list(globals().items())
    if name.startswith("_") and callable(function) and name not in ("_once", "_reason")
    and getattr(function, "__module__", "") == __name__
}
