"""Diagnostic signatures for SAML SSO over the edge (issue 14), in the form of :mod:`analyzer.signatures`.

Each reads what Expressway-C, CUCM, Jabber and the IdP (``idp-process.log``) log during an SSO login (docs/sso.md, "Which log shows which step") and
is keyed by the catalogue scenario it explains. They rank above the generic signatures the same symptoms would
otherwise trip (``user-not-found``, ``wrong-password-oauth``, ``cucm-too-old-for-code-grant``): an SSO login that
fails the same way has a more specific cause.
"""

from __future__ import annotations

from analyzer.facts import NODES_C, NODES_J, NODES_U, Facts
from analyzer.model import IDP, ISSUE, Event
from analyzer.signatures import Signature

MRA_SSO = ("Mobile and Remote Access Through Cisco Expressway Deployment Guide, 'Single Sign-On (SSO) over the "
           "Collaboration Edge'")
SAML_GUIDE = "SAML SSO Deployment Guide for Cisco Unified Communications Applications"
NODES_IDP = (IDP,)
SPRING = "Spring Security SAML / OpenSAML error texts (the SAML stack of CUCM's ssosp)"


def _refused(f: Facts, *needles: str) -> list[Event]:
    return f.find(lambda e: e.get("Detail") == "SAML response refused"
                  and any(n in e.get("Reason") for n in needles), NODES_C, needles)


def _accepted_then_not_found(f: Facts, address: bool) -> list[Event]:
    """The IdP's assertion was accepted for a uid, and then CUCM had no such user."""
    accepted = {e.get("Username"): e for e in f.field("Detail", "SAML response accepted", nodes=NODES_C)}
    out = []
    for event in f.find(lambda e: e.get("Detail") == "Failed authorization" and e.get("Reason") == "User not found",
                        NODES_C, ("User not found",)):
        user = event.get("Username")
        if user in accepted and ("@" in user) == address:
            out += [accepted[user], event]
    return out


def _sp_certificate(f: Facts) -> list[Event]:
    """The IdP refused C's AuthnRequest signature: in its own log (idp-process.log), or as Jabber's browser saw it."""
    refused = f.text("Validation of request simple signature failed", nodes=NODES_IDP)[:1] \
        + f.text("not signed with the key this login service holds", nodes=NODES_J)
    return refused + f.field("Detail", "SAML certificate renewed", nodes=NODES_C) if refused else []


def _idp_rollover(f: Facts) -> list[Event]:
    return _refused(f, "Validation of protocol message signature failed")


def _assertion_expired(f: Facts) -> list[Event]:
    return _refused(f, "Assertion is no longer valid", "Assertion is not yet valid")


def _uid_mapping(f: Facts) -> list[Event]:
    return _refused(f, "Attribute uid not found") + _accepted_then_not_found(f, address=True)


def _user_unknown(f: Facts) -> list[Event]:
    return _accepted_then_not_found(f, address=False)


def _sso_off_on_expressway(f: Facts) -> list[Event]:
    refused = f.text("SAML SSO is enabled on this cluster", nodes=NODES_U)
    return refused + f.find(lambda e: e.get("Detail") == "Failed authorization", NODES_C,
                            ("Failed authorization",))[:1] if refused else []


def _browser_failed(f: Facts) -> list[Event]:
    return f.find(lambda e: "idp_sso: navigation to" in e.message and "failed" in e.message, NODES_J,
                  ("idp_sso: navigation to",))


def _idp_unreachable(f: Facts) -> list[Event]:
    return [e for e in _browser_failed(f) if "failed: tls" not in e.message]


def _idp_certificate_untrusted(f: Facts) -> list[Event]:
    """The browser refused the IdP's certificate (its own words), and the IdP saw the handshake fail."""
    refused = [e for e in _browser_failed(f) if "failed: tls: certificate verify failed" in e.message]
    return refused + f.text("SSL handshake failed with")[:1] if refused else []


def _implicit_only(f: Facts) -> list[Event]:
    accepted = f.field("Detail", "SAML response accepted", nodes=NODES_C)
    refused = f.find(lambda e: "unsupported_response_type" in e.get("Reason") and "not supported by CUCM" in
                     e.get("Reason"), NODES_C, ("not supported by CUCM",))
    return accepted[:1] + refused if accepted and refused else []


