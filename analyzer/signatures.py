"""Diagnostic signatures: from symptoms in the logs to a root cause, a fix and the document it comes from.

Each signature is written from what a log shows, never from knowing which fault produced it (issue 6). The catalogue
of issue 5 names 25 field failures; each has at least one signature here, keyed by the catalogue name. Where our lab
cannot produce the failure, the signature is built from ``mra-facts.md`` sections 4–9 and the seed article, and says
so in ``basis`` (today only the two certificate signatures, which are outside the 25). ``priority`` orders the Issues Found: a specific symptom (``No matching AuthZ key``) outranks a
generic one (``401 at access_token``), so the most specific root cause comes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from analyzer.facts import NODES_C, NODES_E, NODES_J, NODES_U, Facts
from analyzer.model import EDGE, ISSUE, Event

SEED = "Understanding OAuth and MRA (Cisco Community, A. Okanlawon, 2020) — the seed article"
MRA_GUIDE = "Mobile and Remote Access Through Cisco Expressway Deployment Guide (X14), 'OAuth token authorization'"
OAUTH_GUIDE = ("Feature Configuration Guide for Cisco Unified Communications Manager, 'Configure OAuth Refresh "
               "Logins'")
EXP_ADMIN = "Cisco Expressway Administrator Guide, 'Automated intrusion protection' and 'HTTP allow list'"
JABBER_GUIDE = "Cisco Jabber Planning Guide, 'Mobile and Remote Access' and 'OAuth'"
FACTS = "mra-facts.md section 9"
CERT_GUIDE = "Cisco Expressway Certificate Creation and Use Deployment Guide"
JABBER_CERTS = "Jabber Complete How-To Guide for Certificate Validation (Cisco doc 116917)"
TS_VERIFY = "Troubleshoot Expressway Traffic Server Certificate Verification for MRA Services (Cisco doc 218018)"
CUCM_RENEWAL = "Troubleshoot Common Issues with Certificate Renewal in CUCM (Cisco doc 225746)"
JABBER_LOGIN = "Troubleshoot Jabber Log in - Common Issues (Cisco doc 221845)"
LAB = "checked on the logs of the mrasim catalogue scenario of the same name"
FACTS_ONLY = "not produced by the lab yet: built from mra-facts.md section 9 and the seed"


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


def _once(match: Callable[[Facts], list[Event]]) -> Callable[[Facts], list[Event]]:
    """A symptom several signatures ask for (and that is a signature itself) is looked for once per corpus."""
    def cached(facts: Facts) -> list[Event]:
        found = facts.memo.get(match.__name__)
        if found is None:
            found = facts.memo[match.__name__] = match(facts)
        return found
    cached.__name__ = match.__name__
    return cached


def _reason(facts: Facts, *needles: str) -> list[Event]:
    return facts.find(lambda e: any(n in e.get("Reason") or n in e.message for n in needles))


def _oauthlocal_off(f: Facts) -> list[Event]:
    no_mech = f.text("doesn't offer any SASL authentication mechanism", "no SASL mechanism", nodes=NODES_J)
    features = f.find(lambda e: "stream:features" in e.text and "<mechanism>" in e.text and "OAUTHBEARER" not in e.text,
                      NODES_J)
    offered = f.find(lambda e: e.fmt == "xcp" and "<mechanisms>" in e.text and "OAUTHBEARER" in e.text)
    relayed = f.find(lambda e: e.fmt == "xcp" and "auth mechanism='CISCO-VTG-TOKEN'" in e.text)
    config = f.config(r"OAuthLocal\W+Off")
    if no_mech or (features and offered):
        return [*offered, *relayed, *features, *no_mech]
    if config and (features or relayed):
        return [*relayed, *features]
    return []


def _keys_not_refreshed(f: Facts) -> list[Event]:
    refused = f.find(lambda e: e.get("Reason") == "No matching AuthZ key" or "No matching AuthZ key" in
                     (e.block or "")[:200], NODES_C)
    if not refused:
        return []
    return [*f.text("key regenerated", "set key regen", nodes=NODES_U), *refused]


@_once
def _keys_differ(f: Facts) -> list[Event]:
    failures = f.find(lambda e: "handleRefreshTokenFailure" in e.get("function")
                      and re.search(r"signature|decrypt|key", e.message, re.I) is not None, NODES_J)
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
    return f.find(lambda e: "handleRefreshTokenFailure" in e.get("function"), NODES_J)


@_once
def _subscriber_down(f: Facts) -> list[Event]:
    failed = f.find(lambda e: e.get("Action") == "Failed" and "/ssosp/token/access_token" in e.get("Url"), NODES_C)
    refresh = [s for s in f.sessions if s.kind == "refresh" and s.status == 502]
    jabber = f.find(lambda e: "handleRefreshTokenFailure" in e.get("function") and "502" in e.message, NODES_J)
    return [*failed, *jabber, *(e for s in refresh for m in s.messages[-1:] for e in m.events)] if failed else []


def _tunnel_down(f: Facts) -> list[Event]:
    out = []
    for txn in f.txns:
        if txn.node == EDGE and txn.status == 502 and txn.peer is None:
            out.extend(e for e in txn.events if e.get("Status") == "502" or "502" in (e.block or "")[:20])
    out += f.text("tunnel", "ssh", nodes=NODES_E + NODES_C) if out else []
    return out if out and not f.find(lambda e: e.get("Action") == "Failed", NODES_C) else []


def _tunnel_credentials(f: Facts) -> list[Event]:
    """C's SSH login to E's 2222 refused: C's zone reason, E's sshd ``Failed password``."""
    return (f.find(lambda e: e.get("Reason") == "SSH tunnel authentication failure", NODES_C)
            + f.text("Failed password for", nodes=NODES_E))


def _tunnel_blocked(f: Facts) -> list[Event]:
    """C's dial to E's 2222 times out (a firewall dropping it) while E sees no login from C."""
    timed_out = f.find(lambda e: e.get("Detail") == "SSH tunnel failed" and e.get("Reason") == "Connection timed out",
                       NODES_C)
    return timed_out if timed_out and not f.text("Failed password for", nodes=NODES_E) else []


def _peer_unresolvable(f: Facts) -> list[Event]:
    """C cannot resolve the zone's peer address: every link fails before a packet leaves C."""
    return f.find(lambda e: e.get("Detail") in ("SSH tunnel failed", "XCP failed")
                  and e.get("Reason") == "Name resolution failed", NODES_C)


