"""The SAML shapes both sides share (common/saml.py): metadata, the HTTP-Redirect binding, the parser's refusals."""

from __future__ import annotations

import time

import pytest
from yarl import URL

from common.saml import (DOCTYPE_REFUSED, AuthnRequest, Identity, Metadata, SamlError, new_id, now_text, parse,
                         parse_time, read_redirect, redirect_query)


@pytest.fixture(scope="module")
def key() -> Identity:
    return Identity.generate("expc.lab.example", time.time())


def request() -> AuthnRequest:
    return AuthnRequest(new_id(), "https://sp.example/sp", "https://idp.example/sso", "https://e.example/acs",
                        now_text(time.time()))


def test_metadata_survives_export_and_import(key: Identity) -> None:
    for role, endpoint in (("idp", "https://idp.example/sso"), ("sp", "https://e.example/acs")):
        metadata = Metadata("https://x.example/entity", role, endpoint, key.cert_pem)
        assert Metadata.from_xml(metadata.to_xml()) == metadata


def test_metadata_that_is_not_usable_is_refused_naming_why() -> None:
    with pytest.raises(SamlError, match="EntityDescriptor"):
        Metadata.from_xml(b"<x/>")
    with pytest.raises(SamlError, match="neither"):
        Metadata.from_xml(b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>')


def test_the_redirect_binding_round_trips_and_its_signature_verifies(key: Identity) -> None:
    sent = request()
    message = read_redirect(redirect_query(sent, "relay-1", key))
    assert message.request == sent and message.relay_state == "relay-1"
    assert message.verify(key.cert_pem)
    assert not message.verify(Identity.generate("other", time.time()).cert_pem)


def test_the_signed_query_reaches_the_idp_unchanged_through_yarl(key: Identity) -> None:
    """aiohttp's client re-normalises URLs with yarl; the signed bytes must survive that, or every IdP refuses them."""
    query = redirect_query(request(), "r", key)
    assert URL(f"http://idp.example/sso?{query}").raw_query_string == query


def test_a_tampered_redirect_fails_its_signature(key: Identity) -> None:
    query = redirect_query(request(), "relay-1", key).replace("RelayState=relay-1", "RelayState=relay-2")
    assert not read_redirect(query).verify(key.cert_pem)


@pytest.mark.parametrize("query", ["", "SAMLRequest=%%%", "SAMLRequest=bm90IGRlZmxhdGVk"])
def test_an_undecodable_redirect_is_refused(query: str) -> None:
    with pytest.raises(SamlError, match="Error decoding incoming SAML message"):
        read_redirect(query)


def test_the_parser_refuses_any_doctype_and_oversized_messages() -> None:
    with pytest.raises(SamlError) as caught:
        parse(b'<!doctype x [<!ENTITY a "b">]><x>&a;</x>')
    assert str(caught.value) == DOCTYPE_REFUSED
    with pytest.raises(SamlError, match="exceeds"):
        parse(b"<x>" + b"a" * 70000 + b"</x>")


def test_saml_times_are_utc_with_milliseconds() -> None:
    assert now_text(0) == "1970-01-01T00:00:00.000Z"
    assert parse_time("1970-01-01T00:01:00Z") == 60.0
    with pytest.raises(SamlError):
        parse_time("yesterday")
