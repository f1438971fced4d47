"""Expressway-C's XCP router, the decisions: which SASL mechanisms the edge may offer, and what to do with an ``<auth>``.

Expressway-C does not offer IM&P's mechanisms as they are. Its XCP router asks the IM&P auth component for the list
(the seed's ``xdb`` ``get``) and keeps only what C's MRA access control allows (Cisco *Mobile and Remote Access
Through Cisco Expressway Deployment Guide*, "MRA Access Control"; mra-facts §6, §7):

* ``OAUTHBEARER`` when ``xConfiguration CollaborationEdge OAuthLocal`` ("Authorize by OAuth token with refresh") is On;
* ``CISCO-VTG-TOKEN`` when ``LegacyCred`` ("Authorize by user credentials") is On;
* never ``PLAIN``: over MRA a credential login presents an EPAS one-time password, not the password itself (the seed's
  features line, with LegacyCred On, offers ``CISCO-VTG-TOKEN`` alone).

The router reads those two settings when it starts (:class:`XcpSettings`) and keeps them until the node restarts —
the staleness behind the seed's field issue (see :mod:`core.xconfig`).

An ``OAUTHBEARER`` ``<auth>`` is checked at C before it reaches IM&P: the access token goes to C's own
credentialmanager (``POST http://127.0.0.1:9998/OAuthvalidator?reqtype=access``, as for HTTP), and the user it names
must be the authorization identity the client claimed. All functions here are pure; :mod:`core.xcplink` does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.config import CoreConfig
from common.xmpp import sasl
from common.xmpp.sasl import Auth, SaslFailure
from common.xmpp.stanzas import Jid

THREADS = {"sdns": "140493154612992", "connect_auth": "140493163005696", "router": "140493146220288"}


@dataclass(frozen=True)
class XcpSettings:
    """What the XCP router read from the configuration when it started."""

    oauth_local: bool
    legacy_cred: bool

    @classmethod
    def from_config(cls, config: CoreConfig) -> XcpSettings:
        return cls(config.oauth_local, config.legacy_cred)

    def allows(self) -> frozenset[str]:
        allowed = set()
        if self.oauth_local:
            allowed.add(sasl.OAUTHBEARER)
        if self.legacy_cred:
            allowed.add(sasl.VTG_TOKEN)
        return frozenset(allowed)


def edge_mechanisms(imp_offers: tuple[str, ...], settings: XcpSettings) -> tuple[str, ...]:
    """IM&P's list, in IM&P's order, less what C's configuration does not allow over the edge."""
    allowed = settings.allows()
    return tuple(m for m in imp_offers if m in allowed)


@dataclass(frozen=True)
class Forward:
    """Route the ``<auth>`` to IM&P as it is."""


@dataclass(frozen=True)
class ValidateToken:
    """Ask credentialmanager about ``token`` first; the user it names must be ``claimed``."""

    claimed: str
    token: str


def decide_auth(auth: Auth, offered: tuple[str, ...], stream_jid: str) -> Forward | ValidateToken:
    """Refuse a mechanism the edge did not offer (RFC 6120 §6.4.2: ``invalid-mechanism``); read OAUTHBEARER."""
    if auth.mechanism not in offered:
        known = "disabled on this Expressway" if auth.mechanism in sasl.ALL else "unknown"
        raise SaslFailure("invalid-mechanism", f"{auth.mechanism} is {known}")
    if auth.mechanism != sasl.OAUTHBEARER:
        return Forward()
    authzid, token = sasl.read_oauthbearer(auth.payload)
    return ValidateToken(authzid or stream_jid, token)


def check_token_user(claimed: str, validated_user: str, domain: str) -> None:
    """RFC 7628 §3.2.1: the token must be good for the identity the client asked to act as."""
    if not validated_user:
        raise SaslFailure("not-authorized", "access token refused by credentialmanager")
    if not claimed:
        return
    try:
        jid = Jid.parse(claimed) if "@" in claimed else Jid(claimed, domain)
    except ValueError:
        raise SaslFailure("invalid-authzid", f"not a JID: {claimed!r}") from None
    if jid.domain != domain or jid.local != validated_user:
        raise SaslFailure("not-authorized", f"token of {validated_user} presented for {jid.bare}")
