"""The token endpoint's grants, one class each (Authlib style), and TokenV2Manager, which mints what they hand out.

A grant is chosen by its ``GRANT_TYPE`` (RFC 6749 §4.1.3, §6), receives a request whose client has already been
authenticated, and returns a :class:`~cucm_stub.wire.Reply` or raises a :class:`~cucm_stub.errors.OAuthError`.

:class:`TokenIssuer` writes the lines CUCM's ``token.TokenV2Manager`` writes (seed article, including its typo)::

    TokenV2Manager.createTokens:  Issuing Refresh Token
    JWT claims beofre encryption:: {"exp":…,"iss":…,"typ":"user","tid":…,"ctyp":"refresh","ccid":…}
    SHA256 sum of the refresh token : <hex>

and the same three for the access token; a token itself is never logged, only its SHA-256.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from common.config import OAuthClient
from common.tokens import (
    AuthzKeys,
    KeyRing,
    TokenError,
    access_claims,
    issue_access_token,
    issue_refresh_token,
    read_refresh_token,
    refresh_claims,
    token_digest,
)
from common.directory import Directory, EndUser
from cucm_stub.platform import ClusterKeys
from cucm_stub.errors import NO_STORE, AccessDenied, InvalidGrant, InvalidRequest
from cucm_stub.stores import ACTIVE, CODE_LIFETIME, CodeStore, RefreshTokenRecord, RefreshTokenStore
from cucm_stub.wire import LogEvent, ParameterError, Reply, Request, optional_param, required_param

TOKEN_MANAGER = "token.TokenV2Manager"
ACCESS_TOKEN_LIFETIME = 3600
REFRESH_TOKEN_LIFETIME = 5_184_000


@dataclass(frozen=True)
class Lifetimes:
    """Token and code lives in seconds: enterprise parameters "OAuth Access Token Expiry Timer" (60 min) and
    "OAuth Refresh Token Expiry Timer" (60 days), and the fixed 299 s of an authorization code."""

    access: int = ACCESS_TOKEN_LIFETIME
    refresh: int = REFRESH_TOKEN_LIFETIME
    code: int = CODE_LIFETIME


def form_param(request: Request, name: str, *, required: bool = True) -> str | None:
    """A form parameter, or :class:`InvalidRequest` naming it when missing or repeated (RFC 6749 §3.1, §3.2)."""
    try:
        return required_param(request.form, name) if required else optional_param(request.form, name)
    except ParameterError as exc:
        raise InvalidRequest(str(exc)) from None


class TokenIssuer:
    """CUCM's TokenV2Manager: signs (and for access tokens encrypts) with the cluster's AuthZ keys."""

    def __init__(self, keys: ClusterKeys, lifetimes: Lifetimes) -> None:
        self.holder = keys
        self.lifetimes = lifetimes

    @property
    def keys(self) -> AuthzKeys:
        return self.holder.current

    def access_token(self, userid: str, client_id: str, now: float) -> tuple[str, list[LogEvent]]:
        claims = access_claims(self.keys.cluster_uuid, userid, client_id, now, self.lifetimes.access)
        token = issue_access_token(self.keys, claims)
        return token, self._lines("Access", "access", claims, token)

    def refresh_token(self, userid: str, client_id: str, now: float) -> tuple[str, RefreshTokenRecord, list[LogEvent]]:
        tid = str(uuid.uuid4())
        claims = refresh_claims(self.keys.cluster_uuid, client_id, now, self.lifetimes.refresh, tid)
        token = issue_refresh_token(self.keys, claims)
        record = RefreshTokenRecord(tid, token_digest(token), userid, client_id, claims["exp"])
        return token, record, self._lines("Refresh", "refresh", claims, token)

    @staticmethod
    def _lines(title: str, kind: str, claims: Mapping[str, Any], token: str) -> list[LogEvent]:
        compact = json.dumps(dict(claims), separators=(",", ":"))
        return [
            LogEvent("DEBUG", TOKEN_MANAGER, f"TokenV2Manager.createTokens:  Issuing {title} Token"),
            LogEvent("DEBUG", TOKEN_MANAGER, f"JWT claims beofre encryption:: {compact}"),
            LogEvent("DEBUG", TOKEN_MANAGER, f"SHA256 sum of the {kind} token : {token_digest(token)}"),
        ]


def token_reply(body: Mapping[str, Any], events: list[LogEvent]) -> Reply:
    """A successful token response (RFC 6749 §5.1): compact JSON in ssosp's key order, never cached."""
    headers = {"Content-Type": "application/json", **NO_STORE}
    return Reply(200, headers, json.dumps(dict(body), separators=(",", ":")).encode(), tuple(events))


