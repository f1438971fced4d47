"""The IdP's ``samlp:Response``: one bearer assertion for the SP that asked, signed with signxml.

Shape (SAML Core §2.3.3, §3.2.2; Profiles §4.1.4.2 for Web Browser SSO): ``Issuer``, ``Status`` Success, one
``Assertion`` with a transient ``NameID``, a bearer ``SubjectConfirmation`` for the ACS, ``Conditions`` with the
SP's entity ID as the only ``Audience``, an ``AuthnStatement`` and an ``AttributeStatement`` carrying ``uid`` (the
attribute Cisco's SAML SSO deployment guide requires the IdP to release) and ``mail``.

Both the assertion and the whole message are signed (enveloped, exclusive C14N, RSA-SHA256), as Cisco asks of AD FS
for SSO over the edge ("Sign the whole response (message and assertion)"); the assertion is encrypted for the SP
when the IdP is set to (``[idp] encrypt_assertions``, on by default, as AD FS does for a relying party with an
encryption certificate).
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from signxml import XMLSigner, methods

from common.samlcrypt import encrypt_assertion
from common.saml import DS, NAMEID_TRANSIENT, PASSWORD_CLASS, SAML, SAMLP, SUCCESS, Identity, new_id, now_text

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"


@dataclass(frozen=True)
class Release:
    """What the IdP says about the user to one SP, at one moment."""

    in_response_to: str
    acs_url: str
    audience: str
    issuer: str
    attributes: tuple[tuple[str, str], ...]
    issued: float
    lifetime: int


def build_response(release: Release, signer: Identity, encrypt_for: bytes | None = None) -> bytes:
    """The signed Response as the bytes the browser will POST (base64 of these, by the HTTP-POST binding).

    With ``encrypt_for`` (the SP's encryption certificate) the signed assertion travels as an ``EncryptedAssertion``,
    and the message signature covers that.
    """
    response = _tree(release)
    assertion = response.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    signed_assertion = _sign(assertion, signer)
    response.replace(assertion, signed_assertion)
    if encrypt_for is not None:
        encrypt_assertion(signed_assertion, encrypt_for)
    return etree.tostring(_sign(response, signer))


def _sign(element: etree._Element, signer: Identity) -> etree._Element:
    """Enveloped signature placed right after ``Issuer`` (SAML's schema wants it there); signxml fills the
    ``ds:Signature`` placeholder."""
    placeholder = etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    element.find(f"{{{SAML}}}Issuer").addnext(placeholder)  # type: ignore[union-attr]
    xml_signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                           c14n_algorithm=EXC_C14N)
    xml_signer.namespaces = {"ds": DS}
    return xml_signer.sign(element, key=signer.key_pem, cert=signer.cert_pem, reference_uri=element.get("ID"))


def _tree(r: Release) -> etree._Element:
    issued, until = now_text(r.issued), now_text(r.issued + r.lifetime)
    response = etree.Element(f"{{{SAMLP}}}Response", nsmap={"samlp": SAMLP, "saml": SAML}, ID=new_id(),
                             Version="2.0", IssueInstant=issued, Destination=r.acs_url, InResponseTo=r.in_response_to)
    etree.SubElement(response, f"{{{SAML}}}Issuer").text = r.issuer
    status = etree.SubElement(response, f"{{{SAMLP}}}Status")
    etree.SubElement(status, f"{{{SAMLP}}}StatusCode", Value=SUCCESS)
    assertion = etree.SubElement(response, f"{{{SAML}}}Assertion", ID=new_id(), Version="2.0", IssueInstant=issued)
    etree.SubElement(assertion, f"{{{SAML}}}Issuer").text = r.issuer
    subject = etree.SubElement(assertion, f"{{{SAML}}}Subject")
    etree.SubElement(subject, f"{{{SAML}}}NameID", Format=NAMEID_TRANSIENT,
                     NameQualifier=r.issuer, SPNameQualifier=r.audience).text = new_id()
    confirmation = etree.SubElement(subject, f"{{{SAML}}}SubjectConfirmation", Method=BEARER)
    etree.SubElement(confirmation, f"{{{SAML}}}SubjectConfirmationData", InResponseTo=r.in_response_to,
                     NotOnOrAfter=until, Recipient=r.acs_url)
    conditions = etree.SubElement(assertion, f"{{{SAML}}}Conditions", NotBefore=issued, NotOnOrAfter=until)
    restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{SAML}}}Audience").text = r.audience
    authn = etree.SubElement(assertion, f"{{{SAML}}}AuthnStatement", AuthnInstant=issued, SessionIndex=new_id())
    etree.SubElement(etree.SubElement(authn, f"{{{SAML}}}AuthnContext"),
                     f"{{{SAML}}}AuthnContextClassRef").text = PASSWORD_CLASS
    statement = etree.SubElement(assertion, f"{{{SAML}}}AttributeStatement")
    for name, value in r.attributes:
        attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name,
                                     NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic")
        etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = value
    return response