def _xcp_refused(f: Facts) -> list[Event]:
    """C's XCP dial to E's 7400 refused while the SSH tunnel is up: E listens for XCP where C cannot reach it."""
    return f.find(lambda e: e.get("Detail") == "XCP failed" and e.get("Reason") == "Connection refused", NODES_C)


def _replay_blocked(f: Facts) -> list[Event]:
    blocked = f.find(lambda e: re.search(r"intrusion|[Bb]locked|HTTP proxy authorization failure", e.text[:600])
                     is not None, NODES_E)
    if blocked:
        return blocked
    if not f.find(lambda e: e.get("Reason") == "Token expired", NODES_C):
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
    return f.find(lambda e: e.get("Detail") == "Authentication failed" or "not accepted for user" in e.message)


def _wrong_password_oauth(f: Facts) -> list[Event]:
    return f.find(lambda e: "access_denied" in (e.get("Reason") + e.message)
                  and re.search(r"credential|password", e.get("Reason") + e.message, re.I) is not None)


@_once
def _user_not_found(f: Facts) -> list[Event]:
    return f.find(lambda e: e.get("Reason") == "User not found" or 'found="false"' in (e.block or ""), NODES_C)


def _ils_missing(f: Facts) -> list[Event]:
    missing = _user_not_found(f)
    if not missing:
        return []
    found = f.find(lambda e: 'found="true"' in (e.block or "") and "<clusterUser" in (e.block or ""), NODES_C)
    hosts = {re.sub(r"^https?://([^/:]+).*", r"\1", e.get("Request-url")) for e in missing + found
             if e.get("Request-url")}
    return missing + found[:1] if len(hosts) > 1 else []


