"""CUCM's SIP line side as decisions, no sockets: a REGISTER in, a response and SDL trace text out (Rule 2).

The rules, from Cisco TAC 215572 "Cisco Jabber and SIP OAuth Mode" and the MRA deployment guide (docs/sip.md):

* With SIP OAuth (ClusterSIPOAuthMode 1 and "Enable OAuth Authentication" on the phone security profile), a
  REGISTER over Expressway arrives on the SIP MRA OAuth port (5091, mutual TLS, the peer's certificate checked against
  Tomcat-trust and against the Expressway-C names in ``expresswaycconfiguration``). Without credentials it is
  challenged ``407`` ``Proxy-Authenticate: Bearer realm="ccmsipline"``; with a Bearer token it is accepted when the
  token verifies with the cluster's keys, has not expired and belongs to the device's owner — otherwise challenged
  again with ``error="invalid_token"`` (RFC 8898 §2.3, RFC 6750 §3.1).
* A REGISTER relayed by proxies to the on-premises OAuth port (5090, TLS without a client certificate) is refused
  ``403`` with ``Warning: 399 <node> "SIP OAuth Registration port Mismatch"`` (TAC 215572 scenario 1; which requests
  CUCM counts as relayed is modelled: more than one Via).
* Without SIP OAuth (the classic path) the REGISTER comes on the secure port 5061 over C's certificate; an encrypted
  phone security profile needs its name in that certificate (modelled: ``403`` with a Warning when missing), then
  Digest (``401``, realm ``ccmsipline``) with the end user's digest credentials (the lab uses the user's password).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from common.config import ClusterConfig, Lab
from common.stormusers import device_owner, find_user
from common.sip import auth
from common.sip.message import NameAddr, SipMessage, response_to
from common.tokens import KeyRing, TokenError, read_access_token

DEVICE_PARAM = re.compile(r'\+u\.sip!devicename\.ccm\.cisco\.com="?([^";>]+)"?')
PORT_MISMATCH = "SIP OAuth Registration port Mismatch"


@dataclass
class Registration:
    device: str
    user: str
    contact: str
    expires_at: float
    port: int
    auth: str
    token_expires: float = 0.0


@dataclass
class LineState:
    """Who is registered, and the Digest nonces CUCM handed out (one per device)."""

    registrations: dict[str, Registration] = field(default_factory=dict)
    nonces: dict[str, str] = field(default_factory=dict)

    def active(self, now: float) -> list[Registration]:
        return [r for r in self.registrations.values() if r.expires_at > now]


@dataclass(frozen=True)
class Arrival:
    """How the REGISTER reached CUCM: the port kind and the peer's certificate names (empty without mutual TLS)."""

    kind: str  # "oauth" (5090), "mra" (5091) or "secure" (5061)
    port: int
    peer_names: tuple[str, ...]
    tls: bool = True  # False on the plain-TCP lab ([tls] enabled = false): no certificate to check (modelled)


@dataclass(frozen=True)
class Decision:
    response: SipMessage
    notes: tuple[str, ...]


def device_of(req: SipMessage) -> str:
    match = DEVICE_PARAM.search(req.get("Contact", "") or "")
    return match.group(1) if match else ""


