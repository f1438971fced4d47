"""Expressway-C's checks on a POSTed SAML Response (core/samlcheck.py): the SAML bad-input set, without sockets.

Each refusal carries the Spring SAML / OpenSAML text a TAC engineer searches for; the valid Response from the lab's
own IdP code passes.
"""

from __future__ import annotations

import copy
import time

import pytest
from lxml import etree

from common.saml import DS, NS, Identity, SamlError
from common.samlcrypt import DECRYPT_FAILED
from core.samlcheck import Expected, check_response
from idp.response import Release, build_response

IDP = "https://idp.lab.example/idp/shibboleth"
SP = "http://expc.lab.example:8443/bGFiLmV4YW1wbGU/saml/sp"
ACS = "http://expe.lab.example:8443/bGFiLmV4YW1wbGU/samlauthz"
NOW = time.time()


@pytest.fixture(scope="module")
def idp_key() -> Identity:
    return Identity.generate("idp.lab.example", NOW)


@pytest.fixture(scope="module")
def other_key() -> Identity:
    return Identity.generate("attacker.example", NOW)


def release(audience: str = SP, attributes=(("uid", "aokanlawon"), ("mail", "aokanlawon@lab.example")),
            issued: float = NOW, request_id: str = "_req1") -> Release:
    return Release(request_id, ACS, audience, IDP, tuple(attributes), issued, 300)


def expected(key: Identity, now: float = NOW, request_id: str | None = "_req1",
             sp_key: Identity | None = None) -> Expected:
    return Expected(IDP, key.cert_pem, SP, ACS, request_id, now, sp_key.key_pem if sp_key else None)


def refused(body: bytes, key: Identity, seen=None, **kw) -> str:
    with pytest.raises(SamlError) as caught:
        check_response(body, expected(key, **kw), seen or {})
    return str(caught.value)


def test_a_response_signed_by_the_imported_idp_names_the_uid(idp_key):
    asserted = check_response(build_response(release(), idp_key), expected(idp_key), {})
    assert asserted.uid == "aokanlawon"
    assert asserted.attributes["mail"] == "aokanlawon@lab.example"
    assert asserted.not_on_or_after == pytest.approx(NOW + 300, abs=1)


def test_not_xml_is_refused_as_undecodable(idp_key):
    assert refused(b"this is not xml <", idp_key).startswith("Error decoding incoming SAML message")


def test_xxe_is_refused_before_any_entity_is_read(idp_key, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
            f'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>').encode()
    reason = refused(body, idp_key)
    assert "DOCTYPE is disallowed" in reason and "TOPSECRET" not in reason


def test_an_unsigned_response_is_refused(idp_key):
    root = etree.fromstring(build_response(release(), idp_key))
    for signature in root.findall(f".//{{{DS}}}Signature"):
        signature.getparent().remove(signature)
    assert "not signed" in refused(etree.tostring(root), idp_key)


def test_a_response_signed_by_another_key_is_refused(idp_key, other_key):
    reason = refused(build_response(release(), other_key), idp_key)
    assert reason.startswith("Validation of protocol message signature failed")


def test_a_tampered_response_is_refused(idp_key):
    body = build_response(release(), idp_key).replace(b">aokanlawon<", b">ntanborgeson<")
    assert refused(body, idp_key).startswith("Validation of protocol message signature failed")


def test_xml_signature_wrapping_is_refused(idp_key):
    """XSW: the genuine signed Response hidden inside a forged one whose own assertion names another user."""
    genuine = etree.fromstring(build_response(release(), idp_key))
    forged = copy.deepcopy(genuine)
    forged.set("ID", "_forged")
    for signature in forged.findall(f"{{{DS}}}Signature"):
        forged.remove(signature)
    forged.find("saml:Assertion/saml:AttributeStatement/saml:Attribute/saml:AttributeValue", NS).text = "ntanborgeson"
    extensions = etree.SubElement(forged, "{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    extensions.append(genuine)
    reason = refused(etree.tostring(forged), idp_key)
    assert reason.startswith("Validation of protocol message signature failed")


def test_assertion_only_signed_is_refused_as_wrapping_risk(idp_key):
    root = etree.fromstring(build_response(release(), idp_key))
    root.remove(root.find(f"{{{DS}}}Signature"))
    assert "Response itself is not signed" in refused(etree.tostring(root), idp_key)


def test_a_replayed_assertion_is_refused(idp_key):
    body = build_response(release(), idp_key)
    first = check_response(body, expected(idp_key), {})
    reason = refused(body, idp_key, seen={first.assertion_id: first.not_on_or_after})
    assert reason == f"Replay detected of message '{first.assertion_id}' from issuer '{IDP}'"


def test_an_assertion_for_another_audience_is_refused(idp_key):
    body = build_response(release(audience="https://other-sp.example/sp"), idp_key)
    assert refused(body, idp_key) == ("Local entity is not the intended audience of the assertion in at least one "
                                      "AudienceRestriction")


def test_an_expired_assertion_is_refused_naming_not_on_or_after(idp_key):
    body = build_response(release(issued=NOW - 600), idp_key)
    assert refused(body, idp_key).startswith("Assertion is no longer valid, invalidated by condition NotOnOrAfter")


def test_a_minute_of_skew_is_allowed(idp_key):
    assert check_response(build_response(release(issued=NOW - 330), idp_key), expected(idp_key), {}).uid


def test_a_response_to_no_request_of_ours_is_refused(idp_key):
    body = build_response(release(request_id="_someone_else"), idp_key)
    assert refused(body, idp_key).startswith("InResponseToField of the Response doesn't correspond to sent message")
    assert "InResponseToField" in refused(build_response(release(), idp_key), idp_key, request_id=None)


def test_no_uid_attribute_is_refused_naming_what_was_released(idp_key):
    body = build_response(release(attributes=(("mail", "aokanlawon@lab.example"),)), idp_key)
    assert refused(body, idp_key) == "Attribute uid not found in the SAML assertion (released: mail)"


def test_the_response_is_a_saml_response(idp_key):
    assert "expected a Response" in refused(b'<x xmlns="urn:example"/>', idp_key)


@pytest.fixture(scope="module")
def sp_key() -> Identity:
    return Identity.generate("expc.lab.example", NOW)


def test_an_encrypted_assertion_is_decrypted_with_cs_key_and_its_signature_checked(idp_key, sp_key):
    body = build_response(release(), idp_key, encrypt_for=sp_key.cert_pem)
    assert b"EncryptedAssertion" in body and b"aokanlawon" not in body
    assert check_response(body, expected(idp_key, sp_key=sp_key), {}).uid == "aokanlawon"


def test_an_assertion_encrypted_for_another_certificate_cannot_be_decrypted(idp_key, sp_key, other_key):
    body = build_response(release(), idp_key, encrypt_for=other_key.cert_pem)
    with pytest.raises(SamlError) as caught:
        check_response(body, expected(idp_key, sp_key=sp_key), {})
    assert str(caught.value) == DECRYPT_FAILED
