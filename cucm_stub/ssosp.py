"""CUCM's OAuth authorization server (``/ssosp``), sans-IO: neutral request in, ``Reply`` out.

Endpoints, in the order an MRA login meets them (mra-facts §3):

* ``GET /ssosp/ws/public/singleSignOn`` — the SSO status probe: ``Status enabled`` is the cluster's SAML SSO setting.
* ``POST /ssosp/token/authorize_proxy`` — step 5. Expressway-C authenticates itself with its AXL application user in
  ``Authorization`` and vouches for the end user with ``X-Credentials: Basic base64(user:password)``. ssosp answers
  with the redirect it would have sent the browser, ``{"redirect_uri": "…/ssosp/public/OAuthcb#code=…"}``: the
  authorization response of RFC 6749 §4.1.2 carried in a JSON body instead of a 302. After a SAML SSO login over the
  edge, Expressway-C has already checked the IdP's assertion and names the user in ``X-Saml-User`` instead
  *(modelled, docs/sso.md)*; CUCM accepts that only with SAML SSO enabled on the cluster, and then refuses end-user
  passwords in ``X-Credentials``: its users sign in at the IdP.
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

import dataclasses
import hmac
import json
from collections.abc import Iterable
from urllib.parse import urlencode


from common.basic import parse_basic
from common.config import ClusterConfig, EnterpriseParameters, OAuthClient
from common.cucmversion import supports_code_grant, supports_oauth
from common.edgexml import SSOResult
from common.tokens import AuthzKeys
from common.directory import Directory, EndUser
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
from cucm_stub.grants import TOKEN_MANAGER, GRANTS, GrantContext, Lifetimes, TokenGrant, TokenIssuer, form_param
from cucm_stub.platform import ClusterKeys
from cucm_stub.stores import CodeStore, MemoryRefreshTokenStore, RefreshTokenStore
from cucm_stub.wire import FORM, Clock, LogEvent, ParameterError, Reply, Request, optional_param, required_param

AUTHORIZE_PROXY = "token.AuthorizeProxyServlet"
ACCESS_TOKEN = "token.AccessTokenServlet"
AUTHZ_KEYS = "token.AuthzKeysServlet"
REVOKE = "token.RevokeTokenServlet"
CALLBACK_PATH = "/ssosp/public/OAuthcb"
SAML_SSO = "saml.SPACSUtils"
SAML_USER_HEADER = "x-saml-user"


class SsospServer:
    """The authorization server of one cluster; its stores live as long as the node."""

    def __init__(
        self,
        cluster: ClusterConfig,
        clients: Iterable[OAuthClient],
        directory: Directory,
        keys: AuthzKeys | ClusterKeys,
        clock: Clock,
        *,
        lifetimes: Lifetimes | None = None,
        refresh_tokens: RefreshTokenStore | None = None,
        grants: Iterable[type[TokenGrant]] = GRANTS,
        origin: str | None = None,
    ) -> None:
        self.cluster = cluster
        self.origin = origin or cluster.listener.origin
        self.clients = {client.client_id: client for client in clients}
        self.directory = directory
        self.holder = keys if isinstance(keys, ClusterKeys) else ClusterKeys(keys)
        self.clock = clock
        enterprise = cluster.enterprise
        self.lifetimes = lifetimes = lifetimes or Lifetimes(enterprise.access_lifetime, enterprise.refresh_lifetime)
        self.codes = CodeStore(lifetimes.code)
        self.refresh_tokens: RefreshTokenStore = MemoryRefreshTokenStore() if refresh_tokens is None else refresh_tokens
        self.issuer = TokenIssuer(self.holder, lifetimes)
        context = GrantContext(directory, self.codes, self.refresh_tokens, self.issuer, self.holder)
        self.grants = {grant.GRANT_TYPE: grant(context) for grant in grants}

    @property
    def keys(self) -> AuthzKeys:
        return self.holder.current

    def set_enterprise(self, params: EnterpriseParameters) -> None:
        """Apply changed enterprise parameters, as CUCM does without a restart for the OAuth timers and flow."""
        self.cluster = dataclasses.replace(self.cluster, enterprise=params)
        self.lifetimes = Lifetimes(params.access_lifetime, params.refresh_lifetime, self.lifetimes.code)
        self.issuer.lifetimes = self.lifetimes

    def single_sign_on(self, request: Request) -> Reply:
        """The status Jabber and Expressway read before choosing a login flow: the cluster's SAML SSO setting.

        ``Token reuse`` says whether this cluster issues refreshable OAuth tokens: a release with the authorization
        code grant and "OAuth with Refresh Login Flow" Enabled.
        """
        reuse = supports_code_grant(self.cluster.version) and self.cluster.enterprise.refresh_login_flow
        return Reply(200, {"Content-Type": "application/xml"}, SSOResult(self.cluster.sso, reuse).to_status_xml())

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
        self._check_flow(response_type)
        saml_user = request.header(SAML_USER_HEADER)
        user = self._end_user(request) if saml_user is None else self._saml_user(saml_user, caller[0])
        if response_type == "token":
            return self._implicit(user, client, realm, state, now)
        code = self.codes.issue(user.userid, client.client_id, realm, now)
        fragment = [("code", code.value), ("expires_in", str(self.lifetimes.code)), ("realm", realm)]
        if state is not None:
            fragment.append(("state", state))
        redirect = f"{self.origin}{CALLBACK_PATH}#{urlencode(fragment)}"
        body = json.dumps({"redirect_uri": redirect}, separators=(",", ":")).encode()
        events = [LogEvent("INFO", AUTHORIZE_PROXY, f"Authorization code issued to user {user.userid} for client "
                                                     f"{client.client_id} realm {realm}")]
        if saml_user is not None:
            events.insert(0, LogEvent("INFO", SAML_SSO, f"samlSingleSignOn: SAML SSO authorization for user "
                                                         f"{user.userid}, asserted by application user {caller[0]}"))
        return Reply(200, {"Content-Type": "application/json", **NO_STORE}, body, tuple(events))

    def _check_flow(self, response_type: str) -> None:
        """Which grant this CUCM offers: its release, then "OAuth with Refresh Login Flow" (mra-facts section 6)."""
        version = self.cluster.version
        if response_type == "code":
            if not supports_code_grant(version):
                raise UnsupportedResponseType(f"authorization code grant not supported by CUCM {version}",
                                              f"CUCM {version} offers only the implicit grant")
            if not self.cluster.enterprise.refresh_login_flow:
                raise UnsupportedResponseType("authorization code grant not enabled: OAuth with Refresh Login Flow "
                                              "is Disabled",
                                              "enterprise parameter OAuth with Refresh Login Flow is Disabled")
        elif response_type == "token":
            if not supports_oauth(version):
                raise UnsupportedResponseType("OAuth not supported", f"CUCM {version} predates OAuth (10.5)")
        else:
            raise UnsupportedResponseType("response_type must be code or token",
                                          f"response_type {response_type} requested")

    def _implicit(self, user: EndUser, client: OAuthClient, realm: str, state: str | None, now: float) -> Reply:
        """RFC 6749 §4.2.2: the access token itself in the redirect fragment, no refresh token."""
        token, events = self.issuer.access_token(user.userid, client.client_id, now)
        fragment = [("access_token", token), ("token_type", "Bearer"), ("expires_in", str(self.lifetimes.access))]
        if state is not None:
            fragment.append(("state", state))
        redirect = f"{self.origin}{CALLBACK_PATH}#{urlencode(fragment)}"
        body = json.dumps({"redirect_uri": redirect}, separators=(",", ":")).encode()
        events.append(LogEvent("INFO", AUTHORIZE_PROXY,
                                f"Implicit grant: access token issued to user {user.userid} for client {client.client_id}"))
        return Reply(200, {"Content-Type": "application/json", **NO_STORE}, body, tuple(events))

    def revoke(self, request: Request) -> Reply:
        """``/ssosp/token/revoke?user_id=<u>[&client_id=<c>]`` with admin credentials (mra-facts section 4).

        Refresh tokens are marked revoked; access tokens already issued stay valid until they expire, as on CUCM.
        """
        try:
            caller = parse_basic(request.header("authorization"))
            if caller is None or not self.directory.check_app_user(*caller):
                raise Unauthorized("Unauthorized", "token revocation needs the administrator's credentials")
            params = request.query + request.form
            try:
                userid = required_param(params, "user_id")
                client_id = optional_param(params, "client_id")
            except ParameterError as exc:
                raise InvalidRequest(str(exc)) from None
        except Refusal as refusal:
            return Reply.refused(refusal, REVOKE)
        count = self.refresh_tokens.revoke(userid, client_id)
        scope = f" for client {client_id}" if client_id else ""
        event = LogEvent("INFO", TOKEN_MANAGER, f"TokenV2Manager.revokeTokens: revoked {count} refresh token(s) of "
                                                f"user {userid}{scope}")
        body = json.dumps({"user_id": userid, "client_id": client_id, "revoked": count}).encode()
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
        if self.cluster.sso:
            raise AccessDenied.invalid_credentials(f"password login refused for user {userid}: SAML SSO is enabled "
                                                   "on this cluster, end users sign in at the IdP")
        return user

    def _saml_user(self, userid: str, caller: str) -> EndUser:
        """The user Expressway-C vouches for after checking the IdP's assertion (modelled, docs/sso.md)."""
        if not self.cluster.sso:
            raise AccessDenied("SAML SSO is not enabled", f"SPACSUtils: SSO identity for {userid} from {caller} "
                                                          "refused: SAML SSO is not enabled on this cluster")
        user = self.directory.local_user(userid)
        if user is None:
            known = self.directory.find(userid)
            where = f"is homed on {known.home_host}" if known is not None else "not found in the database"
            raise AccessDenied("Invalid user credentials", f"SPACSUtils: SAML user {userid} {where}")
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