@dataclass(frozen=True)
class GrantContext:
    """What every grant may consult: the directory, the stores, the token minter and the keys to read tokens."""

    directory: Directory
    codes: CodeStore
    refresh_tokens: RefreshTokenStore
    issuer: TokenIssuer
    keys: ClusterKeys

    @property
    def ring(self) -> KeyRing:
        return self.keys.ring


class TokenGrant:
    """A grant type the token endpoint accepts; subclasses set ``GRANT_TYPE`` and answer one request."""

    GRANT_TYPE: ClassVar[str] = ""

    def __init__(self, context: GrantContext) -> None:
        self.context = context

    def create_token_response(self, request: Request, client: OAuthClient, now: float) -> Reply:
        raise NotImplementedError

    def allowed_user(self, userid: str) -> EndUser:
        """CUCM checks the user on every issue: still homed here and still allowed MRA (mra-facts §5)."""
        user = self.context.directory.local_user(userid)
        if user is None:
            raise InvalidGrant("user not found", f"user {userid} is no longer in this cluster")
        if not user.mra_enabled:
            denied = AccessDenied.mra_not_enabled(userid)
            raise InvalidGrant(denied.description, denied.reason)
        return user


class AuthorizationCodeGrant(TokenGrant):
    """RFC 6749 §4.1.3: a code from ``authorize_proxy`` → access token and refresh token (§4.1.4).

    ``client_id`` may be omitted when the client authenticates (§4.1.3); Expressway-C sends it anyway (seed).
    """

    GRANT_TYPE = "authorization_code"

    def create_token_response(self, request: Request, client: OAuthClient, now: float) -> Reply:
        code = form_param(request, "code")
        assert code is not None
        record = self.context.codes.redeem(code, client.client_id, now)
        user = self.allowed_user(record.userid)
        refresh, row, events = self.context.issuer.refresh_token(user.userid, client.client_id, now)
        access, access_events = self.context.issuer.access_token(user.userid, client.client_id, now)
        self.context.refresh_tokens.add(row)
        lifetimes = self.context.issuer.lifetimes
        body = {
            "expires_in": lifetimes.access,
            "token_type": "Bearer",
            "refresh_token": refresh,
            "refresh_token_expires_in": lifetimes.refresh,
            "access_token": access,
        }
        return token_reply(body, events + access_events)


class RefreshTokenGrant(TokenGrant):
    """RFC 6749 §6: a refresh token → a new access token only; the refresh token keeps its own 60-day life.

    The token must verify (signature, expiry), be recorded in ``refreshtokendetails`` as active, and have been
    issued to the authenticated client (§6: "the refresh token was issued to the authenticated client").
    """

    GRANT_TYPE = "refresh_token"

    def create_token_response(self, request: Request, client: OAuthClient, now: float) -> Reply:
        token = form_param(request, "refresh_token")
        assert token is not None
        try:
            claims = read_refresh_token(token, self.context.ring, now)
        except TokenError as exc:
            description = "refresh token expired" if exc.reason == "Token expired" else "invalid refresh token"
            raise InvalidGrant(description, f"refresh token refused: {exc.reason}") from None
        tid = str(claims.get("tid", ""))
        row = self.context.refresh_tokens.get(tid)
        if row is None or row.index != token_digest(token):
            raise InvalidGrant("invalid refresh token", f"refresh token {tid} is not in refreshtokendetails")
        if row.state != ACTIVE:
            raise InvalidGrant("refresh token revoked", f"refresh token {tid} is {row.state}")
        if claims.get("ccid") != client.client_id or row.client_id != client.client_id:
            raise InvalidGrant("refresh token was issued to another client",
                               f"refresh token {tid} was issued to client {row.client_id}, not {client.client_id}")
        user = self.allowed_user(row.userid)
        access, events = self.context.issuer.access_token(user.userid, client.client_id, now)
        body = {"expires_in": self.context.issuer.lifetimes.access, "token_type": "Bearer", "access_token": access}
        return token_reply(body, events)


GRANTS: tuple[type[TokenGrant], ...] = (AuthorizationCodeGrant, RefreshTokenGrant)
