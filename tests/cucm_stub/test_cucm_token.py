"""The token endpoint (RFC 6749 §4.1.3, §6): client authentication and both grants, without sockets."""

from __future__ import annotations

import dataclasses
import json
import re

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
from cucm_calls import authorize, basic, body, code_of, error, login, post, redeem, refresh
from common.directory import Directory
from cucm_stub.ssosp import SsospServer
from cucm_stub.stores import MemoryRefreshTokenStore


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
    ([("grant_type", "client_credentials")],
     ("unsupported_grant_type", "grant_type client_credentials is not supported")),
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


