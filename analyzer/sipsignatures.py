"""Signatures of the phone-service (SIP registration) failures over MRA, one per catalogue scenario (issue 15).

Written from what the logs show: Expressway's ``tvcs`` event and ``network.sip`` lines, the Warning headers CUCM puts
in its answers (visible in every SIPMSG block and in Jabber's ``sipio-recv`` records), and Jabber's registration
state lines. Each outranks the generic OAuth signatures (priority 90+), because a SIP failure after a good login is
the more specific story. Sources: Cisco TAC 215572 "Cisco Jabber and SIP OAuth Mode"; the MRA deployment guide
(traversal zone, certificates); docs/sip.md.
"""

from __future__ import annotations

from analyzer.facts import NODES_C, NODES_E, NODES_J, Facts
from analyzer.model import ISSUE, Event
from analyzer.signatures import MRA_GUIDE, Signature

TAC_SIP_OAUTH = "Cisco TAC 215572, 'Cisco Jabber and SIP OAuth Mode'"
FAILED = "Registration state for"


def _sip_domain(f: Facts) -> list[Event]:
    return f.find(lambda e: e.get("Event") == "Request Rejected" and "is not a SIP domain" in e.get("Reason"),
                  NODES_E, ("is not a SIP domain",))


def _port_mismatch(f: Facts) -> list[Event]:
    return f.text("SIP OAuth Registration port Mismatch", nodes=NODES_J)


def _profile_san(f: Facts) -> list[Event]:
    return f.text("Certificate subject name mismatch for profile", nodes=NODES_J)


def _mtls_untrusted(f: Facts) -> list[Event]:
    failed = f.find(lambda e: e.get("Event") in ("TLS Negotiation Failed", "Connection Failed")
                    and e.get("Zone").startswith("CEOAuth"), NODES_C, ("CEOAuth",))
    return [*failed, *f.text(FAILED + "", nodes=NODES_J)] if failed else []


def _too_old(f: Facts) -> list[Event]:
    return f.find(lambda e: "no credentials for the Bearer scheme" in e.text and FAILED in e.text, NODES_J,
                  ("no credentials for the Bearer scheme",))


def _token_refresh(f: Facts) -> list[Event]:
    return f.find(lambda e: "token refresh failed; phone services need a new sign-in" in e.text, NODES_J,
                  ("token refresh failed; phone services need a new sign-in",))


def _zone_down(f: Facts) -> list[Event]:
    search = f.find(lambda e: e.get("Event") == "Search Failed" and "Traversal zone" in e.get("Reason"), NODES_E,
                    ("Search Failed",))
    refused = f.find(lambda e: e.get("Event") == "Zone Failed" and "Connection failed" in e.get("Detail"), NODES_C,
                     ("Zone Failed",))
    return [*refused, *search] if refused and search else []


def _peer_ip(f: Facts) -> list[Event]:
    return f.find(lambda e: e.get("Event") == "Zone Failed" and "IP address mismatch" in e.get("Detail"), NODES_C,
                  ("IP address mismatch",))


def _no_device(f: Facts) -> list[Event]:
    return f.text("no softphone (CSF) device", nodes=NODES_J)


SIP_SIGNATURES: tuple[Signature, ...] = (
    Signature("sip-domain-not-configured", ISSUE, "Expressway-E refuses the REGISTER: domain is not a SIP domain",
              "The domain of the REGISTER is not configured as a SIP domain on the Expressways, so Expressway-E "
              "answers 403 Forbidden and never passes it to the traversal zone.",
              "Configuration > Domains on Expressway-C: set SIP to On for the domain (and keep Unified CM "
              "registrations On).", MRA_GUIDE, 94, _sip_domain),
    Signature("sip-oauth-port-mismatch", ISSUE, "CUCM refuses the REGISTER: 'SIP OAuth Registration port Mismatch'",
              "The REGISTER reached CUCM's SIP OAuth port (5090, TLS) instead of the SIP MRA OAuth port (5091, "
              "mutual TLS from Expressway-C): the CEOAuth zone on Expressway-C points at the wrong port.",
              "Check 'SIP Phone OAuth Port' and 'SIP Mobile and Remote Access Port' on the CUCM node, then "
              "'Refresh servers' on Expressway-C so the CEOAuth zone targets 5091.", TAC_SIP_OAUTH, 94,
              _port_mismatch),
    Signature("profile-name-not-in-c-san", ISSUE, "CUCM refuses the REGISTER: security profile name not in C's "
              "certificate",
              "Without SIP OAuth the secure registration is carried on Expressway-C's TLS connection; CUCM expects "
              "the phone security profile name in C's certificate SAN and refuses it.",
              "Reissue Expressway-C's certificate with the phone security profile names (FQDN form) in the SAN, or "
              "use SIP OAuth.", MRA_GUIDE, 94, _profile_san),
    Signature("sip-mtls-c-untrusted-by-cucm", ISSUE, "Expressway-C cannot open mutual TLS to CUCM's SIP MRA port",
              "CUCM checks Expressway-C's certificate against its Tomcat-trust on the SIP MRA OAuth port (5091); "
              "C's CA is not there, the handshake fails ('unknown ca') and C answers the REGISTER 503.",
              "Upload the CA that signed Expressway-C's certificate to CUCM's tomcat-trust, restart the CallManager "
              "service, and refresh the servers on C.", TAC_SIP_OAUTH, 93, _mtls_untrusted),
    Signature("jabber-too-old-for-sip-oauth", ISSUE, "Jabber cannot answer CUCM's Bearer challenge",
              "SIP OAuth is on for the device, so CUCM challenges the REGISTER with 407 Bearer realm=\"ccmsipline\"; "
              "this Jabber (older than 12.5) only knows Digest and gives up.",
              "Upgrade Jabber to 12.5 or later, or disable 'Enable OAuth Authentication' on its phone security "
              "profile.", TAC_SIP_OAUTH, 94, _too_old),
    Signature("token-expired-at-reregistration", ISSUE, "Re-registration refused: the access token expired and "
              "could not be refreshed",
              "CUCM re-challenged a REGISTER refresh (invalid_token: the access token expired under the long-lived "
              "registration) and Jabber's token refresh was refused, so phone services stop until a new sign-in.",
              "Enable 'OAuth with Refresh Login Flow' and keep refresh tokens valid (expiry, revocation); check the "
              "refresh in the Jabber log.", TAC_SIP_OAUTH, 95, _token_refresh),
    Signature("traversal-zone-down-sip", ISSUE, "Phone services fail while IM works: the traversal zone is down",
              "Expressway-C cannot connect the Unified Communications traversal zone to Expressway-E (7001), so E "
              "has nowhere to send the REGISTER (503) while HTTP and XMPP still pass.",
              "Check the zone status on both Expressways and that TCP 7001 from C to E is open in the firewall.",
              MRA_GUIDE, 92, _zone_down),
    Signature("traversal-peer-address-ip", ISSUE, "Traversal zone Failed: TLS name check against an IP address",
              "Expressway-C's peer address for the zone is an IP address while Expressway-E's certificate carries "
              "its FQDN only, so the TLS verification fails.",
              "Set the zone's peer address to Expressway-E's FQDN as it appears in its certificate.", MRA_GUIDE, 93,
              _peer_ip),
    Signature("device-not-associated", ISSUE, "Jabber has no softphone device to register",
              "No CSF device is associated with the user in CUCM, so Jabber has no device configuration to fetch "
              "and phone services stay down.",
              "Associate a Cisco Unified Client Services Framework device with the end user (Controlled Devices).",
              MRA_GUIDE, 92, _no_device),
)
