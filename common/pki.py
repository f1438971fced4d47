"""The lab's PKI: a lab CA and one certificate per node, carrying the names Cisco's deployment guides require.

Which names, and why (Cisco *Mobile and Remote Access Through Cisco Expressway Deployment Guide*, "Certificate
requirements"; *Cisco Expressway Certificate Creation and Use Deployment Guide*; docs/transport.md):

* **Expressway-E** — its FQDN, and every domain configured for MRA on Expressway-C (the "Unified CM registrations
  domains"), so that Jabber, which checks E's certificate against the services domain it discovered E through
  (RFC 6125 §6.2.1, RFC 6120 §13.7.2), accepts it. Aliases of E (other DNS names it answers to) too.
* **Expressway-C** — its FQDN (the traversal zone's "TLS verify subject name" on E names it), and the names of the
  phone security profiles its MRA devices use (``[sip] c_san``): CUCM refuses a TLS registration relayed on a
  connection whose certificate does not carry the profile's name ("Certificate requirements", Unified CM).
* **CUCM** — the Tomcat certificate (HTTPS 8443: UDS, OAuth) and the CallManager certificate (SIP 5090, 5091 and
  5061, where Expressway-C's zones connect), each with the node's FQDN: Expressway-C checks them when its "TLS verify mode" for the server is On.
* **IM and Presence** — Tomcat (EPAS SOAP on 8443) and cup-xmpp, with the node's FQDN.
* **Unity Connection** — Tomcat, with its FQDN.
* **The SAML IdP** — its HTTPS (browser-facing) certificate, with its FQDN: Jabber's embedded browser checks it like any
  web site's (AD FS's "SSL certificate", Okta's or PingFederate's server certificate). Cisco's MRA deployment guide:
  "The domain that is on the IdP certificate must be published in the DNS so that clients can resolve the IdP".

Keys are EC P-256 (the products accept ECDSA certificates; generating RSA keys for every test lab would be slow —
see "What is modelled" in docs/transport.md). A certificate can be *staged* wrong on purpose (``CertStaging``): signed
by a CA nobody trusts, self-signed, expired, missing a name, or renewed after the peer trusted the old one — the
field's certificate failures. A user's own files replace a generated certificate (:mod:`common.pkifiles`).

Everything here is pure: :func:`build_pki` turns :class:`CertSpec` descriptions into PEM bytes, memoised per process
(the same lab makes the same certificates, so a test run pays for each distinct one once).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from common.labmodel import CertStaging, Lab

SIGNERS = ("lab-ca", "self-signed", "other-ca")
LAB_CA_NAME = "mrasim Lab Root CA"
OTHER_CA_NAME = "Untrusted Issuing CA"
VALID_DAYS = 730
# Fixed so that a lab's certificates are the same from run to run (and memoisable); moves on once a year.
_EPOCH = dt.datetime(dt.datetime.now(dt.timezone.utc).year - 1, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class CertSpec:
    """One certificate a node presents: ``role`` is the product's name for it (``tomcat``, ``CallManager`` …)."""

    node: str
    role: str
    common_name: str
    sans: tuple[str, ...]
    staging: CertStaging = field(default_factory=CertStaging)

    @property
    def key(self) -> str:
        """The file stem in the state folder and the name ``mrasim certs`` shows: ``cucm:cluster1 tomcat``."""
        return f"{self.node} {self.role}"

    @property
    def presented_sans(self) -> tuple[str, ...]:
        omitted = {n.lower() for n in self.staging.omit_sans}
        return tuple(n for n in self.sans if n.lower() not in omitted)


@dataclass(frozen=True)
class Issued:
    """A certificate and its key in PEM, and the certificate peers hold for it when it was renewed."""

    cert_pem: bytes
    key_pem: bytes
    previous_pem: bytes = b""


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str, unit: str = "Collaboration") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mrasim lab"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _serial(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:16], "big") >> 1


