"""authorize_proxy (mra-facts §3 step 5), the AuthZ key export and the SSO probe, without sockets."""

from __future__ import annotations

import base64
import dataclasses
from urllib.parse import parse_qs

import pytest

from common.config import OAuthClient
from common.tokens import AuthzKeys
from cucm_calls import ADMIN, REDIRECT, authorize, basic, body, error
from cucm_stub.ssosp import SsospServer
from cucm_stub.wire import Request


# authorize_proxy


def test_authorize_proxy_returns_the_callback_with_a_code(server: SsospServer, jabber: OAuthClient) -> None:
    reply = server.authorize_proxy(authorize(jabber))
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body.startswith(b'{"redirect_uri":"http://cucm.lab.example:8443/ssosp/public/OAuthcb#code=')
    match = REDIRECT.match(str(body(reply)["redirect_uri"]))
    assert match and match.group("state") == "1771145038"
    assert [(e.level, e.category) for e in reply.events] == [("INFO", "token.AuthorizeProxyServlet")]
    assert match.group("code") not in reply.events[0].message


def test_state_is_optional_and_form_encoded_when_echoed(server: SsospServer, jabber: OAuthClient) -> None:
    without = str(body(server.authorize_proxy(authorize(jabber, state=None)))["redirect_uri"])
    assert "state=" not in without and without.endswith("&realm=local")
    odd = str(body(server.authorize_proxy(authorize(jabber, state="a b&c=d")))["redirect_uri"])
    assert parse_qs(odd.split("#", 1)[1])["state"] == ["a b&c=d"]


@pytest.mark.parametrize("header", [None, basic("aokanlawon", "Cisco!123"), basic("axladmin", "nope"),
                                    "Basic %%%", "Bearer eyJ"])
def test_authorize_proxy_requires_the_axl_application_user(server: SsospServer, jabber: OAuthClient,
                                                            header: str | None) -> None:
    request = authorize(jabber)
    headers = {k: v for k, v in request.headers.items() if k != "authorization"}
    if header is not None:
        headers["authorization"] = header
    reply = server.authorize_proxy(dataclasses.replace(request, headers=headers))
    assert (reply.status, error(reply)) == (401, "unauthorized_client")
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="ssosp"'


def test_caller_is_authenticated_before_the_form_is_read(server: SsospServer, jabber: OAuthClient) -> None:
    reply = server.authorize_proxy(authorize(jabber, drop="client_id", authorization=basic("axladmin", "x")))
    assert error(reply) == "unauthorized_client"


@pytest.mark.parametrize(("user", "reason"), [
    (("aokanlawon", "Wr0ng!pw"), "wrong password for user aokanlawon"),
    (("ghost", "Cisco!123"), "user ghost not found"),
    (("AOKANLAWON", "Cisco!123"), "user AOKANLAWON not found"),
    (("remoteuser", "Remote!000"), "user remoteuser is homed on cucm2.lab.example"),
])
def test_wrong_end_user_credentials_are_access_denied(server: SsospServer, jabber: OAuthClient,
                                                       user: tuple[str, str], reason: str) -> None:
    reply = server.authorize_proxy(authorize(jabber, user=user))
    assert reply.status == 401
    assert body(reply) == {"error": "access_denied", "error_description": "Invalid user credentials"}
    assert reply.events[-1].message == f"access_denied: {reason}"
    assert user[1] not in reply.events[-1].message


@pytest.mark.parametrize("value", [None, "Basic !!", "Basic " + base64.b64encode(b"nocolon").decode()])
def test_missing_or_malformed_x_credentials_are_access_denied(server: SsospServer, jabber: OAuthClient,
                                                              value: str | None) -> None:
    request = authorize(jabber)
    headers = {k: v for k, v in request.headers.items() if k != "x-credentials"}
    if value is not None:
        headers["x-credentials"] = value
    reply = server.authorize_proxy(dataclasses.replace(request, headers=headers))
    assert (reply.status, error(reply)) == (401, "access_denied")


def test_user_without_mra_is_refused_with_403(server: SsospServer, jabber: OAuthClient) -> None:
    reply = server.authorize_proxy(authorize(jabber, user=("nomra", "NoMra!789")))
    assert reply.status == 403
    assert error(reply) == "access_denied"
    assert "Mobile and Remote Access is not enabled in the user profile" in str(body(reply)["error_description"])


def test_unregistered_client_is_invalid_client_400(server: SsospServer, jabber: OAuthClient) -> None:
    reply = server.authorize_proxy(authorize(dataclasses.replace(jabber, client_id="C" + "0" * 64)))
    assert (reply.status, error(reply)) == (400, "invalid_client")
    assert "WWW-Authenticate" not in reply.headers


def test_only_code_and_token_response_types_are_supported(server: SsospServer, jabber: OAuthClient) -> None:
    request = authorize(jabber, drop="response_type", extra=[("response_type", "id_token")])
    reply = server.authorize_proxy(request)
    assert (reply.status, error(reply)) == (400, "unsupported_response_type")


@pytest.mark.parametrize(("drop", "extra", "text"), [
    ("client_id", [], "missing parameter: client_id"),
    ("response_type", [], "missing parameter: response_type"),
    ("realm", [], "missing parameter: realm"),
    ("realm", [("realm", "")], "missing parameter: realm"),
    ("", [("state", "2")], "duplicated parameter: state"),
    ("", [("response_type", "code")], "duplicated parameter: response_type"),
])
def test_missing_or_repeated_parameters_are_invalid_request(server: SsospServer, jabber: OAuthClient, drop: str,
                                                            extra: list[tuple[str, str]], text: str) -> None:
    reply = server.authorize_proxy(authorize(jabber, drop=drop, extra=extra))
    assert reply.status == 400
    assert body(reply) == {"error": "invalid_request", "error_description": text}


def test_authorize_proxy_wants_a_form_body(server: SsospServer, jabber: OAuthClient) -> None:
    request = dataclasses.replace(authorize(jabber), content_type="application/json")
    assert error(server.authorize_proxy(request)) == "invalid_request"

# authz_keys and the SSO probe


def test_authz_keys_are_exported_to_the_axl_user(server: SsospServer, keys: AuthzKeys) -> None:
    reply = server.authz_keys(Request("GET", "/ssosp/token/authz_keys", {"authorization": basic(*ADMIN)}))
    assert reply.status == 200 and reply.headers["Content-Type"] == "application/json"
    fetched = AuthzKeys.from_export(body(reply))
    assert (fetched.signing.kid, fetched.encryption.secret) == (keys.signing.kid, keys.encryption.secret)
    assert fetched.signing.private_key is None


@pytest.mark.parametrize("header", [None, basic("aokanlawon", "Cisco!123"), basic("axladmin", "x"), "Basic ***"])
def test_authz_keys_refuse_anyone_else(server: SsospServer, header: str | None) -> None:
    reply = server.authz_keys(Request("GET", "/ssosp/token/authz_keys",
                                      {} if header is None else {"authorization": header}))
    assert (reply.status, reply.body) == (401, b"")
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="Cisco Web Services Realm"'
    assert reply.events[-1].level == "ERROR"


def test_single_sign_on_status_says_sso_is_off(server: SsospServer) -> None:
    reply = server.single_sign_on(Request("GET", "/ssosp/ws/public/singleSignOn"))
    assert reply.body == (
        b'<Response><SingleSignOn><Status enabled="false"/><Token reuse="true"/></SingleSignOn></Response>'
    )