def _no_home_cluster(f: Facts) -> list[Event]:
    return f.find(lambda e: re.search(r"<homeCluster[^>]*(/>|>\s*</homeCluster>)|<userUdsServer\s*/>|<userUdsServer>\s*</userUdsServer>",
                                      e.block or "") is not None)


def _domain(f: Facts) -> list[Event]:
    refused = f.find(lambda e: "not configured" in e.get("Reason") and "domain" in e.get("Reason"), NODES_E)
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
    offered = f.find(lambda e: 'Token reuse="true"' in (e.block or ""))
    return refused[:2] + granted[:1] + offered[:1] if granted else []


def _mra_disabled(f: Facts) -> list[Event]:
    return f.text("Mobile and Remote Access is not enabled", "MRA not enabled", "not enabled for MRA")


def _allow_list(f: Facts) -> list[Event]:
    return f.find(lambda e: "allow list" in e.get("Detail").lower() or "allow list" in e.get("Reason").lower(),
                  NODES_C)


def _imp_realm(f: Facts) -> list[Event]:
    return f.text("Failed to query auth component for SASL mechanisms")


def _bind_conflict(f: Facts) -> list[Event]:
    return f.find(lambda e: "<conflict" in e.text and ("bind" in e.text or "409" in e.text))


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
                  NODES_C)


def _cert_san(f: Facts) -> list[Event]:
    return f.text("hostname mismatch", "doesn't match", "subjectAltName", "certificate name mismatch",
                  nodes=NODES_J + NODES_E)


def _unknown_ca(f: Facts) -> list[Event]:
    return f.text("unknown ca", "certificate verify failed", "unable to get local issuer", nodes=NODES_C + NODES_U)


def _edge_cert(f: Facts, *reasons: str) -> list[Event]:
    """Jabber refused Expressway-E's certificate for one of ``reasons`` (OpenSSL's verify messages)."""
    refused = f.find(lambda e: "Certificate verification of" in e.message and any(r in e.message for r in reasons),
                     NODES_J)
    if not refused:
        return []
    return [*refused, *f.text("SSL_CONNECT_ERROR", nodes=NODES_J), *f.text("TLS negotiation failed", nodes=NODES_E)]


def _edge_cert_untrusted(f: Facts) -> list[Event]:
    return _edge_cert(f, "self-signed certificate", "unable to get local issuer certificate", "unknown ca")


def _edge_cert_san(f: Facts) -> list[Event]:
    return _edge_cert(f, "Hostname mismatch")


def _edge_cert_expired(f: Facts) -> list[Event]:
    return _edge_cert(f, "certificate has expired")


@_once
def _core_refuses_server_cert(f: Facts) -> list[Event]:
    return f.text("Core server certificate verification failed", nodes=NODES_C)


def _tomcat_untrusted(f: Facts) -> list[Event]:
    refused = _core_refuses_server_cert(f)
    return refused if refused and not f.text("tomcat certificate regenerated", nodes=NODES_U) else []


def _tomcat_renewed(f: Facts) -> list[Event]:
    renewed = f.text("tomcat certificate regenerated", nodes=NODES_U)
    refused = _core_refuses_server_cert(f)
    return [*renewed, *refused] if renewed and refused else []


def _edge_srv_missing(f: Facts) -> list[Event]:
    result = f.text("FAILED_EDGE_SRV_LOOKUP", nodes=NODES_J)
    failed = f.find(lambda e: "_collab-edge" in e.message and "has failed" in e.message, NODES_J)
    return [*failed, *result] if result or failed else []


def _edge_a_record(f: Facts) -> list[Event]:
    unresolved = f.text("UNRESOLVED_HOST_ERROR", nodes=NODES_J)
    if not unresolved:
        return []
    return [*f.find(lambda e: "_collab-edge" in e.message and "has succeeded" in e.message, NODES_J), *unresolved]


def _failed_unexplained(f: Facts) -> list[Event]:
    """Only when nothing specific matched: say where the login stopped (set by the engine, see diagnose)."""
    return []


