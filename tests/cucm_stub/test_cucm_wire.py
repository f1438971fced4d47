"""The shared parsers: Basic and Bearer credentials, single-valued parameters, refusals as replies."""

from __future__ import annotations

import base64

import pytest

from cucm_stub.errors import InvalidGrant
from common.basic import parse_basic
from cucm_stub.wire import LogEvent, ParameterError, Reply, optional_param, parse_bearer, required_param


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


def test_basic_credentials_split_at_the_first_colon() -> None:
    assert parse_basic("Basic " + b64(b"aokanlawon:Cis:co!123")) == ("aokanlawon", "Cis:co!123")
    assert parse_basic("basic  " + b64(b"u:p")) == ("u", "p")


@pytest.mark.parametrize("value", [
    None, "", "Basic", "Basic ", "Basic !!!notbase64!!!", "Basic " + b64(b"no-colon"), "Basic " + b64(b":nouser"),
    "Basic " + b64(b"\xff\xfe:\xff"), "Bearer " + b64(b"u:p"), "Basic dTp", "Basic d\u00e9:p",
])
def test_malformed_basic_credentials_are_none_not_an_exception(value: str | None) -> None:
    assert parse_basic(value) is None


def test_client_credentials_are_form_decoded_only_when_asked() -> None:
    """RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding."""
    header = "Basic " + b64(b"C1:a%2Bb+c")
    assert parse_basic(header, form_encoded=True) == ("C1", "a+b c")
    assert parse_basic(header) == ("C1", "a%2Bb+c")


def test_bearer_token_is_extracted() -> None:
    assert parse_bearer("Bearer eyJ.abc.def") == "eyJ.abc.def"
    assert parse_bearer("bearer  eyJ") == "eyJ"
    for value in (None, "", "Bearer", "Bearer a b", "Basic eyJ"):
        assert parse_bearer(value) is None


def test_parameters_without_value_count_as_omitted() -> None:
    """RFC 6749 §3.1."""
    pairs = (("code", ""), ("code", "abc"), ("state", ""))
    assert optional_param(pairs, "code") == "abc"
    assert optional_param(pairs, "state") is None
    with pytest.raises(ParameterError, match="missing parameter: state"):
        required_param(pairs, "state")


def test_repeated_parameter_is_refused() -> None:
    with pytest.raises(ParameterError, match="duplicated parameter: code") as caught:
        optional_param((("code", "a"), ("code", "b")), "code")
    assert caught.value.name == "code"


def test_refused_reply_renders_the_error_and_appends_its_log_line() -> None:
    earlier = LogEvent("DEBUG", "x.Y", "before")
    reply = Reply.refused(InvalidGrant("authorization code already used"), "token.AccessTokenServlet", [earlier])
    assert reply.status == 400
    assert reply.events == (earlier, LogEvent("ERROR", "token.AccessTokenServlet",
                                              "invalid_grant: authorization code already used"))
