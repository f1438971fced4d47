"""IM&P's XCP Authentication Service, sans-IO: which SASL mechanisms it offers and whether an ``<auth>`` passes.

IM&P advertises ``PLAIN``, ``CISCO-VTG-TOKEN`` and ``OAUTHBEARER`` (mra-facts §7; the seed's mechanisms answer). Each
mechanism ends in the same question — which user is this? — answered without I/O:

* ``PLAIN`` (RFC 4616): the user's password, checked against the directory IM&P synchronises from CUCM;
* ``CISCO-VTG-TOKEN``: a one-time password from :class:`OneTimePasswords`, issued by the EPAS SOAP login, valid once
  and for :data:`OTP_LIFETIME` seconds of lab time — a replay is ``not-authorized``;
* ``OAUTHBEARER`` (RFC 7628): the access token read with the cluster's AuthZ keys (IM&P holds them like every node of
  the cluster, mra-facts §5); its subject must be the authorization identity, or the stream's ``from``.

Every refusal is a :class:`common.xmpp.sasl.SaslFailure` (RFC 6120 §6.5) whose text says why, for the log; the client
sees the condition.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from common.clock import LabClock
from common.tokens import KeyRing, TokenError, read_access_token, token_digest
from common.xmpp import sasl
from common.xmpp.sasl import Auth, SaslFailure
from common.xmpp.stanzas import Jid
from common.directory import Directory

OTP_LIFETIME = 300
OFFERED = (sasl.PLAIN, sasl.VTG_TOKEN, sasl.OAUTHBEARER)


@dataclass
class OneTimePasswords:
    """EPAS one-time passwords, kept as SHA-256 digests and consumed on first use."""

    lifetime: int = OTP_LIFETIME
    _live: dict[str, tuple[str, float]] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)

    def issue(self, userid: str, now: float) -> str:
        self._live = {k: v for k, v in self._live.items() if v[1] > now}
        otp = secrets.token_hex(16)
        self._live[token_digest(otp)] = (userid, now + self.lifetime)
        return otp

    def redeem(self, userid: str, otp: str, now: float) -> None:
        key = token_digest(otp)
        record = self._live.pop(key, None)
        if record is None:
            reason = "one-time password already used" if key in self._used else "one-time password unknown"
            raise SaslFailure("not-authorized", reason)
        self._used.add(key)
        owner, expires = record
        if now >= expires:
            raise SaslFailure("credentials-expired", "one-time password expired")
        if not hmac.compare_digest(owner, userid):
            raise SaslFailure("not-authorized", f"one-time password was issued to {owner}, not {userid}")


@dataclass
class ImpAuthenticator:
    """Decides on ``<auth>`` for one IM&P node: ``verify`` returns the bare JID or raises ``SaslFailure``."""

    domain: str
    directory: Directory
    ring: KeyRing
    clock: LabClock
    otps: OneTimePasswords = field(default_factory=OneTimePasswords)
    offered: tuple[str, ...] = OFFERED

    def mechanisms(self) -> tuple[str, ...]:
        return self.offered

    def verify(self, auth: Auth, stream_from: str = "") -> Jid:
        if auth.mechanism not in self.offered:
            raise SaslFailure("invalid-mechanism", f"mechanism {auth.mechanism!r} is not offered")
        if auth.mechanism == sasl.PLAIN:
            authzid, authcid, password = sasl.read_plain(auth.payload)
            user = self._local(authcid)
            if self.directory.check_end_user(user, password) is None:
                raise SaslFailure("not-authorized", f"wrong password for {user}")
            return self._authorize(user, authzid)
        if auth.mechanism == sasl.VTG_TOKEN:
            userid, otp = sasl.read_vtg(auth.payload)
            user = self._local(userid)
            self.otps.redeem(user, otp, self.clock.timestamp())
            return self._authorize(user, "")
        authzid, token = sasl.read_oauthbearer(auth.payload)
        try:
            claims = read_access_token(token, self.ring, self.clock.timestamp())
        except TokenError as exc:
            raise SaslFailure("not-authorized", f"access token refused: {exc.reason}") from None
        subject = str(claims.get("sub", ""))
        claimed = authzid or stream_from
        if claimed and self._local(claimed) != subject:
            raise SaslFailure("not-authorized", f"token of {subject} presented for {self._local(claimed)}")
        return self._authorize(subject, "")

    def _local(self, name: str) -> str:
        """``user`` or ``user@<presence domain>`` → ``user``; another domain is not ours."""
        try:
            jid = Jid.parse(name) if "@" in name else Jid(name, self.domain)
        except ValueError:
            raise SaslFailure("malformed-request", f"not a user name: {name!r}") from None
        if jid.domain != self.domain:
            raise SaslFailure("not-authorized", f"{jid.bare} is not in the presence domain {self.domain}")
        return jid.local

    def _authorize(self, user: str, authzid: str) -> Jid:
        if authzid and self._local(authzid) != user:
            raise SaslFailure("invalid-authzid", f"{user} may not act as {authzid}")
        if self.directory.local_user(user) is None:
            raise SaslFailure("not-authorized", f"{user} is not a user of this cluster")
        return Jid(user, self.domain)
