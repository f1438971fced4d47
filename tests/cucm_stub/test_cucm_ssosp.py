"""The sans-IO OAuth server: authorize_proxy, the token endpoint's two grants, the key export."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from urllib.parse import parse_qs

import pytest
from joserfc import jwe, jwt
from joserfc.jwk import OctKey, RSAKey

from common.clock import LabClock
from common.config import Lab, OAuthClient
from common.tokens import (
    REFRESH_CLAIMS,
    AuthzKeys,
    KeyRing,
    issue_refresh_token,
    read_access_token,
    read_refresh_token,
    refresh_claims,
    token_digest,
)
from cucm_stub.directory import Directory
from cucm_stub.ssosp import SsospServer
from cucm_stub.stores import MemoryRefreshTokenStore
from cucm_stub.wire import FORM, Reply, Request

ADMIN = ("axladmin", "Axl!Pass123")
USER = ("aokanlawon", "Cisco!123")
REDIRECT = re.compile(
    r"^http://cucm\.lab\.example:8443/ssosp/public/OAuthcb#code=(?P<code>[A-Za-z0-9_-]{40,})"
    r"&expires_in=299&realm=local(?:&state=(?P<state>.*))?$"
)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post(form: list[tuple[str, str]], content_type: str = FORM, **headers: str) -> Request:
    return Request("POST", "/ssosp/token/x", {k.replace("_", "-").lower(): v for k, v in headers.items()},
                   form=tuple(form), content_type=content_type)


def authorize(client: OAuthClient, *, user: tuple[str, str] = USER, state: str | None = "1771145038",
              extra: list[tuple[str, str]] | None = None, drop: str = "", **headers: str) -> Request:
    form = [("client_id", client.client_id), ("response_type", "code"), ("realm", "local")]
    if state is not None:
        form.append(("state", state))
    form = [(k, v) for k, v in form if k != drop] + (extra or [])
    merged = {"authorization": basic(*ADMIN), "x_credentials": basic(*user), **headers}
    return post(form, **merged)


def body(reply: Reply) -> dict[str, object]:
    return json.loads(reply.body)


def error(reply: Reply) -> str:
    return str(body(reply)["error"])


def code_of(reply: Reply) -> str:
    match = REDIRECT.match(str(body(reply)["redirect_uri"]))
    assert match, body(reply)
    return match.group("code")


def redeem(client: OAuthClient, code: str, **overrides: str) -> Request:
    form = {"code": code, "client_id": client.client_id, "grant_type": "authorization_code", **overrides}
    return post(list(form.items()), authorization=basic(client.client_id, client.client_secret))


def refresh(client: OAuthClient, token: str) -> Request:
    return post([("grant_type", "refresh_token"), ("refresh_token", token)],
                authorization=basic(client.client_id, client.client_secret))


@pytest.fixture
def jabber(lab: Lab) -> OAuthClient:
    return lab.clients[0]


@pytest.fixture
def other(lab: Lab) -> OAuthClient:
    return lab.clients[1]


def login(server: SsospServer, client: OAuthClient) -> dict[str, object]:
    reply = server.access_token(redeem(client, code_of(server.authorize_proxy(authorize(client)))))
    assert reply.status == 200, reply.body
    return body(reply)


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


def test_only_the_code_response_type_is_supported(server: SsospServer, jabber: OAuthClient) -> None:
    request = authorize(jabber, drop="response_type", extra=[("response_type", "token")])
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


# access_token, authorization_code grant


def test_code_is_exchanged_for_both_tokens(server: SsospServer, jabber: OAuthClient, keys: AuthzKeys,
                                           clock: LabClock) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    reply = server.access_token(redeem(jabber, code))
    assert reply.status == 200
    assert (reply.headers["Cache-Control"], reply.headers["Pragma"]) == ("no-store", "no-cache")
    tokens = body(reply)
    assert list(tokens) == ["expires_in", "token_type", "refresh_token", "refresh_token_expires_in", "access_token"]
    assert reply.body.startswith(b'{"expires_in":3600,"token_type":"Bearer","refresh_token":"eyJ')
    assert tokens["refresh_token_expires_in"] == 5184000
    now = clock.timestamp()
    access = read_access_token(str(tokens["access_token"]), KeyRing((keys,)), now)
    assert (access["sub"], access["ccid"], access["iss"]) == ("aokanlawon", jabber.client_id, keys.cluster_uuid)
    assert access["exp"] - int(now) in (3600, 3599)
    claims = read_refresh_token(str(tokens["refresh_token"]), KeyRing((keys,)), now)
    assert tuple(claims) == REFRESH_CLAIMS and claims["ccid"] == jabber.client_id
    row = server.refresh_tokens.get(claims["tid"])
    assert row is not None and (row.userid, row.client_id, row.validity) == ("aokanlawon", jabber.client_id,
                                                                             claims["exp"])


def test_token_issue_writes_the_token_manager_lines(server: SsospServer, jabber: OAuthClient) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    reply = server.access_token(redeem(jabber, code))
    tokens = body(reply)
    lines = [(e.level, e.category, e.message) for e in reply.events]
    assert {level for level, _, _ in lines} == {"DEBUG"}
    assert {category for _, category, _ in lines} == {"token.TokenV2Manager"}
    messages = [m for _, _, m in lines]
    assert messages[0] == "TokenV2Manager.createTokens:  Issuing Refresh Token"
    assert re.match(r'^JWT claims beofre encryption:: \{"exp":\d+,"iss":"[0-9a-f-]+","typ":"user","tid":"[0-9a-f-]+",'
                    r'"ctyp":"refresh","ccid":"C[0-9a-f]{64}"\}$', messages[1])
    assert messages[2] == f"SHA256 sum of the refresh token : {token_digest(str(tokens['refresh_token']))}"
    assert messages[3] == "TokenV2Manager.createTokens:  Issuing Access Token"
    assert '"ctyp":"access"' in messages[4] and '"sub":"aokanlawon"' in messages[4]
    assert messages[5] == f"SHA256 sum of the access token : {token_digest(str(tokens['access_token']))}"
    text = "\n".join(messages)
    assert code not in text and str(tokens["access_token"]) not in text and str(tokens["refresh_token"]) not in text


def test_tokens_verify_with_an_independent_jose_library(server: SsospServer, jabber: OAuthClient,
                                                        keys: AuthzKeys) -> None:
    tokens = login(server, jabber)
    public = RSAKey.import_key(keys.signing.public_pem())
    refresh_token = jwt.decode(str(tokens["refresh_token"]), public, algorithms=["RS256"])
    assert refresh_token.header["kid"] == keys.signing.kid and refresh_token.claims["ctyp"] == "refresh"
    outer = jwt.decode(str(tokens["access_token"]), public, algorithms=["RS256"])
    inner = jwe.decrypt_compact(outer.claims["private"], OctKey.import_key(keys.encryption.secret),
                                algorithms=["dir", "A128CBC-HS256"])
    assert inner.protected["kid"] == keys.encryption.kid != keys.signing.kid
    assert json.loads(inner.plaintext)["sub"] == "aokanlawon"


def test_second_use_of_a_code_is_invalid_grant(server: SsospServer, jabber: OAuthClient) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    assert server.access_token(redeem(jabber, code)).status == 200
    reply = server.access_token(redeem(jabber, code))
    assert (reply.status, error(reply)) == (400, "invalid_grant")
    assert reply.events[-1].message == "invalid_grant: authorization code already used"


def test_expired_code_is_invalid_grant(server: SsospServer, jabber: OAuthClient, clock: LabClock) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    clock.advance(300)
    reply = server.access_token(redeem(jabber, code))
    assert (error(reply), reply.events[-1].message) == ("invalid_grant", "invalid_grant: authorization code expired")


def test_code_of_another_client_is_invalid_grant(server: SsospServer, jabber: OAuthClient,
                                                 other: OAuthClient) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    assert error(server.access_token(redeem(other, code, client_id=other.client_id))) == "invalid_grant"
    assert server.access_token(redeem(jabber, code)).status == 200


def test_client_id_may_be_omitted_when_the_client_authenticates(server: SsospServer, jabber: OAuthClient) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    request = redeem(jabber, code)
    request = dataclasses.replace(request, form=tuple(p for p in request.form if p[0] != "client_id"))
    assert server.access_token(request).status == 200


def test_client_secret_in_the_form_authenticates_too(server: SsospServer, jabber: OAuthClient) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    request = post([("grant_type", "authorization_code"), ("code", code), ("client_id", jabber.client_id),
                    ("client_secret", jabber.client_secret)])
    assert server.access_token(request).status == 200


@pytest.mark.parametrize("authorization", [
    None, "Basic ???", "Bearer abc", "wrong-secret", "unknown-client",
])
def test_client_authentication_failure_is_invalid_client_401(server: SsospServer, jabber: OAuthClient,
                                                             authorization: str | None) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    request = redeem(jabber, code)
    header = {"wrong-secret": basic(jabber.client_id, "nope"),
              "unknown-client": basic("C" + "9" * 64, jabber.client_secret)}.get(authorization or "", authorization)
    headers = {} if header is None else {"authorization": header}
    reply = server.access_token(dataclasses.replace(request, headers=headers))
    assert (reply.status, error(reply)) == (401, "invalid_client")
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="ssosp"'
    assert server.access_token(request).status == 200, "a refused client must not burn the code"


def test_two_client_authentication_methods_are_invalid_request(server: SsospServer, jabber: OAuthClient) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    reply = server.access_token(redeem(jabber, code, client_secret=jabber.client_secret))
    assert (reply.status, error(reply)) == (400, "invalid_request")


def test_client_id_must_match_the_authenticated_client(server: SsospServer, jabber: OAuthClient,
                                                       other: OAuthClient) -> None:
    code = code_of(server.authorize_proxy(authorize(jabber)))
    reply = server.access_token(redeem(jabber, code, client_id=other.client_id))
    assert (reply.status, error(reply)) == (400, "invalid_request")


@pytest.mark.parametrize(("form", "expected"), [
    ([("code", "x")], ("invalid_request", "missing parameter: grant_type")),
    ([("grant_type", "authorization_code"), ("grant_type", "authorization_code"), ("code", "x")],
     ("invalid_request", "duplicated parameter: grant_type")),
    ([("grant_type", "authorization_code")], ("invalid_request", "missing parameter: code")),
    ([("grant_type", "authorization_code"), ("code", "a"), ("code", "b")],
     ("invalid_request", "duplicated parameter: code")),
    ([("grant_type", "refresh_token")], ("invalid_request", "missing parameter: refresh_token")),
    ([("grant_type", "password"), ("username", "u"), ("password", "p")],
     ("unsupported_grant_type", "grant_type password is not supported")),
    ([("grant_type", "client_credentials")], ("unsupported_grant_type", "grant_type client_credentials is not supported")),
])
def test_malformed_token_requests(server: SsospServer, jabber: OAuthClient, form: list[tuple[str, str]],
                                  expected: tuple[str, str]) -> None:
    reply = server.access_token(post(form, authorization=basic(jabber.client_id, jabber.client_secret)))
    assert reply.status == 400
    assert (error(reply), body(reply)["error_description"]) == expected


def test_token_endpoint_wants_a_form_body(server: SsospServer, jabber: OAuthClient) -> None:
    request = post([], content_type="application/json", authorization=basic(jabber.client_id, jabber.client_secret))
    assert error(server.access_token(request)) == "invalid_request"


# access_token, refresh_token grant


def test_refresh_token_gets_a_new_access_token_only(server: SsospServer, jabber: OAuthClient, keys: AuthzKeys,
                                                    clock: LabClock) -> None:
    tokens = login(server, jabber)
    clock.advance(3601)
    old_access = str(tokens["access_token"])
    for _ in range(2):
        reply = server.access_token(refresh(jabber, str(tokens["refresh_token"])))
        assert reply.status == 200
        renewed = body(reply)
        assert list(renewed) == ["expires_in", "token_type", "access_token"]
        assert renewed["expires_in"] == 3600 and renewed["token_type"] == "Bearer"
        assert renewed["access_token"] != old_access
        claims = read_access_token(str(renewed["access_token"]), KeyRing((keys,)), clock.timestamp())
        assert claims["sub"] == "aokanlawon"
        assert [e.message for e in reply.events][0] == "TokenV2Manager.createTokens:  Issuing Access Token"


def test_refresh_token_of_another_client_is_invalid_grant(server: SsospServer, jabber: OAuthClient,
                                                          other: OAuthClient) -> None:
    tokens = login(server, jabber)
    reply = server.access_token(refresh(other, str(tokens["refresh_token"])))
    assert (reply.status, error(reply)) == (400, "invalid_grant")


def test_revoked_refresh_token_is_invalid_grant(server: SsospServer, jabber: OAuthClient) -> None:
    tokens = login(server, jabber)
    assert server.refresh_tokens.revoke("aokanlawon") == 1
    reply = server.access_token(refresh(jabber, str(tokens["refresh_token"])))
    assert (error(reply), body(reply)["error_description"]) == ("invalid_grant", "refresh token revoked")


def test_refresh_token_not_in_the_table_is_invalid_grant(server: SsospServer, jabber: OAuthClient, keys: AuthzKeys,
                                                         clock: LabClock) -> None:
    forged = issue_refresh_token(keys, refresh_claims(keys.cluster_uuid, jabber.client_id, clock.timestamp(), 60,
                                                      "00000000-0000-0000-0000-000000000000"))
    reply = server.access_token(refresh(jabber, forged))
    assert error(reply) == "invalid_grant"
    assert "not in refreshtokendetails" in reply.events[-1].message


def test_expired_refresh_token_is_invalid_grant(server: SsospServer, jabber: OAuthClient, clock: LabClock) -> None:
    tokens = login(server, jabber)
    clock.advance(5184000)
    reply = server.access_token(refresh(jabber, str(tokens["refresh_token"])))
    assert error(reply) == "invalid_grant"
    assert reply.events[-1].message == "invalid_grant: refresh token refused: Token expired"


@pytest.mark.parametrize("which", ["other_keys", "access_token", "garbage"])
def test_foreign_or_wrong_tokens_are_invalid_grant(server: SsospServer, jabber: OAuthClient, other_keys: AuthzKeys,
                                                   clock: LabClock, which: str) -> None:
    tokens = login(server, jabber)
    token = {
        "other_keys": issue_refresh_token(other_keys, refresh_claims(other_keys.cluster_uuid, jabber.client_id,
                                                                     clock.timestamp(), 60, "t")),
        "access_token": str(tokens["access_token"]),
        "garbage": "not.a.jwt",
    }[which]
    reply = server.access_token(refresh(jabber, token))
    assert (reply.status, error(reply)) == (400, "invalid_grant")
    assert token not in reply.events[-1].message


def test_refresh_is_refused_once_mra_is_unchecked(lab: Lab, server: SsospServer, jabber: OAuthClient,
                                                  keys: AuthzKeys, clock: LabClock) -> None:
    """CUCM checks the user on every use: an administrator unchecking MRA ends refreshes (mra-facts §5)."""
    tokens = login(server, jabber)
    users = tuple(dataclasses.replace(u, mra_enabled=False) if u.userid == "aokanlawon" else u for u in lab.users)
    changed = dataclasses.replace(lab, users=users)
    later = SsospServer(lab.clusters[0], lab.clients, Directory(changed, lab.clusters[0]), keys, clock,
                        refresh_tokens=server.refresh_tokens)
    reply = later.access_token(refresh(jabber, str(tokens["refresh_token"])))
    assert error(reply) == "invalid_grant"
    assert "Mobile and Remote Access" in str(body(reply)["error_description"])


def test_refresh_store_is_pluggable(lab: Lab, directory: Directory, keys: AuthzKeys, clock: LabClock,
                                    jabber: OAuthClient) -> None:
    store = MemoryRefreshTokenStore()
    server = SsospServer(lab.clusters[0], lab.clients, directory, keys, clock, refresh_tokens=store)
    login(server, jabber)
    assert len(store) == 1


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
    assert reply.body == b'<Response><SingleSignOn><Status enabled="false"/><Token reuse="true"/></SingleSignOn></Response>'
