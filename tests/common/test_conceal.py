"""Secrets never reach the logs: headers, parameters, locations and JSON bodies concealed as the seed shows them."""

from __future__ import annotations

import json

import pytest

from common.conceal import (
    CONCEALED,
    conceal_body,
    conceal_header,
    conceal_location,
    conceal_params,
    hide_location,
    shorten_token,
)

CLIENT_ID = "C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1"
ACCESS = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjZhMmQifQ."
          "eyJwcml2YXRlIjoiZXlKaGJHY2lPaUprYVhJaUxDSmxibU1pT2lKQk1USTRRMEpETFVoVE1qVTJJbjAifQ."
          "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmUtxRtbYA")
REFRESH = ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9."
           "eyJleHAiOjE1OTA5MjQ5NzgsImN0eXAiOiJyZWZyZXNoIn0."
           "c2lnbmF0dXJlLTM4b015MGxkbWZKUlNWUmE4cjhpdUpKYkR4QQ-38oMy0ldmfJRSVRa8r8iuJJbDxA")


@pytest.mark.parametrize("name", ["Authorization", "authorization", "X-Credentials", "Cookie", "Set-Cookie",
                                  "Proxy-Authorization"])
def test_secret_headers_are_concealed(name: str) -> None:
    assert conceal_header(name, "Basic YXhsYWRtaW46QXhsIVBhc3MxMjM=") == CONCEALED == "<CONCEALED>"


@pytest.mark.parametrize(("name", "value"), [
    ("Content-Type", "application/x-www-form-urlencoded"),
    ("User-Agent", "TANDBERG-Video-Communication-Server/X12.5.7"),
    ("Host", "cucm.lab.example:8443"),
])
def test_other_headers_are_kept(name: str, value: str) -> None:
    assert conceal_header(name, value) == value


def test_secret_params_are_concealed_and_others_kept() -> None:
    text = (f"code=abc123&client_id={CLIENT_ID}&username=aokanlawon&password=Cisco!123&token=eyJx"
            "&email=aokanlawon@lab.com&state=1771145038&grant_type=authorization_code")
    assert conceal_params(text) == (
        f"code=<CONCEALED>&client_id={CLIENT_ID}&username=<CONCEALED>&password=<CONCEALED>&token=<CONCEALED>"
        "&email=aokanlawon@lab.com&state=1771145038&grant_type=authorization_code")


def test_params_in_a_url_are_concealed_as_seed() -> None:
    url = "https://av-cucm.lab.com:8443/cucm-uds/clusterUser?username=aokanlawon"
    assert conceal_params(url) == "https://av-cucm.lab.com:8443/cucm-uds/clusterUser?username=<CONCEALED>"


def test_param_key_must_match_whole_name() -> None:
    assert conceal_params("passcode=1234&barcode=5&code=9") == "passcode=1234&barcode=5&code=<CONCEALED>"


def test_empty_secret_param_stays_empty() -> None:
    assert conceal_params("code=&state=1") == "code=&state=1"


def test_conceal_params_with_explicit_keys() -> None:
    assert conceal_params("code=a&password=b", ("code",)) == "code=<CONCEALED>&password=b"


def test_conceal_location_drops_the_whole_fragment() -> None:
    assert conceal_location("/OAuthcb#code=abc&state=1") == "/OAuthcb#code=<CONCEALED>"
    assert conceal_location("/OAuthcb#code=abc&expires_in=299&realm=local&state=1") == "/OAuthcb#code=<CONCEALED>"


def test_conceal_location_without_fragment_conceals_query_params() -> None:
    assert conceal_location("/login?code=abc&state=1") == "/login?code=<CONCEALED>&state=1"
    assert conceal_location("/somewhere") == "/somewhere"


def test_hide_location_is_the_event_line_form() -> None:
    assert hide_location("/OAuthcb#code=abc&state=1") == "/OAuthcb#code=Hidden"
    assert hide_location("/plain") == "/plain"


def test_validator_token_body_is_lowercase_concealed_as_seed() -> None:
    assert conceal_body(json.dumps({"token": ACCESS}), "application/json") == '{"token": "<concealed>"}'


def test_token_response_shortens_tokens_and_never_shows_them_whole() -> None:
    body = json.dumps({"expires_in": 3600, "token_type": "Bearer", "refresh_token": REFRESH,
                       "refresh_token_expires_in": 5184000, "access_token": ACCESS})
    out = conceal_body(body, "application/json")
    assert ACCESS not in out and REFRESH not in out
    data = json.loads(out)
    assert data["access_token"] == shorten_token(ACCESS) == f"{ACCESS[:18]}--------{ACCESS[-8:]}"
    assert data["refresh_token"].startswith("eyJhbGciOiJSUzI1Ni--------")  # the seed's shape
    assert (data["expires_in"], data["token_type"], data["refresh_token_expires_in"]) == (3600, "Bearer", 5184000)
    assert list(data) == ["expires_in", "token_type", "refresh_token", "refresh_token_expires_in", "access_token"]


def test_short_token_is_concealed_entirely() -> None:
    assert shorten_token("x" * 40) == CONCEALED
    assert "x" * 20 not in shorten_token("x" * 41)


def test_json_secret_params_are_concealed() -> None:
    out = json.loads(conceal_body('{"client_secret": "s3cret", "password": "p", "client_id": "C1"}'))
    assert out == {"client_secret": CONCEALED, "password": CONCEALED, "client_id": "C1"}


def test_redirect_uri_conceals_code_and_keeps_the_rest() -> None:
    body = ('{"redirect_uri":"https://cucm:8443/ssosp/public/OAuthcb#code=Zm9vYmFyYmF6cXV4'
            '&expires_in=299&realm=local&state=1771145038"}')
    out = conceal_body(body, "application/json;charset=UTF-8")
    assert "Zm9vYmFyYmF6cXV4" not in out
    assert json.loads(out) == {"redirect_uri": "https://cucm:8443/ssosp/public/OAuthcb#code=<CONCEALED>"
                                               "&expires_in=299&realm=local&state=1771145038"}


def test_redirect_uri_body_matches_seed_byte_for_byte() -> None:
    body = ('{"redirect_uri":"https://cucm:8443/ssosp/public/OAuthcb#code=Zm9vYmFyYmF6cXV4'
            '&expires_in=299&realm=local&state=1771145038"}')
    assert conceal_body(body, "application/json") == (
        '{"redirect_uri":"https://cucm:8443/ssosp/public/OAuthcb#code=<CONCEALED>'
        '&expires_in=299&realm=local&state=1771145038"}')


def test_form_body_is_concealed_as_seed() -> None:
    body = f"code=abc123&client_id={CLIENT_ID}&grant_type=authorization_code"
    assert conceal_body(body, "application/x-www-form-urlencoded") == (
        f"code=<CONCEALED>&client_id={CLIENT_ID}&grant_type=authorization_code")


def test_json_looking_text_that_does_not_parse_is_param_concealed() -> None:
    assert conceal_body("{not json code=abc", "application/json") == "{not json code=<CONCEALED>"


@pytest.mark.parametrize(("body", "content_type"), [
    ("", "application/json"),
    ('<?xml version="1.0"?><SSOResult version="1.0"/>', "application/xml"),
    ("[1, 2, 3]", "application/json"),
    ("password=in-plain-text", "text/plain"),
])
def test_other_bodies_are_left_alone(body: str, content_type: str) -> None:
    assert conceal_body(body, content_type) == body
