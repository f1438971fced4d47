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


def test_only_names_on_the_allow_list_are_shown_whole_name_and_case() -> None:
    assert conceal_params("passcode=1234&barcode=5&code=9&state=7&State=8&state_x=9") == (
        "<CONCEALED>&<CONCEALED>&code=<CONCEALED>&state=7&<CONCEALED>&<CONCEALED>")  # an unknown name goes too


def test_empty_secret_param_stays_empty() -> None:
    assert conceal_params("code=&state=1") == "code=&state=1"


def test_unlisted_query_parameter_holding_a_token_is_concealed() -> None:
    url = f"https:///bGFiLmV4YW1wbGU/get_edge_config?bearer={ACCESS}&service_name=_cisco-uds"
    assert conceal_params(url) == ("https:///bGFiLmV4YW1wbGU/get_edge_config?bearer=<CONCEALED>"
                                   "&service_name=_cisco-uds")


def test_conceal_location_drops_the_whole_fragment() -> None:
    assert conceal_location("/OAuthcb#code=abc&state=1") == "/OAuthcb#code=<CONCEALED>"
    assert conceal_location("/OAuthcb#code=abc&expires_in=299&realm=local&state=1") == "/OAuthcb#code=<CONCEALED>"


def test_conceal_location_without_fragment_conceals_query_params() -> None:
    assert conceal_location("/OAuthcb?code=abc&state=1") == "/OAuthcb?code=<CONCEALED>&state=1"
    assert conceal_location("/ssosp/public/OAuthcb") == "/ssosp/public/OAuthcb"
    assert conceal_location("/somewhere") == "/<CONCEALED>"  # a path segment not known to be safe


def test_hide_location_is_the_event_line_form() -> None:
    assert hide_location("/OAuthcb#code=abc&state=1") == "/OAuthcb#code=Hidden"
    assert hide_location("/ssosp/public/OAuthcb") == "/ssosp/public/OAuthcb"


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
    assert conceal_body("{not json code=abc&state=1", "application/json") == "<CONCEALED>&state=1"


@pytest.mark.parametrize(("body", "content_type"), [
    ("", "application/json"),
    ('<?xml version="1.0"?><SSOResult version="1.0"/>', "application/xml"),
    ("[1, 2, 3]", "application/json"),
])
def test_other_bodies_are_left_alone(body: str, content_type: str) -> None:
    assert conceal_body(body, content_type) == body


# Issue 13: concealment by allow list — a value is shown only when its name is known to be safe.

BOUNDARY = "----mrasimBoundary7MA4YWxkTrZu0gW"


def multipart(*fields: tuple[str, str]) -> str:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n' for n, v in fields]
    return "".join(parts) + f"--{BOUNDARY}--\r\n"


def test_multipart_login_form_conceals_the_password_and_keeps_safe_fields() -> None:
    body = multipart(("username", "aokanlawon"), ("password", "Cisco!123"), ("state", "1771145038"))
    out = conceal_body(body, f"multipart/form-data; boundary={BOUNDARY}")
    assert "Cisco!123" not in out and "aokanlawon" not in out
    assert 'name="state"\r\n\r\n1771145038' in out and out.count(CONCEALED) == 2


def test_multipart_without_a_content_type_is_still_read_as_multipart() -> None:
    out = conceal_body(multipart(("password", "Cisco!123")), "")
    assert "Cisco!123" not in out


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/octet-stream", "text/html",
                                          "application/xml", "image/png"])
def test_a_form_under_any_content_type_is_concealed(content_type: str) -> None:
    out = conceal_body("username=aokanlawon&password=Cisco!123&state=1", content_type)
    assert "Cisco!123" not in out and "aokanlawon" not in out and "state=1" in out


@pytest.mark.parametrize("body", ["Cisco!123", "hunter2 is my password", "\x00\x01binary"])
def test_an_unreadable_request_body_is_concealed_whole(body: str) -> None:
    assert conceal_body(body, "text/plain") == CONCEALED


def test_a_short_plain_response_line_is_kept() -> None:
    text = "Unauthorized: no credentials\n"
    assert conceal_body(text, "text/plain", response=True) == text


@pytest.mark.parametrize(("name", "value"), [("X-Api-Key", "k3y"), ("X-Token", ACCESS), ("Bearer", ACCESS),
                                             ("X-Whatever", "x")])
def test_unlisted_headers_are_concealed(name: str, value: str) -> None:
    assert conceal_header(name, value) == CONCEALED


def test_a_token_in_a_safe_header_or_safe_parameter_is_still_concealed() -> None:
    assert conceal_header("User-Agent", f"Jabber {ACCESS}") == CONCEALED
    assert ACCESS not in conceal_params(f"/x?state={ACCESS}")
    assert ACCESS not in conceal_params(f"/seg/{ACCESS}/get_edge_config")


@pytest.mark.parametrize("url", [
    "/x?a1=s3cr3t", "/x?%70assword=s3cr3t", "/x?pass-word=s3cr3t", "/x?s3cr3t", "/x?state=1;password=s3cr3t",
    "/x#password=s3cr3t", "GET //h:8443/x?a.b=s3cr3t HTTP/1.1",
])
def test_any_unlisted_parameter_shape_is_concealed(url: str) -> None:
    assert "s3cr3t" not in conceal_params(url)


