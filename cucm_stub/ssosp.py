"""CUCM's OAuth authorization server (``/ssosp``), sans-IO: neutral request in, ``Reply`` out.

Endpoints, in the order an MRA login meets them (mra-facts §3):

* ``GET /ssosp/ws/public/singleSignOn`` — the SSO status probe; SAML SSO is off in the lab.
* ``POST /ssosp/token/authorize_proxy`` — step 5. Expressway-C authenticates itself with its AXL application user in
  ``Authorization`` and vouches for the end user with ``X-Credentials: Basic base64(user:password)``. ssosp answers
  with the redirect it would have sent the browser, ``{"redirect_uri": "…/ssosp/public/OAuthcb#code=…"}``: the
  authorization response of RFC 6749 §4.1.2 carried in a JSON body instead of a 302.
* ``POST /ssosp/token/access_token`` — step 7 and the refresh (RFC 6749 §4.1.3, §6), one grant class per grant type
  in :mod:`cucm_stub.grants`.
* ``GET /ssosp/token/authz_keys`` — *(modelled)* how Expressway-C ("Refresh servers") and Unity Connection fetch the
  cluster's AuthZ keys. No public capture shows the real call; mra-facts §5 says only that it is a REST/AXL request
  authenticated with the AXL user configured for that CUCM. The body is :meth:`common.tokens.AuthzKeys.export`.

Checks run in a fixed order so the same mistake always gets the same answer. ``authorize_proxy``: the application
user, the form (RFC 6749 §3.1: no repeats, empty means absent), the client, ``response_type``, the end user, MRA.
``access_token``: the form and ``grant_type`` (Authlib's order), client authentication, then the grant's own checks.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from urllib.parse import urlencode

from lxml import etree

from common.basic import parse_basic
from common.config import ClusterConfig, OAuthClient
from common.tokens import AuthzKeys, KeyRing
from cucm_stub.directory import Directory, EndUser
from cucm_stub.errors import (
    NO_STORE,
    AccessDenied,
    InvalidClient,
    InvalidRequest,
    Refusal,
    Unauthorized,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
)
from cucm_stub.grants import GRANTS, GrantContext, Lifetimes, TokenGrant, TokenIssuer, form_param
from cucm_stub.stores import CodeStore, MemoryRefreshTokenStore, RefreshTokenStore
from cucm_stub.wire import FORM, Clock, LogEvent, Reply, Request

AUTHORIZE_PROXY = "token.AuthorizeProxyServlet"
ACCESS_TOKEN = "token.AccessTokenServlet"
AUTHZ_KEYS = "token.AuthzKeysServlet"
CALLBACK_PATH = "/ssosp/public/OAuthcb"


class SsospServer:
    """The authorization server of one cluster; its stores live as long as the node."""

    def __init__(
        self,
        cluster: ClusterConfig,
        clients: Iterable[OAuthClient],
        directory: Directory,
        keys: AuthzKeys,
        clock: Clock,
        *,
        lifetimes: Lifetimes = Lifetimes(),
        refresh_tokens: RefreshTokenStore | None = None,
        grants: Iterable[type[TokenGrant]] = GRANTS,
    ) -> None:
        self.cluster = cluster
        self.clients = {client.client_id: client for client in clients}
        self.directory = directory
        self.keys = keys
        self.clock = clock
        self.lifetimes = lifetimes
        self.codes = CodeStore(lifetimes.code)
        self.refresh_tokens: RefreshTokenStore = MemoryRefreshTokenStore() if refresh_tokens is None else refresh_tokens
        context = GrantContext(directory, self.codes, self.refresh_tokens, TokenIssuer(keys, lifetimes),
                               KeyRing((keys,)))
        self.grants = {grant.GRANT_TYPE: grant(context) for grant in grants}

    def single_sign_on(self, request: Request) -> Reply:
        """The status Jabber and Expressway read before choosing a login flow; SAML SSO is off in the lab."""
        root = etree.Element("Response")
        sso = etree.SubElement(root, "SingleSignOn")
        etree.SubElement(sso, "Status", enabled="false")
        etree.SubElement(sso, "Token", reuse="true")
        return Reply(200, {"Content-Type": "application/xml"}, etree.tostring(root))

    def authorize_proxy(self, request: Request) -> Reply:
        try:
            return self._authorize_proxy(request, self.clock.timestamp())
        except Refusal as refusal:
            return Reply.refused(refusal, AUTHORIZE_PROXY)

    def access_token(self, request: Request) -> Reply:
        try:
            return self._access_token(request, self.clock.timestamp())
        except Refusal as refusal:
            return Reply.refused(refusal, ACCESS_TOKEN)

    def authz_keys(self, request: Request) -> Reply:
        """The cluster's AuthZ keys for a resource server holding the AXL application user's credentials."""
        credentials = parse_basic(request.header("authorization"))
        if credentials is None or not self.directory.check_app_user(*credentials):
            who = f"application user {credentials[0]}" if credentials else "a request without valid Basic credentials"
            return Reply.refused(Unauthorized("Unauthorized", f"AuthZ keys refused to {who}"), AUTHZ_KEYS)
        body = json.dumps(self.keys.export(), separators=(",", ":")).encode()
        event = LogEvent("INFO", AUTHZ_KEYS, f"AuthZ keys exported to application user {credentials[0]}")
        return Reply(200, {"Content-Type": "application/json", **NO_STORE}, body, (event,))

    def authenticate_client(self, request: Request) -> OAuthClient:
        """RFC 6749 §2.3.1: Basic ``client_id:client_secret`` (form-urlencoded first), or ``client_secret`` in the
        form; both at once is ``invalid_request`` (§5.2: "more than one mechanism for authenticating the client")."""
        header = request.header("authorization")
        form_secret = form_param(request, "client_secret", required=False)
        form_client_id = form_param(request, "client_id", required=False)
        if header is not None and form_secret is not None:
            raise InvalidRequest("more than one client authentication method")
        if header is not None:
            credentials = parse_basic(header, form_encoded=True)
            if credentials is None:
                raise InvalidClient("Client authentication failed", "malformed Basic credentials in Authorization")
            client_id, secret = credentials
        elif form_secret is not None:
            client_id = form_param(request, "client_id") or ""
            secret = form_secret
        else:
            raise InvalidClient("Client authentication failed", "no client authentication")
        client = self.clients.get(client_id)
        if client is None:
            raise InvalidClient("Client authentication failed", f"unknown client {client_id}")
        if not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
            raise InvalidClient("Client authentication failed", f"wrong secret for client {client_id}")
        if form_client_id is not None and form_client_id != client.client_id:
            raise InvalidRequest("client_id does not match the authenticated client")
        return client

    def _authorize_proxy(self, request: Request, now: float) -> Reply:
        caller = parse_basic(request.header("authorization"))
        if caller is None:
            raise UnauthorizedClient("Application user authentication required",
                                     "no valid Basic credentials in Authorization")
        if not self.directory.check_app_user(*caller):
            raise UnauthorizedClient("Invalid application user credentials",
                                     f"application user {caller[0]} not accepted")
        _require_form(request)
        client_id, response_type, realm = (form_param(request, name) or "" for name in
                                           ("client_id", "response_type", "realm"))
        state = form_param(request, "state", required=False)
        client = self.clients.get(client_id)
        if client is None:
            raise InvalidClient("Unknown client_id", f"unknown client {client_id}", status=400)
        if response_type != "code":
            raise UnsupportedResponseType("response_type must be code", f"response_type {response_type} requested")
        user = self._end_user(request)
        code = self.codes.issue(user.userid, client.client_id, realm, now)
        fragment = [("code", code.value), ("expires_in", str(self.lifetimes.code)), ("realm", realm)]
        if state is not None:
            fragment.append(("state", state))
        redirect = f"{self.cluster.listener.origin}{CALLBACK_PATH}#{urlencode(fragment)}"
        body = json.dumps({"redirect_uri": redirect}, separators=(",", ":")).encode()
        event = LogEvent("INFO", AUTHORIZE_PROXY,
                         f"Authorization code issued to user {user.userid} for client {client.client_id} realm {realm}")
        return Reply(200, {"Content-Type": "application/json", **NO_STORE}, body, (event,))

    def _end_user(self, request: Request) -> EndUser:
        """The user in ``X-Credentials``; wrong password, unknown or homed elsewhere all read the same on the wire."""
        credentials = parse_basic(request.header("x-credentials"))
        if credentials is None:
            raise AccessDenied.invalid_credentials("no valid Basic credentials in X-Credentials")
        userid, password = credentials
        user = self.directory.check_end_user(userid, password)
        if user is None:
            known = self.directory.find(userid)
            if known is None:
                reason = f"user {userid} not found"
            elif not known.home_local:
                reason = f"user {userid} is homed on {known.home_host}"
            else:
                reason = f"wrong password for user {userid}"
            raise AccessDenied.invalid_credentials(reason)
        if not user.mra_enabled:
            raise AccessDenied.mra_not_enabled(userid)
        return user

    def _access_token(self, request: Request, now: float) -> Reply:
        _require_form(request)
        grant_type = form_param(request, "grant_type") or ""
        grant = self.grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")
        client = self.authenticate_client(request)
        return grant.create_token_response(request, client, now)


def _require_form(request: Request) -> None:
    """RFC 6749 §4.1.3 and §6: the parameters travel as ``application/x-www-form-urlencoded``."""
    if request.content_type != FORM:
        raise InvalidRequest(f"Content-Type must be {FORM}",
                             f"Content-Type {request.content_type or 'missing'} instead of {FORM}")
