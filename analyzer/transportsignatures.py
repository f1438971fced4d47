"""Diagnostic signatures for the edge transport (issue 11): Expressway-E's certificate as Jabber checks it, CUCM's
Tomcat certificate as Expressway-C checks it, the public DNS records Jabber discovers the edge through, and the
traversal zone's peer address.

Each reads the lines the lab writes in the products' words (docs/transport.md) and is keyed by the catalogue scenario
it explains; the knowledge base (:mod:`analyzer.knowledge`) holds the field's forms of the same failures.
"""

from __future__ import annotations

from analyzer.facts import NODES_C, NODES_E, NODES_J, NODES_U, Facts
from analyzer.model import ISSUE, Event
from analyzer.signatures import MRA_GUIDE, Signature

CERT_GUIDE = "Cisco Expressway Certificate Creation and Use Deployment Guide"
JABBER_CERTS = "Jabber Complete How-To Guide for Certificate Validation (Cisco doc 116917)"
TS_VERIFY = "Troubleshoot Expressway Traffic Server Certificate Verification for MRA Services (Cisco doc 218018)"
CUCM_RENEWAL = "Troubleshoot Common Issues with Certificate Renewal in CUCM (Cisco doc 225746)"
JABBER_LOGIN = "Troubleshoot Jabber Log in - Common Issues (Cisco doc 221845)"
JABBER_GUIDE = "Cisco Jabber Planning Guide, 'Mobile and Remote Access' and 'OAuth'"


def _edge_cert(f: Facts, *reasons: str) -> list[Event]:
    """Jabber refused Expressway-E's certificate for one of ``reasons`` (OpenSSL's verify messages)."""
    refused = f.find(lambda e: "Certificate verification of" in e.message and any(r in e.message for r in reasons),
                     NODES_J, ("Certificate verification of",))
    if not refused:
        return []
    return [*refused, *f.text("SSL_CONNECT_ERROR", nodes=NODES_J), *f.text("TLS negotiation failed", nodes=NODES_E)]


def _edge_cert_untrusted(f: Facts) -> list[Event]:
    return _edge_cert(f, "self-signed certificate", "unable to get local issuer certificate", "unknown ca")


def _edge_cert_san(f: Facts) -> list[Event]:
    return _edge_cert(f, "Hostname mismatch")


def _edge_cert_expired(f: Facts) -> list[Event]:
    return _edge_cert(f, "certificate has expired")


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
    failed = f.find(lambda e: "_collab-edge" in e.message and "has failed" in e.message, NODES_J, ("has failed",))
    return [*failed, *result] if result or failed else []


def _edge_a_record(f: Facts) -> list[Event]:
    unresolved = f.text("UNRESOLVED_HOST_ERROR", nodes=NODES_J)
    if not unresolved:
        return []
    return [*f.find(lambda e: "_collab-edge" in e.message and "has succeeded" in e.message, NODES_J,
                    ("has succeeded",)), *unresolved]


def _peer_unresolvable(f: Facts) -> list[Event]:
    """C cannot resolve the zone's peer address: every link fails before a packet leaves C."""
    return f.find(lambda e: e.get("Detail") in ("SSH tunnel failed", "XCP failed")
                  and e.get("Reason") == "Name resolution failed", NODES_C, ("Name resolution failed",))


TRANSPORT_SIGNATURES: tuple[Signature, ...] = (
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
              "CUCM's Tomcat certificate is not signed by a CA on Expressway-C's trusted CA list (self-signed and "
              "never uploaded: 'depth=0'; signed by a CA missing from the list: depth above 0), and C verifies it "
              "(TLS verify mode On; from X14.2 on every HTTPS request whatever the mode), so every HTTPS call from C "
              "to CUCM fails the handshake and the client gets 502.",
              "Upload CUCM's Tomcat certificate (or the tomcat-ECDSA one, if that is what it presents) or its CA "
              "chain to Expressway-C's trusted CA list on every cluster node and Refresh servers; keep TLS verify "
              "mode On ('xConfiguration EdgeConfigServer VerifyOriginServer: Off' only as a short-term workaround).",
              f"{TS_VERIFY}; {MRA_GUIDE}", 91, _tomcat_untrusted),
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
    Signature("traversal-peer-unresolvable", ISSUE, "Expressway-C cannot resolve the traversal zone's peer address",
              "The peer address on Expressway-C's traversal zone does not resolve in the internal DNS, so C opens "
              "neither the SSH tunnel (2222) nor the XCP link (7400) and E has no next hop (502).",
              "Set the zone's peer address to Expressway-E's FQDN as the internal DNS resolves it, or add the record.",
              MRA_GUIDE, 91, _peer_unresolvable),
)
