"""TLS for the SIP hops until the lab PKI lands (issue 11): a lab CA and one certificate per SIP node.

Built with ``cryptography``'s x509 API. Each certificate carries the names the deployment guide asks for: E its FQDN
and the MRA domains, C its FQDN and the phone security profile names (``[sip] c_san``), CUCM its FQDN (the
CallManager service presents the Tomcat certificate on 5090/5091, Cisco TAC 215572). ``cucm_trusts_c = false`` has C's
certificate signed by another enterprise CA that CUCM's Tomcat-trust does not hold (TAC 215572 scenario 3).

Everything is made once per process and per set of names; the PEM files live in a private temporary folder. The keys
are derived from the names (a lab, not a secret), so the nodes of ``mrasim up --processes`` — each its own process —
make the same CA and trust each other.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from common.config import Lab

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_FOLDER: list[Path] = []


def _folder() -> Path:
    if not _FOLDER:
        _FOLDER.append(Path(tempfile.mkdtemp(prefix="mrasim-siptls-")))
        atexit.register(shutil.rmtree, _FOLDER[0], True)
    return _FOLDER[0]


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path
    common_name: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Authority:
    name: str
    cert: Path
    certificate: x509.Certificate
    private: ec.EllipticCurvePrivateKey


NOT_BEFORE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
NOT_AFTER = dt.datetime(2036, 1, 1, tzinfo=dt.timezone.utc)
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256's group order


def _key(label: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from ``label``: the same in every process of the lab."""
    secret = int.from_bytes(hashlib.sha256(f"mrasim lab SIP key: {label}".encode()).digest(), "big")
    return ec.derive_private_key(secret % (_ORDER - 1) + 1, ec.SECP256R1())


def _serial(label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"serial: {label}".encode()).digest()[:16], "big") >> 1


@lru_cache(maxsize=4)
def authority(name: str) -> Authority:
    private = _key(f"CA {name}")
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mrasim lab"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(private.public_key())
            .serial_number(_serial(name)).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(private, hashes.SHA256()))
    path = _folder() / f"ca-{abs(hash(name))}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(name, path, cert, private)


LAB_CA = "mrasim Lab Root CA"
OTHER_CA = "Other Enterprise Issuing CA"


@lru_cache(maxsize=32)
def issue(common_name: str, names: tuple[str, ...], ca_name: str = LAB_CA) -> Issued:
    """A server-and-client certificate for ``common_name`` with ``names`` as DNS SANs, signed by ``ca_name``."""
    ca = authority(ca_name)
    private = _key(f"{common_name} {names} {ca_name}")
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(ca.certificate.subject).public_key(private.public_key())
            .serial_number(_serial(f"{common_name} {names} {ca_name}")).not_valid_before(NOT_BEFORE)
            .not_valid_after(NOT_AFTER)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dict.fromkeys(names)]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca.private, hashes.SHA256()))
    stem = _folder() / f"{common_name}-{abs(hash((names, ca_name)))}"
    cert_path, key_path = Path(f"{stem}.pem"), Path(f"{stem}.key")
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return Issued(cert_path, key_path, common_name, names)


def server_context(issued: Issued, client_cas: tuple[str, ...] = ()) -> ssl.SSLContext:
    """A listener: presents ``issued``; with ``client_cas``, asks for and verifies a client certificate (mutual TLS)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert, issued.key)
    if client_cas:
        for name in client_cas:
            context.load_verify_locations(authority(name).cert)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def client_context(trusted: tuple[str, ...] = (LAB_CA,), issued: Issued | None = None) -> ssl.SSLContext:
    """A dialler that checks the server's name and chain against ``trusted``, presenting ``issued`` if given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.load_verify_locations(cadata="".join(authority(n).cert.read_text() for n in trusted))
    if issued is not None:
        context.load_cert_chain(issued.cert, issued.key)
    return context


def peer_names(transport_ssl: ssl.SSLObject | None) -> tuple[str, ...]:
    """The CN and DNS SANs of the peer's verified certificate (what CUCM checks against expresswaycconfiguration)."""
    if transport_ssl is None:
        return ()
    cert = transport_ssl.getpeercert() or {}
    names = [value for rdn in cert.get("subject", ()) for key, value in rdn if key == "commonName"]
    names += [value for kind, value in cert.get("subjectAltName", ()) if kind == "DNS"]
    return tuple(names)


@dataclass(frozen=True)
class LabTls:
    """The SIP nodes' certificates and trust, from the lab description."""

    edge: Issued
    core: Issued
    cucm: Issued

    def edge_server(self) -> ssl.SSLContext:
        """E's 5061 for Jabber (no client certificate) — also used for 7001, where C's certificate is required."""
        return server_context(self.edge)

    def zone_server(self) -> ssl.SSLContext:
        """E's 7001: C must present a certificate E can verify (E trusts both the lab CA and C's issuer)."""
        return server_context(self.edge, client_cas=(LAB_CA, OTHER_CA))

    def zone_client(self) -> ssl.SSLContext:
        return client_context((LAB_CA,), self.core)

    def cucm_client(self) -> ssl.SSLContext:
        """C towards CUCM: C verifies the CallManager (Tomcat) certificate and presents its own."""
        return client_context((LAB_CA,), self.core)

    def cucm_server(self, mutual: bool) -> ssl.SSLContext:
        """CUCM's 5090 (TLS) or 5091/5061 (mutual TLS, checked against Tomcat-trust: the lab CA only).

        TLS 1.2 at most, as CallManager's SIP stack: a client certificate CUCM does not trust then fails the
        handshake itself (``tlsv1 alert unknown ca`` at the client), as in TAC 215572's capture."""
        context = server_context(self.cucm, client_cas=(LAB_CA,) if mutual else ())
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        return context

    def jabber(self) -> ssl.SSLContext:
        return client_context((LAB_CA,))


def lab_tls(edge_host: str, edge_names: tuple[str, ...], core_host: str, core_names: tuple[str, ...],
            cucm_host: str, core_trusted_by_cucm: bool = True) -> LabTls:
    return LabTls(issue(edge_host, (edge_host, *edge_names)),
                  issue(core_host, (core_host, *core_names), LAB_CA if core_trusted_by_cucm else OTHER_CA),
                  issue(cucm_host, (cucm_host,)))


def for_lab(lab: Lab) -> LabTls:
    edge_names = (*lab.core.mra_domains, *(f"collab-edge.{d}" for d in lab.core.mra_domains))
    return lab_tls(lab.edge.listener.host, edge_names, lab.core.listener.host, lab.sip.c_san,
                   lab.clusters[0].listener.host, lab.sip.cucm_trusts_c)
