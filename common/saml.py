"""SAML 2.0 shapes shared by the identity provider (``idp/``) and Expressway-C's edge SP (``core/``).

Defined once here, used by both sides: the signing identities (RSA key + self-signed X.509, as an IdP's token-signing
certificate or an Expressway's server certificate in its SP metadata), the metadata of each side
(``EntityDescriptor`` with ``IDPSSODescriptor`` / ``SPSSODescriptor``, SAML 2.0 Metadata, OASIS saml-metadata-2.0-os),
the ``AuthnRequest`` and its HTTP-Redirect binding (SAML 2.0 Bindings §3.4: DEFLATE, base64, URL-encode, and the
detached ``SigAlg``/``Signature`` over the query string), and the safe parser every inbound SAML message goes
through.

XML signatures (the POSTed ``Response``) are made and checked with signxml, never by hand. The redirect binding's
signature is not an XML signature: it is RSA-SHA256 over the exact query-string bytes (Bindings §3.4.4.1), done with
``cryptography``.

The parser refuses any ``DOCTYPE`` before it builds a tree, which closes XXE and entity expansion: the error text is
the one Xerces gives with ``disallow-doctype-decl`` set, as OpenSAML's parser pool (used by CUCM's ssosp and by
Shibboleth) is configured.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"samlp": SAMLP, "saml": SAML, "md": MD, "ds": DS}
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
PASSWORD_CLASS = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
DOCTYPE_REFUSED = ('DOCTYPE is disallowed when the feature "http://apache.org/xml/features/disallow-doctype-decl" '
                   "set to true.")
MAX_MESSAGE = 64 * 1024

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


class SamlError(ValueError):
    """A SAML message refused; ``str()`` is the reason in the words of the product that refuses it."""


def parse(body: bytes) -> etree._Element:
    """Parse an inbound SAML message: no DOCTYPE (so no entities, no XXE), no network, size-bounded."""
    if len(body) > MAX_MESSAGE:
        raise SamlError(f"Error decoding incoming SAML message: {len(body)} bytes exceeds {MAX_MESSAGE}")
    if b"<!DOCTYPE" in body.upper():
        raise SamlError(DOCTYPE_REFUSED)
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SamlError(f"Error decoding incoming SAML message: {exc}") from None
    if root.getroottree().docinfo.doctype:
        raise SamlError(DOCTYPE_REFUSED)
    return root


def now_text(when: float) -> str:
    """SAML's ``xs:dateTime`` in UTC with a ``Z`` (Core §1.3.3), to the millisecond as ADFS and Shibboleth write it."""
    moment = dt.datetime.fromtimestamp(when, dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> float:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SamlError(f"Unparseable xs:dateTime ({len(text)} characters)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def new_id() -> str:
    """An ``xs:ID``: must not start with a digit, so ``_`` and a UUID's hex, as OpenSAML's generator does."""
    return "_" + uuid.uuid4().hex


@dataclass(frozen=True)
class Identity:
    """A signing identity: an RSA key and its self-signed certificate (PEM), kept where a node keeps its state."""

    key_pem: bytes
    cert_pem: bytes

    @classmethod
    def generate(cls, common_name: str, when: float) -> Identity:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        start = dt.datetime.fromtimestamp(when, dt.timezone.utc) - dt.timedelta(days=1)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(start)
                .not_valid_after(start + dt.timedelta(days=3 * 365)).sign(key, hashes.SHA256()))
        return cls(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
                   cert.public_bytes(serialization.Encoding.PEM))

    @classmethod
    def load_or_generate(cls, directory: Path | None, stem: str, common_name: str, when: float) -> Identity:
        """The identity saved under ``directory`` (``<stem>.key``/``.pem``), made on first start as on install."""
        if directory is not None and (directory / f"{stem}.key").exists():
            return cls((directory / f"{stem}.key").read_bytes(), (directory / f"{stem}.pem").read_bytes())
        identity = cls.generate(common_name, when)
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{stem}.key").write_bytes(identity.key_pem)
            (directory / f"{stem}.pem").write_bytes(identity.cert_pem)
        return identity

    @property
    def cert_b64(self) -> str:
        """The certificate as metadata's ``ds:X509Certificate`` carries it: base64 DER, no PEM armour."""
        return cert_b64(self.cert_pem)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.cert_pem)

    def sign(self, data: bytes) -> bytes:
        key = serialization.load_pem_private_key(self.key_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def fingerprint(cert_pem_: bytes) -> str:
    """The SHA-1 thumbprint as AD FS and the Expressway web UI show a certificate's."""
    return x509.load_pem_x509_certificate(cert_pem_).fingerprint(hashes.SHA1()).hex(":").upper()


def cert_b64(cert_pem: bytes) -> str:
    return base64.b64encode(x509.load_pem_x509_certificate(cert_pem).public_bytes(serialization.Encoding.DER)).decode()


def cert_pem(b64: str) -> bytes:
    try:
        der = base64.b64decode("".join(b64.split()), validate=True)
        return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)
    except ValueError as exc:
        raise SamlError(f"Unreadable certificate in metadata: {exc}") from None