SSO_CATALOGUE: tuple[Signature, ...] = (
    Signature("sso-sp-certificate-renewed", ISSUE, "The IdP refuses Expressway-C's signed SAML request",
              "The certificate behind Expressway-C's SAML metadata was renewed and the IdP still trusts the metadata "
              "exported before, so it refuses the AuthnRequest's signature before showing its login page.",
              "Export the SAML metadata from Expressway-C again (Export SAML data) and update the IdP's relying-party "
              "trust; repeat after every renewal.", MRA_SSO, 96, _sp_certificate),
    Signature("sso-idp-signing-rollover", ISSUE, "Expressway-C refuses the IdP's SAML response signature",
              "The IdP signs with a certificate that is not the one in the IdP metadata imported on Expressway-C: its "
              "token-signing certificate rolled over and the new metadata was never imported.",
              "Import the IdP's current metadata on Expressway-C (Identity Providers (IdP) > Import new IdP from "
              "SAML).", f"{MRA_SSO}; {SPRING}", 96, _idp_rollover),
    Signature("sso-assertion-expired-clock-skew", ISSUE, "SAML assertion already expired on arrival (clock skew)",
              "The assertion's NotOnOrAfter, stamped from the IdP's clock, is already past on Expressway-C's clock: "
              "the clocks are minutes apart (60 s of skew is allowed).",
              "Synchronise the IdP and the Expressways to the same NTP servers.", f"{MRA_SSO}; {SPRING}", 96,
              _assertion_expired),
    Signature("sso-uid-mapped-to-mail", ISSUE, "The IdP's uid attribute does not hold the CUCM user ID",
              "The IdP releases no uid attribute, or maps it to the mail address, so the user it names does not exist "
              "in CUCM.",
              "Map the uid claim to the attribute that holds the CUCM user ID (sAMAccountName in AD FS).",
              SAML_GUIDE, 95, _uid_mapping),
    Signature("sso-user-unknown-to-cucm", ISSUE, "The IdP signs in a user CUCM does not have",
              "The assertion is good, but CUCM has no user with that uid (not synchronised from LDAP yet, or filtered "
              "out of the sync).",
              "Add the user to CUCM with the user ID the IdP releases as uid (LDAP sync or End User).", SAML_GUIDE,
              94, _user_unknown),
    Signature("sso-off-on-expressway", ISSUE, "SSO on CUCM, off over the edge: password sign-in refused",
              "SAML SSO is enabled on CUCM while 'Single sign-on support' is off on Expressway-C: Jabber gets "
              "Expressway's password form and CUCM refuses passwords for its SSO users.",
              "Turn 'Single sign-on support' On on Expressway-C (with OAuth with refresh) and import the IdP's "
              "metadata.", MRA_SSO, 94, _sso_off_on_expressway),
    Signature("sso-idp-unreachable", ISSUE, "Jabber's browser cannot reach the IdP from outside",
              "Expressway-C redirected the embedded browser to the IdP, but the IdP is not reachable from the "
              "internet (internal DNS only, or firewalled).",
              "Publish the IdP (or its proxy) in public DNS and open it to remote clients.", MRA_SSO, 94,
              _idp_unreachable),
    Signature("sso-idp-certificate-untrusted", ISSUE, "Jabber's browser does not trust the IdP's certificate",
              "Expressway-C redirected the embedded browser to the IdP, and the browser refused the IdP's HTTPS "
              "certificate in the TLS handshake: it is signed by a CA the client does not trust (an internal CA, or "
              "self-signed), so the IdP's login page never loads.",
              "Give the IdP (or its internet-facing proxy, e.g. AD FS Web Application Proxy) a certificate from a CA "
              "the clients trust, with the IdP's FQDN in its SAN, or deploy that CA to the clients.",
              f"{MRA_SSO}; Cisco TAC doc 118774, Configure Cisco Jabber for SAML SSO", 96,
              _idp_certificate_untrusted),
    Signature("sso-cucm-implicit-only", ISSUE, "CUCM gives SSO users only the implicit grant",
              "After a good SAML login Expressway-C asks for an authorization code, and this CUCM release (before "
              "11.5(1)SU3) offers SSO only with the implicit grant.",
              "Upgrade CUCM/IM&P to 11.5(1)SU3 or later, or use 'Authorize by OAuth token' without refresh.",
              MRA_SSO, 95, _implicit_only),
)
