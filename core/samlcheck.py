"""Expressway-C's checks on a SAML ``Response`` POSTed to its assertion consumer service: a pure function.

:func:`check_response` takes the POSTed bytes and what C expects, and returns the asserted user or raises
:class:`~common.saml.SamlError` with the reason in the words of Spring Security SAML / OpenSAML (the SAML stack of
CUCM's ssosp, whose messages TAC engineers know from ``ssosp`` logs; Expressway-C's own wording is not public, so
the lab uses the same texts — modelled, docs/sso.md). Checks run in a fixed order, so one mistake always gets the
same answer:

1. the bytes are XML, with no ``DOCTYPE`` (XXE), and a ``samlp:Response``;
2. the message is signed, by the certificate in the imported IdP metadata (signxml), and that signature covers the
   ``Response`` itself: everything after this reads only the element signxml verified, never the document that
   arrived, which is what defeats XML signature wrapping (XSW); the certificate must be valid on C's clock;
3. issuer, status, destination;
4. the one assertion, decrypted with C's key if it came as an ``EncryptedAssertion`` (and then its own signature
   checked as well), was not seen before (replay), answers the ``AuthnRequest`` C sent (``InResponseTo``), is valid now
   (``NotBefore``/``NotOnOrAfter``, 60 s of allowed skew as Spring's ``responseSkew``) and for this SP (audience);
5. it carries ``uid``, the attribute Cisco's SAML SSO requires, which names the CUCM user.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree
from signxml import XMLVerifier
from signxml.verifier import SignatureConfiguration
from signxml.exceptions import InvalidInput, SignXMLException

from common.saml import DS, NS, SAMLP, SUCCESS, SamlError, parse, parse_time
from common.samlcrypt import DECRYPT_FAILED, decrypt_assertion

SKEW = 60
UID = "uid"
MESSAGE_SIGNATURE = SignatureConfiguration(location="./")


@dataclass(frozen=True)
class Expected:
    """What C expects of a Response: from the IdP it imported, for itself, at its ACS, now."""

    idp_entity: str
    idp_cert_pem: bytes
    sp_entity: str
    acs_url: str
    request_id: str | None
    now: float
    sp_key_pem: bytes | None = None  # C's key, to decrypt an EncryptedAssertion


@dataclass(frozen=True)
class Asserted:
    uid: str
    assertion_id: str
    name_id: str
    not_on_or_after: float
    attributes: Mapping[str, str]


def check_response(body: bytes, expected: Expected, seen: Mapping[str, float]) -> Asserted:
    root = parse(body)
    if root.tag != f"{{{SAMLP}}}Response":
        raise SamlError(f"Error decoding incoming SAML message: expected a Response, got "
                        f"{etree.QName(root).localname}")
    response = _verified(root, expected)
    issuer = response.findtext("saml:Issuer", "", NS)
    if issuer != expected.idp_entity:
        raise SamlError(f"Issuer of the Response '{issuer}' is not the IdP '{expected.idp_entity}'")
    status = response.find("samlp:Status/samlp:StatusCode", NS)
    code = status.get("Value", "") if status is not None else ""
    if code != SUCCESS:
        raise SamlError(f"Response has invalid status code {code or 'null'}, status message is null")
    if response.get("Destination") not in (None, expected.acs_url):
        raise SamlError(f"Intended destination {response.get('Destination')} doesn't match any of the endpoint "
                        "URLs on endpoint " + expected.acs_url)
    assertions = response.findall("saml:Assertion", NS)
    encrypted = response.findall("saml:EncryptedAssertion", NS)
    if len(assertions) + len(encrypted) != 1:
        raise SamlError("Response doesn't have any valid assertion which would pass subject validation")
    if encrypted:
        if expected.sp_key_pem is None:
            raise SamlError(DECRYPT_FAILED)
        assertion = _verified(decrypt_assertion(encrypted[0], expected.sp_key_pem), expected, "Assertion")
    else:
        assertion = assertions[0]
    assertion_id = assertion.get("ID", "")
    if assertion_id in seen:
        raise SamlError(f"Replay detected of message '{assertion_id}' from issuer '{issuer}'")
    if expected.request_id is None or response.get("InResponseTo") != expected.request_id:
        raise SamlError(f"InResponseToField of the Response doesn't correspond to sent message "
                        f"{response.get('InResponseTo')}")
    conditions = assertion.find("saml:Conditions", NS)
    not_before = conditions.get("NotBefore") if conditions is not None else None
    not_after = conditions.get("NotOnOrAfter") if conditions is not None else None
    if not_before and parse_time(not_before) > expected.now + SKEW:
        raise SamlError(f"Assertion is not yet valid, invalidated by condition NotBefore {not_before}")
    if not not_after or parse_time(not_after) <= expected.now - SKEW:
        raise SamlError(f"Assertion is no longer valid, invalidated by condition NotOnOrAfter {not_after}")
    audiences = assertion.findall("saml:Conditions/saml:AudienceRestriction/saml:Audience", NS)
    if expected.sp_entity not in {a.text for a in audiences}:
        raise SamlError("Local entity is not the intended audience of the assertion in at least one "
                        "AudienceRestriction")
    attributes = {a.get("Name", ""): a.findtext("saml:AttributeValue", "", NS)
                  for a in assertion.findall("saml:AttributeStatement/saml:Attribute", NS)}
    uid = attributes.get(UID, "").strip()
    if not uid:
        raise SamlError(f"Attribute {UID} not found in the SAML assertion (released: "
                        f"{', '.join(sorted(attributes)) or 'none'})")
    return Asserted(uid, assertion_id, assertion.findtext("saml:Subject/saml:NameID", "", NS),
                    parse_time(not_after), attributes)


def _verified(root: etree._Element, expected: Expected, what: str = "Response") -> etree._Element:
    """The Response (or a decrypted Assertion) as signxml verified it, or :class:`SamlError`; only this element is
    read afterwards."""
    if not root.findall(f".//{{{DS}}}Signature"):
        raise SamlError("Validation of protocol message signature failed: the SAML message is not signed")
    if root.find(f"{{{DS}}}Signature") is None:
        raise SamlError(f"Validation of protocol message signature failed: the {what} itself is not signed "
                        "(Expressway wants message and assertion signed)")
    try:
        result = XMLVerifier().verify(root, x509_cert=expected.idp_cert_pem.decode(), id_attribute="ID",
                                      expect_config=dataclasses.replace(
                                          MESSAGE_SIGNATURE, verification_time=dt.datetime.fromtimestamp(
                                              expected.now, dt.timezone.utc)))
    except InvalidInput as exc:
        raise SamlError(f"Validation of protocol message signature failed: {exc}") from None
    except SignXMLException as exc:
        raise SamlError(f"Validation of protocol message signature failed: {exc}") from None
    signed = result.signed_xml if not isinstance(result, list) else result[0].signed_xml
    if signed is None or signed.tag != root.tag or signed.get("ID") != root.get("ID"):
        raise SamlError(f"Validation of protocol message signature failed: the signature does not cover the "
                        f"{what} (XML signature wrapping?)")
    return signed
