"""The EPAS SOAP login (``POST /EPASSoap/service/v80`` on an IM&P node) that gives Jabber a one-time password.

A Jabber that signed in with credentials (no OAuth token) does not send its password over XMPP. It logs in to IM&P's
EPAS SOAP service over HTTP — through the edge like any internal HTTP — and presents the one-time password it gets
back with SASL ``CISCO-VTG-TOKEN`` (mra-facts §7). The path is the real one; the envelope below is *modelled* (no
public capture): SOAP 1.1 (W3C NOTE-SOAP-20000508), the user authenticated by the HTTP ``Authorization`` header that
Expressway-C attaches for the client's ``X-Auth`` session, a fault answered with HTTP 500 (SOAP 1.1 §6.2). Secrets in
these bodies (``session-key``) are concealed by :func:`common.conceal.conceal_body` in every log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

PATH = "/EPASSoap/service/v80"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
EPAS = "urn:cisco:epas:soap:v80"
CONTENT_TYPE = "text/xml; charset=utf-8"
_NSMAP = {"soapenv": SOAP_ENV, "epas": EPAS}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class EpasError(ValueError):
    """A body that is not the EPAS SOAP message expected, or a SOAP fault; ``fault`` is its faultstring."""

    def __init__(self, fault: str, code: str = "soapenv:Client") -> None:
        super().__init__(fault)
        self.fault, self.code = fault, code

    def to_xml(self) -> bytes:
        envelope, body = _envelope()
        fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
        etree.SubElement(fault, "faultcode").text = self.code
        etree.SubElement(fault, "faultstring").text = self.fault
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class LoginRequest:
    username: str
    client_type: str = "Jabber"
    client_version: str = ""

    def to_xml(self) -> bytes:
        envelope, body = _envelope()
        login = etree.SubElement(body, f"{{{EPAS}}}login")
        for tag, value in (("username", self.username), ("client-type", self.client_type),
                           ("client-version", self.client_version)):
            etree.SubElement(login, f"{{{EPAS}}}{tag}").text = value
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

    @classmethod
    def from_xml(cls, data: bytes) -> LoginRequest:
        login = _body_child(data, "login")
        username = (login.findtext(f"{{{EPAS}}}username") or "").strip()
        if not username:
            raise EpasError("login without username")
        return cls(username, login.findtext(f"{{{EPAS}}}client-type") or "",
                   login.findtext(f"{{{EPAS}}}client-version") or "")


@dataclass(frozen=True)
class LoginResponse:
    """``session-key`` is the one-time password, valid once, for ``CISCO-VTG-TOKEN``."""

    session_key: str = field(repr=False)
    primary_server: str
    presence_domain: str

    def to_xml(self) -> bytes:
        envelope, body = _envelope()
        response = etree.SubElement(body, f"{{{EPAS}}}loginResponse")
        for tag, value in (("success", "true"), ("session-key", self.session_key),
                           ("primary-server", self.primary_server), ("presence-domain", self.presence_domain)):
            etree.SubElement(response, f"{{{EPAS}}}{tag}").text = value
        return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")

    @classmethod
    def from_xml(cls, data: bytes) -> LoginResponse:
        response = _body_child(data, "loginResponse")
        key = (response.findtext(f"{{{EPAS}}}session-key") or "").strip()
        if response.findtext(f"{{{EPAS}}}success") != "true" or not key:
            raise EpasError("login response without success and session-key")
        return cls(key, response.findtext(f"{{{EPAS}}}primary-server") or "",
                   response.findtext(f"{{{EPAS}}}presence-domain") or "")


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=_NSMAP)
    return envelope, etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")


def _body_child(data: bytes, local: str) -> etree._Element:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise EpasError(f"not XML: {exc}") from None
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or body is None:
        raise EpasError("not a SOAP envelope")
    fault = body.find(f"{{{SOAP_ENV}}}Fault")
    if fault is not None:
        raise EpasError(fault.findtext("faultstring") or "SOAP fault", fault.findtext("faultcode") or "")
    found = body.find(f"{{{EPAS}}}{local}")
    if found is None:
        raise EpasError(f"SOAP body without epas:{local}")
    return found