def test_json_members_off_the_list_are_concealed_at_any_depth() -> None:
    body = json.dumps({"error": "invalid_grant", "nested": {"secret": "s3cr3t", "n": [1, "s3cr3t"]},
                       "private_key": "s3cr3t", "expires_in": 299})
    out = json.loads(conceal_body(body, "application/json"))
    assert "s3cr3t" not in json.dumps(out)
    assert out["error"] == "invalid_grant" and out["expires_in"] == 299


@pytest.mark.parametrize("body", [
    "<login><password>s3cr3t</password></login>",
    "<login><pin>s3cr3t</pin></login>",
    "<login secret='s3cr3t'/>",
    "<login><username>a</username><![CDATA[s3cr3t]]></login>",
    "<login><!-- s3cr3t --></login>",
    "<login>s3cr3t<name>x</name></login>",
    "<name>x</name>s3cr3t",
])
def test_xml_text_and_attributes_off_the_list_are_concealed(body: str) -> None:
    assert "s3cr3t" not in conceal_body(body, "text/xml")


def test_known_xml_is_shown_as_it_is() -> None:
    body = '<clusterUser version="1.0"><result found="true"/><homeCluster serversUri="https://cucm:8443/cucm-uds/servers">cucm</homeCluster></clusterUser>'
    assert conceal_body(body, "application/xml") == body


# Issue 13, second round: a path is shown segment by segment, by allow list (common/concealpath.py).

@pytest.mark.parametrize(("url", "shown"), [
    ("POST //cucm.lab.example:8443/ssosp/token/access_token", "POST //cucm.lab.example:8443/ssosp/token/access_token"),
    ("https:///bGFiLmV4YW1wbGU/get_edge_config?service_name=_cisco-uds",
     "https:///bGFiLmV4YW1wbGU/get_edge_config?service_name=_cisco-uds"),
    ("https:///bGFiLmV4YW1wbGUvaHR0cHMvY3VjbS5sYWIuZXhhbXBsZS84NDQz/cucm-uds/user/aokanlawon/devices",
     "https:///bGFiLmV4YW1wbGUvaHR0cHMvY3VjbS5sYWIuZXhhbXBsZS84NDQz/cucm-uds/user/aokanlawon/devices"),
    ("http://cucm.lab.example:6970/SEP001122334455.cnf.xml", "http://cucm.lab.example:6970/SEP001122334455.cnf.xml"),
    ("/idp/profile/SAML2/Redirect/SSO?SAMLRequest=abc", "/idp/profile/SAML2/Redirect/SSO?SAMLRequest=<CONCEALED>"),
    ("POST /bGFiLmV4YW1wbGU/Zq7SecretMarker9/access_token", "POST /bGFiLmV4YW1wbGU/<CONCEALED>/access_token"),
    ("/bGFiLmV4YW1wbGU/%5A%71%37%53%65%63", "/bGFiLmV4YW1wbGU/<CONCEALED>"),
    ("/WnE3U2VjcmV0TWFya2VyOQ/get_edge_config", "/<CONCEALED>/get_edge_config"),  # base64 of a token
    ("https://axl:Pa55@cucm.lab.example:8443/cucm-uds/servers",
     "https://<CONCEALED>@cucm.lab.example:8443/cucm-uds/servers"),
    ("GET /foo/bar HTTP/1.1", "GET /<CONCEALED>/<CONCEALED> HTTP/1.1"),
    ("/x?Zq7SecretMarker9=1&state=2", "/<CONCEALED>?<CONCEALED>&state=2"),
])
def test_a_path_shows_only_the_segments_known_to_be_safe(url: str, shown: str) -> None:
    assert conceal_params(url) == shown


def test_a_uds_uri_attribute_is_concealed_as_a_url() -> None:
    body = ('<clusterUser uri="https://cucm:8443/cucm-uds/clusterUser?username=aokanlawon">'
            '<result found="true" uri="https://cucm:8443/cucm-uds/user/aokanlawon"/></clusterUser>')
    assert conceal_body(body, "application/xml") == body.replace("username=aokanlawon", "username=<CONCEALED>")


def test_a_remembered_body_is_concealed_as_a_fresh_one_for_each_type_and_direction() -> None:
    """The memo behind conceal_body (issue 18, fourth round) keys on the body, its type and the direction: the same
    text asked for again, or asked for as another type or direction, gets what the unremembered function gives."""
    from common.conceal import MEMO_BODY_LIMIT, _conceal_body, _remembered

    bodies = [
        (json.dumps({"access_token": ACCESS, "token_type": "Bearer"}), "application/json"),
        (f"grant_type=authorization_code&code={ACCESS}", "application/x-www-form-urlencoded"),
        ("<user><userName>alice</userName><password>hunter2</password></user>", "application/xml"),
        ("Unauthorized: no credentials", "text/plain"),
    ]
    for body, content_type in bodies:
        for response in (False, True):
            fresh = _conceal_body(body, content_type, response)
            assert conceal_body(body, content_type, response=response) == fresh
            assert conceal_body(body, content_type, response=response) == fresh  # now from the memo
    assert conceal_body("Unauthorized: no credentials", "text/plain") == CONCEALED  # a request body: not shown
    assert conceal_body("Unauthorized: no credentials", "text/plain", response=True) == "Unauthorized: no credentials"
    large = json.dumps({"access_token": ACCESS, "pad": "x" * MEMO_BODY_LIMIT})
    before = _remembered.cache_info().currsize
    assert ACCESS not in conceal_body(large, "application/json")
    assert _remembered.cache_info().currsize == before  # a large body is concealed, not kept