def _ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    name = _name(common_name, "Certificate Authority")
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(_serial("ca", common_name)).not_valid_before(_EPOCH)
            .not_valid_after(_EPOCH + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


@functools.cache
def lab_ca(common_name: str = LAB_CA_NAME) -> tuple[bytes, bytes]:
    """The lab's root CA (certificate PEM, key PEM); one per process per name."""
    cert, key = _ca(common_name)
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _leaf(spec: CertSpec, issuer: tuple[x509.Certificate, Any] | None, generation: str
          ) -> tuple[bytes, bytes]:
    key = _key()
    subject = _name(spec.common_name)
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    now = dt.datetime.now(dt.timezone.utc)
    if spec.staging.expired:
        before, after = now - dt.timedelta(days=VALID_DAYS + 1), now - dt.timedelta(days=1)
    else:
        before, after = _EPOCH, _EPOCH + dt.timedelta(days=VALID_DAYS + 365)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(_serial(spec.key, generation, repr(spec.staging), spec.common_name, *spec.sans))
               .not_valid_before(before).not_valid_after(after)
               .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, True, False, False, issuer is None, False, False, False),
                              critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                     ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if spec.presented_sans:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in spec.presented_sans]),
                                        critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


@functools.cache
def issue(spec: CertSpec, ca_cert_pem: bytes, ca_key_pem: bytes) -> Issued:
    """The certificate ``spec`` describes, signed as its staging says; memoised, so a lab pays for it once."""
    signer = spec.staging.signer
    if signer == "self-signed":
        issuer = None
    elif signer == "other-ca":
        other_cert, other_key = lab_ca(OTHER_CA_NAME)
        issuer = _load(other_cert, other_key)
    else:
        issuer = _load(ca_cert_pem, ca_key_pem)
    cert_pem, key_pem = _leaf(spec, issuer, "current")
    previous = _leaf(spec, issuer, "previous")[0] if spec.staging.renewed else b""
    return Issued(cert_pem, key_pem, previous)


def _load(cert_pem: bytes, key_pem: bytes) -> tuple[x509.Certificate, Any]:
    """A CA to sign with: the lab's (EC) or the user's own (``[tls] ca_key_file``, RSA or EC)."""
    return x509.load_pem_x509_certificate(cert_pem), serialization.load_pem_private_key(key_pem, password=None)


@dataclass(frozen=True)
class CertInfo:
    """What a product's certificate page shows (Expressway *Maintenance > Security > Server certificate*, CUCM *OS
    Administration > Certificate Management*): subject, SANs, issuer, validity, SHA-256 fingerprint."""

    name: str
    subject: str
    sans: tuple[str, ...]
    issuer: str
    not_before: str
    not_after: str
    fingerprint: str
    serial: str
    is_ca: bool

    @classmethod
    def of(cls, name: str, pem: bytes) -> CertInfo:
        cert = x509.load_pem_x509_certificate(pem)
        try:
            sans = tuple(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                         .get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            sans = ()
        digest = cert.fingerprint(hashes.SHA256()).hex().upper()
        return cls(name, cert.subject.rfc4514_string(), sans, cert.issuer.rfc4514_string(),
                   cert.not_valid_before_utc.isoformat(), cert.not_valid_after_utc.isoformat(),
                   ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)), format(cert.serial_number, "x"),
                   is_ca(cert))


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n.lower() for n in names if n))


def cert_specs(lab: Lab) -> list[CertSpec]:
    """Every certificate the lab's nodes present, with the names the deployment guide requires (module docstring).

    The first certificate of a node is the one on its HTTPS listener; its staging comes from ``[tls.certs.<node>]``.
    """
    staged = lab.tls.staging
    edge = lab.edge.listener.host
    names = unique([edge, *lab.edge.aliases, lab.domain, *lab.core.mra_domains])
    specs = [CertSpec("expressway-e", "server", edge, names,
                      staged("expressway-e")),
             CertSpec("expressway-c", "server", lab.core.listener.host,
                      unique([lab.core.listener.host, *lab.sip.c_san]), staged("expressway-c"))]
    for cluster in lab.clusters:
        for node in cluster.nodes:
            name = cluster.node_name(node)
            specs.append(CertSpec(name, "tomcat", node.host, (node.host,), staged(name)))
            specs.append(CertSpec(name, "CallManager", node.host, (node.host,)))
    for imp in lab.imps:
        specs.append(CertSpec(imp.name, "tomcat", imp.host, (imp.host,), staged(imp.name)))
        specs.append(CertSpec(imp.name, "cup-xmpp", imp.host, unique([imp.host, lab.domain])))
    if lab.unity is not None:
        specs.append(CertSpec("unity", "tomcat", lab.unity.listener.host, (lab.unity.listener.host,),
                              staged("unity")))
    if lab.idp is not None:
        host = lab.idp.listener.host
        specs.append(CertSpec("idp", "server", host, (host,), staged("idp")))
    return specs