CATALOGUE: tuple[Signature, ...] = (
    Signature("oauthlocal-off", ISSUE, "Jabber gets tokens but XMPP offers no SASL mechanism it can use",
              "Expressway-C's XCP router offers only CISCO-VTG-TOKEN to the client although IM&P advertises "
              "OAUTHBEARER: 'xConfiguration CollaborationEdge OAuthLocal' is (stuck) Off on Expressway-C, so C filters "
              "OAUTHBEARER out and the OAuth-only Jabber finds no mechanism.",
              "Set 'Authorize by OAuth token with refresh' (xConfiguration CollaborationEdge OAuthLocal: On) on "
              "Expressway-C; if it already shows On, restart/reboot Expressway-C so the XCP router picks it up.",
              SEED, 95, _oauthlocal_off),
    Signature("imp-realm-stale", ISSUE, "Expressway-C cannot get the SASL mechanism list from IM&P",
              "Expressway-C's XCP router has a stale IM&P realm/route: it cannot query IM&P's auth component for SASL "
              "mechanisms, so XMPP login fails after HTTP login succeeded.",
              "On Expressway-C refresh the IM&P servers (Configuration > Unified Communications > IM and Presence "
              "Service nodes > Refresh servers) and restart XCP if the realm stays stale.", MRA_GUIDE, 96, _imp_realm),
    Signature("xmpp-bind-conflict", ISSUE, "XMPP resource bind refused with 409 conflict",
              "Another session already holds the same XMPP resource for this user (a stale session on IM&P or two "
              "clients with one resource), so IM&P answers the bind with <conflict/>.",
              "Sign the other client out or let IM&P expire the stale session; check that clients use unique "
              "resources.", JABBER_GUIDE, 90, _bind_conflict),
    Signature("authz-keys-differ-across-nodes", ISSUE, "Refresh refused because CUCM nodes hold different AuthZ keys",
              "The CUCM nodes of a cluster do not share the same AuthZ signing/encryption keys (a node missed the key "
              "replication), so a token signed by one node fails on another and Jabber lands in "
              "handleRefreshTokenFailure.",
              "Compare 'show key authz signing' and 'show key authz encryption' on every node; restart or re-sync the "
              "nodes that differ, then Refresh servers on Expressway-C.", SEED, 92, _keys_differ),
    Signature("keys-regenerated-c-not-refreshed", ISSUE, "Expressway-C refuses tokens: 'No matching AuthZ key'",
              "CUCM's AuthZ keys were regenerated and Expressway-C still validates with the old ones (its keys are "
              "fetched only by 'Refresh servers'), so every new access token fails validation at C.",
              "On Expressway-C: Configuration > Unified Communications > Unified CM servers > Refresh servers "
              "(xCommand RefreshServers); verify with 'show key authz signing' on CUCM.",
              f"{SEED}, troubleshooting tips 1–2; {MRA_GUIDE}", 90, _keys_not_refreshed),
    Signature("srv-target-mismatch", ISSUE, "'XAuth Cookie expiration time is invalid'",
              "The _collab-edge SRV record points Jabber at a name that is not Expressway-E's FQDN, so the X-Auth "
              "cookie set for one name is presented to another.",
              "Make the _collab-edge._tls SRV target the Expressway-E FQDN that its certificate and system name use.",
              MRA_GUIDE, 88, _srv_mismatch),
    Signature("domain-not-configured", ISSUE, "Expressway-E answers 403 (CE_E) before anything reaches Expressway-C",
              "The domain in the request (base64 path segment) is not a domain configured for Mobile and Remote "
              "Access on Expressway-C, so Expressway-E refuses it itself.",
              "Add the domain on Expressway-C (Configuration > Domains) with 'SIP registrations and provisioning on "
              "Unified CM' and 'IM and Presence' On, or fix the user's sign-in domain.", MRA_GUIDE, 88, _domain),
    Signature("http-allow-list-missing", ISSUE, "Expressway-C refuses a proxied URL: HTTP allow list check failed",
              "The client asked Expressway-C to proxy to a host/port that is not on its HTTP allow list (inbound "
              "rules), so C answers 403.",
              "Add the server to Configuration > Unified Communications > HTTP allow list on Expressway-C (or discover "
              "it as a Unified CM/IM&P/Unity server).", EXP_ADMIN, 88, _allow_list),
    Signature("refresh-token-revoked", ISSUE, "Token refresh refused: the refresh token was revoked",
              "An administrator (or a password/profile change) revoked the user's refresh tokens on CUCM; the next "
              "refresh gets invalid_grant and Jabber must sign in again.",
              "Expected after a revoke: the user signs in again. If unexpected, check who revoked "
              "(/ssosp/token/revoke) and why.", OAUTH_GUIDE, 88, _refresh_revoked),
    Signature("refresh-token-expired", ISSUE, "Token refresh refused: the refresh token expired",
              "The refresh token is past its lifetime (enterprise parameter 'Refresh Token Expiry Timer', default 60 "
              "days), so CUCM answers invalid_grant and Jabber needs a full sign-in.",
              "Expected after the refresh token's life: the user signs in again; lengthen the expiry timer on CUCM "
              "if it comes too often.", OAUTH_GUIDE, 87, _refresh_expired),
    Signature("cucm-too-old-for-code-grant", ISSUE, "CUCM refuses the authorization code grant (too old)",
              "This CUCM release predates 11.5(1)SU3 and offers only the implicit grant, so authorize_proxy with "
              "response_type=code is refused with unsupported_response_type.",
              "Upgrade CUCM/IM&P to 11.5(1)SU3 or later, or turn 'Authorize by OAuth token with refresh' off on "
              "Expressway-C for this cluster.", OAUTH_GUIDE, 87, _too_old),
    Signature("refresh-disabled-on-cucm", ISSUE, "CUCM refuses the code grant: OAuth with Refresh Login Flow disabled",
              "Expressway-C uses 'OAuth with refresh' but CUCM's enterprise parameter 'OAuth with Refresh Login Flow' "
              "is Disabled (its default), so CUCM answers unsupported_response_type.",
              "CUCM Administration > System > Enterprise Parameters > SSO and OAuth Configuration: set 'OAuth with "
              "Refresh Login Flow' to Enabled (it is pushed to IM&P).", f"{SEED}; {OAUTH_GUIDE}", 86,
              _refresh_disabled),
    Signature("mra-disabled-in-profile", ISSUE, "CUCM refuses the user: Mobile and Remote Access not enabled",
              "The user's User Profile in CUCM has 'Enable Mobile and Remote Access' unchecked, which OAuth refresh "
              "logins require.",
              "CUCM Administration > User Management > User Settings > User Profile: check 'Enable Mobile and Remote "
              "Access' for the user's profile.", OAUTH_GUIDE, 86, _mra_disabled),
    Signature("issuing-subscriber-down-at-refresh", ISSUE, "Refresh fails: the CUCM node that issued the token is down",
              "A refresh token can only be redeemed at the CUCM node that issued it; that node did not answer "
              "(connection failed → 502 Next Hop Connection Failed), so Jabber must sign in fully on another node.",
              "Bring the issuing CUCM node back; until then users sign in again. Check C→CUCM reachability on 8443.",
              OAUTH_GUIDE, 86, _subscriber_down),
    Signature("ssh-tunnel-down", ISSUE, "Expressway-E answers 502 Next Hop Connection Failed; C never sees it",
              "The traversal (SSH tunnel) between Expressway-C and Expressway-E is down, so E cannot hand requests to "
              "C.", "Check the Unified Communications traversal zone status on both Expressways, firewall rules "
              "C→E (TCP 2222) and restart the zone.", MRA_GUIDE, 85, _tunnel_down),
    Signature("ssh-tunnel-credentials-wrong", ISSUE, "Expressway-E refuses Expressway-C's SSH tunnel login",
              "The traversal zone's username/password on Expressway-C does not match Expressway-E's local "
              "authentication database, so the SSH tunnel on TCP 2222 never comes up (and C's retries get its "
              "address blocked by E's intrusion protection); E has no next hop and answers 502.",
              "Set the same traversal credentials on C's zone and in E's local database; unblock C's address on E.",
              MRA_GUIDE, 90, _tunnel_credentials),
    Signature("ssh-tunnel-port-blocked", ISSUE, "Expressway-C's SSH tunnel to Expressway-E:2222 times out",
              "Something between the inside and the DMZ drops TCP 2222, so Expressway-C cannot open the SSH tunnel "
              "E sends its HTTP requests through; E answers 502 Next Hop Connection Failed.",
              "Open TCP 2222 (and 7001, 7400) from Expressway-C to Expressway-E's internal interface on the firewall.",
              MRA_GUIDE, 89, _tunnel_blocked),
    Signature("traversal-peer-unresolvable", ISSUE, "Expressway-C cannot resolve the traversal zone's peer address",
              "The peer address on Expressway-C's traversal zone does not resolve in the internal DNS, so C opens "
              "neither the SSH tunnel (2222) nor the XCP link (7400) and E has no next hop (502).",
              "Set the zone's peer address to Expressway-E's FQDN as the internal DNS resolves it, or add the record.",
              MRA_GUIDE, 91, _peer_unresolvable),
    Signature("xcp-dual-nic-wrong-interface", ISSUE, "Expressway-C's XCP connection to Expressway-E:7400 refused",
              "Expressway-E does not accept XCP (TCP 7400) where Expressway-C dials it — with two NICs, E's XCP must "
              "be reachable on the internal interface — so HTTP works through the tunnel but no XMPP session can "
              "cross to IM&P.",
              "Make E listen for 7400 on its internal interface and let inside→DMZ 7400 through the firewall.",
              MRA_GUIDE, 87, _xcp_refused),
    Signature("expired-token-replay-blocked", ISSUE, "Client address blocked by intrusion protection",
              "The client kept presenting an expired/invalid token; more than 5 authorization failures from one "
              "address within the window make Expressway-E block the address for 10 minutes.",
              "Let the block expire (or unblock the address under Intrusion protection), and fix the client so it "
              "refreshes instead of replaying the expired token.", EXP_ADMIN, 85, _replay_blocked),
    Signature("clock-skew-e-c", ISSUE, "403 with Expressway-E and Expressway-C clocks apart",
              "Expressway-E and Expressway-C disagree on the time, so time-limited credentials issued on one are "
              "judged expired or not yet valid on the other (403).",
              "Point both Expressways (and CUCM) at the same NTP servers and check System > Time.", MRA_GUIDE, 84,
              _clock_skew),
    Signature("ils-missing-two-clusters", ISSUE, "The same user is found on one cluster and not on another",
              "With several CUCM clusters, a user homed on another cluster is found only through ILS; ILS is missing "
              "or broken, so depending on which cluster Expressway-C asks the user is 'not found' (intermittent 401).",
              "Configure ILS between the clusters (Advanced Features > ILS Configuration) and check 'show "
              "itl'/'utils ils' status.", MRA_GUIDE, 84, _ils_missing),
    Signature("no-home-cluster", ISSUE, "UDS returns no home cluster for the user",
              "The user exists but has no home cluster in UDS, so Expressway-C gets an empty userUdsServer and "
              "cannot route the login.",
              "In CUCM End User configuration check 'Home Cluster' for the user (and on one cluster only).",
              MRA_GUIDE, 84, _no_home_cluster),
    Signature("user-id-case-mismatch", ISSUE, "The user id is spelled with different case on different nodes",
              "Jabber signs in as one spelling of the user id and CUCM/Expressway record another; the token's subject "
              "and the user in the request differ in case, so authorization fails.",
              "Make the sign-in id match the CUCM user id exactly (LDAP sync attribute), or have users sign in "
              "with the case CUCM uses.", JABBER_GUIDE, 86, _case_mismatch),
    Signature("user-not-found", ISSUE, "CUCM does not know the user (clusterUser found=\"false\")",
              "The user id typed at sign-in is not a CUCM end user on any cluster Expressway-C asked, so C refuses "
              "the login before asking for a code.",
              "Check the user id (and the sign-in domain) against CUCM End Users; sync the user from LDAP.",
              MRA_GUIDE, 82, _user_not_found),
    Signature("wrong-password-oauth", ISSUE, "Sign-in refused by CUCM: invalid user credentials",
              "The password typed into the Expressway login page is wrong (CUCM authorize_proxy answers "
              "access_denied), or the account is locked in CUCM/LDAP.",
              "Have the user re-enter the password; check the account in CUCM/LDAP (lockout, expiry).", OAUTH_GUIDE,
              80, _wrong_password_oauth),
    Signature("wrong-password-credentials", ISSUE, "Credential login refused: 401 Basic realm=\"Cisco-Edge\"",
              "On the credentials path (no OAuth) Expressway-C checks the user's password against UDS, and UDS "
              "refused it.", "Have the user re-enter the password; check the account in CUCM/LDAP.", MRA_GUIDE, 80,
              _wrong_password_credentials),
    Signature("edge-cert-untrusted", ISSUE, "Jabber refuses Expressway-E's certificate: not signed by a trusted CA",
              "Expressway-E presents a certificate (here self-signed, or from a private CA) that the clients' "
              "operating systems do not trust, so Jabber aborts the TLS handshake on 8443 before any request.",
              "Install on Expressway-E a certificate from a CA every client trusts (public CA), with E's FQDN and the "
              "MRA domains in its SAN.", f"{CERT_GUIDE}; {JABBER_CERTS}", 93, _edge_cert_untrusted),
    Signature("edge-cert-san-missing-domain", ISSUE, "Expressway-E's certificate lacks the MRA domain in its SAN",
              "Jabber checks Expressway-E's certificate against the services domain it discovered E through; the "
              "SAN carries E's FQDN but not the MRA domain, so the name check fails (Hostname mismatch).",
              "Reissue Expressway-E's certificate with every MRA domain (lab.example or collab-edge.lab.example) in "
              "the SAN, next to E's FQDN.", f"{MRA_GUIDE}, 'Certificate requirements'; {CERT_GUIDE}", 93,
              _edge_cert_san),
    Signature("edge-cert-expired", ISSUE, "Expressway-E's certificate has expired",
              "Expressway-E's server certificate is past its 'Valid to' date; every client refuses it in the TLS "
              "handshake.", "Renew Expressway-E's certificate (same CA, same SANs) and install it; act on the "
              "certificate expiry alarms.", CERT_GUIDE, 93, _edge_cert_expired),
    Signature("cucm-tomcat-renewed-not-retrusted", ISSUE,
              "CUCM's Tomcat certificate was renewed and Expressway-C does not trust the new one",
              "CUCM regenerated its (self-signed) Tomcat certificate; Expressway-C trusted the old one only, and with "
              "TLS verify mode On it refuses the new one in every handshake to CUCM.",
              "Upload the renewed Tomcat certificate (or its CA) to Expressway-C's trusted CA list and Refresh "
              "servers; re-trust after every renewal, or use CA-signed certificates.",
              f"{TS_VERIFY}; {CUCM_RENEWAL}", 92, _tomcat_renewed),
    Signature("cucm-tomcat-untrusted", ISSUE, "Expressway-C refuses CUCM's Tomcat certificate (TLS verify mode On)",
              "CUCM's Tomcat certificate is not signed by a CA on Expressway-C's trusted CA list (here it is "
              "self-signed and was never uploaded), and C's TLS verify mode for the server is On, so every HTTPS "
              "call from C to CUCM fails the handshake.",
              "Upload CUCM's Tomcat certificate or its CA to Expressway-C's trusted CA list and Refresh servers; keep "
              "TLS verify mode On.", f"{TS_VERIFY}; {MRA_GUIDE}", 91, _tomcat_untrusted),
    Signature("collab-edge-srv-missing", ISSUE, "No _collab-edge SRV record in the public DNS",
              "Service discovery from outside found neither _cisco-uds (as expected) nor _collab-edge._tls for the "
              "domain, so Jabber has no Expressway-E to connect to.",
              "Create _collab-edge._tls.<domain> (port 8443, target Expressway-E's FQDN) in the public DNS.",
              f"{MRA_GUIDE}, 'DNS records'; {JABBER_GUIDE}", 93, _edge_srv_missing),
    Signature("edge-a-record-missing", ISSUE, "The _collab-edge SRV target has no A record in the public DNS",
              "The SRV lookup succeeds but the SRV target (Expressway-E's FQDN) cannot be resolved: its A record is "
              "missing from the public DNS, so Jabber cannot open a connection (UNRESOLVED_HOST_ERROR).",
              "Create the A record of Expressway-E's FQDN in the public DNS, the name the SRV record points at.",
              f"{JABBER_LOGIN}; {MRA_GUIDE}, 'DNS records'", 92, _edge_a_record),
    Signature("cert-san-missing", ISSUE, "TLS name mismatch on Expressway-E's certificate",
              "Expressway-E's certificate does not list the edge domain / FQDN the client connects to in its SAN.",
              "Reissue Expressway-E's certificate with the collab-edge domain and FQDN in the SAN.", MRA_GUIDE, 80,
              _cert_san, FACTS_ONLY),
    Signature("untrusted-ca-c-cucm", ISSUE, "TLS between Expressway-C and CUCM fails: unknown CA",
              "Expressway-C does not trust the CA that signed CUCM's (tomcat) certificate, or the reverse.",
              "Upload the CA of CUCM's tomcat certificate to Expressway-C's trusted CA list (and C's CA to CUCM's "
              "tomcat-trust).", MRA_GUIDE, 80, _unknown_ca, FACTS_ONLY),
    Signature("refresh-disabled-or-too-old", ISSUE, "CUCM refuses the authorization code grant",
              "CUCM answered unsupported_response_type to response_type=code: either 'OAuth with Refresh Login Flow' "
              "is Disabled or the release is older than 11.5(1)SU3.",
              "Enable 'OAuth with Refresh Login Flow' on CUCM, or upgrade CUCM.", OAUTH_GUIDE, 78,
              _refresh_disabled_generic),
    Signature("refresh-token-refused", ISSUE, "Token refresh refused (invalid_grant)",
              "CUCM refused the refresh token (expired, revoked, flushed, or issued by another node/cluster); Jabber "
              "cleared its tokens and needs a full sign-in.",
              "Read CUCM's ssosp log on the issuing node for the exact reason.", OAUTH_GUIDE, 76, _refresh_refused),
    Signature("access-token-expired", ISSUE, "Expressway-C refuses an expired access token",
              "The access token presented is past its life (default 60 minutes); Jabber should refresh it before "
              "expiry. Repeated replays of an expired token trip intrusion protection.",
              "Normal once: the client refreshes. If it repeats, check the client's clock and its refresh (Jabber "
              "≥ 11.9, refresh enabled on CUCM).", OAUTH_GUIDE, 75, _access_expired),
    Signature("internal-auth-check-mixed-capability", ISSUE, "Token reuse off while OAuth is attempted",
              "'Check for internal authentication availability' is No on Expressway-C while clusters differ in "
              "OAuth capability, so Expressway answers get_edge_sso without asking CUCM and the client picks a "
              "login method that some cluster cannot serve.",
              "Set 'Check for internal authentication availability' to Yes on Expressway-C, or make every cluster "
              "OAuth-capable.", MRA_GUIDE, 88, _mixed_capability),
)

CATALOGUE_NAMES = (
    "healthy-login", "oauthlocal-off", "keys-regenerated-c-not-refreshed", "authz-keys-differ-across-nodes",
    "refresh-disabled-on-cucm", "refresh-token-expired", "refresh-token-revoked", "issuing-subscriber-down-at-refresh",
    "expired-token-replay-blocked", "clock-skew-e-c", "wrong-password-credentials", "wrong-password-oauth",
    "user-not-found", "no-home-cluster", "ils-missing-two-clusters", "domain-not-configured", "srv-target-mismatch",
    "internal-auth-check-mixed-capability", "mra-disabled-in-profile", "cucm-too-old-for-code-grant",
    "ssh-tunnel-down", "http-allow-list-missing", "imp-realm-stale", "xmpp-bind-conflict", "user-id-case-mismatch",
)