@dataclass(frozen=True)
class Metadata:
    """One side's SAML metadata: its entity ID, its signing certificate, and the endpoint the other side uses —
    the IdP's ``SingleSignOnService`` (HTTP-Redirect) or the SP's ``AssertionConsumerService`` (HTTP-POST)."""

    entity_id: str
    role: str  # "idp" or "sp"
    endpoint: str
    cert_pem: bytes
    encryption_cert_pem: bytes | None = None  # an SP's: the IdP encrypts assertions for it

    def to_xml(self) -> bytes:
        root = etree.Element(f"{{{MD}}}EntityDescriptor", nsmap={"md": MD, "ds": DS}, entityID=self.entity_id)
        if self.role == "idp":
            role = etree.SubElement(root, f"{{{MD}}}IDPSSODescriptor", WantAuthnRequestsSigned="true",
                                    protocolSupportEnumeration=SAMLP)
        else:
            role = etree.SubElement(root, f"{{{MD}}}SPSSODescriptor", AuthnRequestsSigned="true",
                                    WantAssertionsSigned="true", protocolSupportEnumeration=SAMLP)
        uses = [("signing", self.cert_pem)] + ([("encryption", self.encryption_cert_pem)]
                                               if self.encryption_cert_pem else [])
        for use, cert in uses:
            key = etree.SubElement(role, f"{{{MD}}}KeyDescriptor", use=use)
            data = etree.SubElement(etree.SubElement(key, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
            etree.SubElement(data, f"{{{DS}}}X509Certificate").text = cert_b64(cert)
        if self.role == "idp":
            etree.SubElement(role, f"{{{MD}}}NameIDFormat").text = NAMEID_TRANSIENT
            etree.SubElement(role, f"{{{MD}}}SingleSignOnService", Binding=REDIRECT, Location=self.endpoint)
        else:
            etree.SubElement(role, f"{{{MD}}}AssertionConsumerService", Binding=POST, Location=self.endpoint,
                             index="0", isDefault="true")
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    @classmethod
    def from_xml(cls, body: bytes) -> Metadata:
        """Read metadata as an administrator uploads it; anything unusable is a :class:`SamlError` naming what."""
        root = parse(body)
        if root.tag != f"{{{MD}}}EntityDescriptor" or not root.get("entityID"):
            raise SamlError("Metadata is not an md:EntityDescriptor with an entityID")
        idp, sp = root.find("md:IDPSSODescriptor", NS), root.find("md:SPSSODescriptor", NS)
        role, descriptor = ("idp", idp) if idp is not None else ("sp", sp)
        if descriptor is None:
            raise SamlError("Metadata has neither IDPSSODescriptor nor SPSSODescriptor")
        certs = {key.get("use", ""): key.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", None, NS)
                 for key in descriptor.findall("md:KeyDescriptor", NS)}
        cert = certs.get("signing") or certs.get("")
        encryption = certs.get("encryption") or certs.get("")
        path = "md:SingleSignOnService" if role == "idp" else "md:AssertionConsumerService"
        endpoint = descriptor.find(path, NS)
        if not cert or endpoint is None or not endpoint.get("Location"):
            raise SamlError(f"Metadata lacks a signing certificate or a {path.split(':')[1]}")
        return cls(root.get("entityID", ""), role, endpoint.get("Location", ""), cert_pem(cert),
                   cert_pem(encryption) if role == "sp" and encryption else None)


@dataclass(frozen=True)
class AuthnRequest:
    """The SP's request to the IdP (SAML Core §3.4.1), sent through the browser with the HTTP-Redirect binding."""

    id: str
    issuer: str
    destination: str
    acs_url: str
    issue_instant: str

    def to_xml(self) -> bytes:
        root = etree.Element(f"{{{SAMLP}}}AuthnRequest", nsmap={"samlp": SAMLP, "saml": SAML}, ID=self.id,
                             Version="2.0", IssueInstant=self.issue_instant, Destination=self.destination,
                             AssertionConsumerServiceURL=self.acs_url, ProtocolBinding=POST)
        etree.SubElement(root, f"{{{SAML}}}Issuer").text = self.issuer
        etree.SubElement(root, f"{{{SAMLP}}}NameIDPolicy", Format=NAMEID_TRANSIENT, AllowCreate="true")
        return etree.tostring(root)

    @classmethod
    def from_xml(cls, body: bytes) -> AuthnRequest:
        root = parse(body)
        if root.tag != f"{{{SAMLP}}}AuthnRequest":
            raise SamlError(f"Expected an AuthnRequest, got {etree.QName(root).localname}")
        issuer = root.findtext("saml:Issuer", "", NS)
        if not root.get("ID") or not issuer:
            raise SamlError("AuthnRequest without ID or Issuer")
        return cls(root.get("ID", ""), issuer, root.get("Destination", ""),
                   root.get("AssertionConsumerServiceURL", ""), root.get("IssueInstant", ""))


def redirect_query(request: AuthnRequest, relay_state: str, signer: Identity) -> str:
    """``SAMLRequest=…&RelayState=…&SigAlg=…&Signature=…`` (Bindings §3.4.4.1): the signature covers the first three
    parameters exactly as they appear, URL-encoded, in that order."""
    deflated = zlib.compress(request.to_xml())[2:-4]  # raw DEFLATE (RFC 1951): no zlib header, no checksum
    signed = (f"SAMLRequest={_quote(base64.b64encode(deflated).decode())}"
              f"&RelayState={_quote(relay_state)}&SigAlg={_quote(RSA_SHA256)}")
    return f"{signed}&Signature={_quote(base64.b64encode(signer.sign(signed.encode())).decode())}"


def _quote(value: str) -> str:
    """URL-encode leaving ``/`` and ``:`` as they are (RFC 3986 allows both in a query): the form that HTTP clients
    which re-normalise a URL (yarl, under aiohttp) send unchanged, so the signed bytes reach the IdP as signed."""
    return quote(value, safe="/:")


@dataclass(frozen=True)
class RedirectMessage:
    request: AuthnRequest
    relay_state: str
    signed_part: bytes
    signature: bytes
    sig_alg: str

    def verify(self, cert_pem_: bytes) -> bool:
        if self.sig_alg != RSA_SHA256:
            return False
        key = x509.load_pem_x509_certificate(cert_pem_).public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        try:
            key.verify(self.signature, self.signed_part, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True


def read_redirect(raw_query: str) -> RedirectMessage:
    """Decode an HTTP-Redirect ``AuthnRequest`` from the raw query string (kept raw: the signature covers it)."""
    parts = {k: v for k, v in (p.split("=", 1) for p in raw_query.split("&") if "=" in p)}
    if "SAMLRequest" not in parts:
        raise SamlError("Error decoding incoming SAML message: no SAMLRequest parameter")
    values = dict(parse_qsl(raw_query, keep_blank_values=True))
    try:
        xml = zlib.decompress(base64.b64decode(values["SAMLRequest"], validate=True), -15)
        signature = base64.b64decode(values.get("Signature", ""), validate=True)
    except (ValueError, zlib.error) as exc:
        raise SamlError(f"Error decoding incoming SAML message: {exc}") from None
    signed = "&".join(f"{name}={parts[name]}" for name in ("SAMLRequest", "RelayState", "SigAlg") if name in parts)
    return RedirectMessage(AuthnRequest.from_xml(xml), values.get("RelayState", ""), signed.encode(), signature,
                           values.get("SigAlg", ""))