class SipLine:
    """The line side of one cluster's publisher: it knows the devices of its own cluster's users only (each cluster
    has its own database), so a device of another cluster is not found here."""

    def __init__(self, lab: Lab, cluster: ClusterConfig, state: LineState | None = None) -> None:
        self.lab = lab
        self.sip = lab.sip
        self.node = cluster.listener.host.split(".")[0]
        self.state = state or LineState()
        self.cluster = cluster.name
        self.owner_of = device_owner(lab.users)  # looked up per REGISTER: storm users are made only when asked for
        self.find_user = find_user(lab.users)
        self.expressway_c = (lab.core.listener.host, *lab.sip.c_san)
        self.server = f"Cisco-CUCM{'.'.join(cluster.version.split('.')[:2])}"

    def _password(self, userid: str) -> str:
        user = self.find_user(userid)
        return user.password if user is not None else ""

    def decide(self, req: SipMessage, arrival: Arrival, ring: KeyRing, now: float) -> Decision:
        if req.method != "REGISTER":
            return self._answer(req, 405, ["method not served by the lab's line side"], [("Allow", "REGISTER")])
        device = device_of(req)
        found = self.owner_of(device) if device else None
        owner = found.userid if found is not None and found.cluster == self.cluster and any(
            d.name == device for d in found.devices) else None
        if owner is None:
            return self._answer(req, 404, [f"device {device or '(none)'} not found in the database"])
        oauth = self.sip.oauth_mode and self.sip.profile_oauth
        if oauth:
            return self._oauth(req, arrival, device, owner, ring, now)
        return self._classic(req, arrival, device, owner, now)

    def _oauth(self, req: SipMessage, arrival: Arrival, device: str, owner: str, ring: KeyRing,
               now: float) -> Decision:
        if arrival.kind == "oauth" and len(req.vias) > 1:
            return self._answer(req, 403, [f"{device}: REGISTER relayed to the SIP OAuth port {arrival.port} over TLS,"
                                           " expected mTLS on the SIP MRA OAuth port"],
                                [("Retry-After", "35"), ("Warning", f'399 {self.node} "{PORT_MISMATCH}"')])
        if arrival.kind == "mra" and arrival.tls and not set(arrival.peer_names) & set(self.expressway_c):
            return self._answer(req, 403, [f"peer certificate {arrival.peer_names} not in expresswaycconfiguration"])
        if arrival.kind == "secure":
            return self._answer(req, 403, [f"{device}: OAuth profile, REGISTER on the non-OAuth port {arrival.port}"],
                                [("Warning", f'399 {self.node} "{PORT_MISMATCH}"')])
        token = auth.bearer_token(req.get("Proxy-Authorization"))
        if token is None:
            return self._challenge(req, [f"{device}: no Bearer credentials, challenging"])
        try:
            claims = read_access_token(token, ring, now)
        except TokenError as exc:
            return self._challenge(req, [f"{device}: OAuth token refused: {exc.reason}"], error="invalid_token")
        if claims.get("sub") != owner:
            return self._challenge(req, [f"{device}: token of user {claims.get('sub')} but the device is associated "
                                         f"with {owner}"], error="invalid_token")
        return self._accept(req, device, owner, arrival, now, "oauth", float(claims.get("exp", 0)))

    def _classic(self, req: SipMessage, arrival: Arrival, device: str, owner: str, now: float) -> Decision:
        if arrival.kind != "secure":
            return self._answer(req, 403, [f"{device}: SIP OAuth is off, REGISTER on port {arrival.port}"],
                                [("Warning", f'399 {self.node} "{PORT_MISMATCH}"')])
        if arrival.tls and self.sip.profile_name not in arrival.peer_names:
            # the SDL trace's words, as a real CUCM wrote them (Cisco doc 211304, Issue 5)
            received = arrival.peer_names[0] if arrival.peer_names else ""
            notes = [f"validTLSConnection:TLS InvalidX509NameInCertificate, Rcvd={received} , Expected={device}. "
                     "Will check SAN the next",
                     f"validTLSConnection:TLS InvalidX509NameInCertificate Error , did not find matching SAN either, "
                     f"Rcvd={received}, Expected={self.sip.profile_name}"]
            return self._answer(req, 403, notes,
                                [("Warning", f'399 {self.node} "Certificate subject name mismatch for profile '
                                             f'{self.sip.profile_name}"')])
        if self.sip.digest_auth:
            nonce = self.state.nonces.get(device)
            given = req.get("Authorization")
            if nonce is None or not auth.check_digest(given, "REGISTER", owner, self._password(owner),
                                                      nonce):
                nonce = self.state.nonces[device] = secrets.token_hex(16)
                note = f"{device}: digest credentials {'refused' if given else 'missing'}, challenging"
                return self._answer(req, 401, [note], [("WWW-Authenticate",
                                                       auth.digest_challenge(auth.CCMSIPLINE, nonce))])
        return self._accept(req, device, owner, arrival, now, "digest" if self.sip.digest_auth else "tls", 0.0)

    def _accept(self, req: SipMessage, device: str, owner: str, arrival: Arrival, now: float, how: str,
                token_exp: float) -> Decision:
        requested = int(req.get("Expires", str(self.sip.expires)) or self.sip.expires)
        contact = req.get("Contact", "") or ""
        if requested == 0:
            self.state.registrations.pop(device, None)
            return self._answer(req, 200, [f"{device}: unregistered"], [("Contact", contact), ("Expires", "0")])
        granted = min(requested, self.sip.granted_expires)
        self.state.registrations[device] = Registration(device, owner, NameAddr.parse(contact).uri, now + granted,
                                                        arrival.port, how, token_exp)
        return self._answer(req, 200, [f"{device}: registered ({how}) for {granted}s"],
                            [("Expires", str(granted)), ("Contact", f"{contact};x-cisco-newreg"),
                             ("Supported", "X-cisco-srtp-fallback,X-cisco-sis-9.1.0")])

    def _challenge(self, req: SipMessage, notes: list[str], error: str | None = None) -> Decision:
        return self._answer(req, 407, notes, [("Proxy-Authenticate", auth.bearer_challenge(error=error))])

    def _answer(self, req: SipMessage, status: int, notes: list[str],
                extra: list[tuple[str, str]] | None = None) -> Decision:
        headers = [("Server", self.server), *(extra or [])]
        return Decision(response_to(req, status, extra=headers, to_tag=str(secrets.randbelow(2**31))), tuple(notes))
