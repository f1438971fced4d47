"""The OAuth legs Expressway-C carries for the edge: ``localauthentication`` and the token request.

``POST localauthentication`` (seed, steps 3–5): C finds the user's home cluster with ``clusterUser``, then asks that
CUCM for an authorization code with ``POST /ssosp/token/authorize_proxy`` — the user's credentials in
``X-Credentials``, C's own AXL credentials in ``Authorization`` — and answers the edge with
``302 Location: /OAuthcb#code=…``, logging "Successful authorization" and "Redirected client".

The token request (seed, steps 7–8): C relays the client's code to the cluster that issued it
(``/ssosp/token/access_token``) and checks the new access token with its own OAuthvalidator before handing the tokens
back. The client-facing path, ``POST /<b64 domain>/access_token``, is modelled: the seed shows only C's leg.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import urlsplit

import jwt
from aiohttp import web

from common.basic import basic_header
from common.conceal import hide_location
from common.config import Listener
from common.hop import HopError, HopResponse
from common.logformats.expressway import EDGECONFIG_EVENT
from common.oauthparams import AuthorizeRequest, ParamError, parse_form, single_values
from common.tokens import token_digest
from common.trafficlog import peer
from core.access import SERVER, bad_gateway, find_home
from core.state import CORE_STATE, CoreState
from core.upstream import SSO_MODULE

FORM_SECRETS = ("username", "password")


def failure_page(status: int, reason: str) -> web.Response:
    body = f"<html><head><title>Authentication failed</title></head><body><p>{escape(reason)}</p></body></html>"
    return web.Response(status=status, text=body, content_type="text/html", headers={"Server": SERVER})


async def localauthentication(request: web.Request) -> web.Response:
    state = request.app[CORE_STATE]
    pairs = parse_form(await request.read())
    try:
        values = single_values(pairs, required=FORM_SECRETS)
        oauth = AuthorizeRequest.from_pairs([(k, v) for k, v in pairs if k not in FORM_SECRETS])
    except ParamError as exc:
        return web.json_response({"error": exc.error, "error_description": exc.description}, status=exc.status,
                                 headers={"Server": SERVER})
    user, password = values["username"], values["password"]
    if not state.config.oauth_local:
        sso_event(request, state, "Edge OAuth/SSO", "Failed authorization", user, Reason="OAuth with refresh is off")
        return failure_page(403, "Authorization by OAuth token with refresh is not enabled on Expressway-C")
    return await issue_code(request, state, user, oauth, {"X-Credentials": basic_header(user, password)})


async def issue_code(request: web.Request, state: CoreState, user: str, oauth: AuthorizeRequest,
                     identity: dict[str, str]) -> web.Response:
    """Ask the user's home cluster for an authorization code and redirect the browser to ``/OAuthcb#code=…``.

    ``identity`` is how C vouches for the user: ``X-Credentials`` (the password typed into E's form) or, after a
    SAML SSO login, ``X-Saml-User`` (modelled, docs/sso.md).
    """
    try:
        home = await find_home(state, user)
        cluster = state.cluster_by_host(home.home_cluster) if home else None
        if cluster is None:
            sso_event(request, state, "Edge OAuth/SSO", "Failed authorization", user, Reason="User not found")
            return failure_page(401, "Authentication failed")
        form = [("client_id", oauth.client_id), ("response_type", oauth.response_type), ("realm", oauth.realm),
                ("state", oauth.state)]
        headers = {**identity, "Authorization": basic_header(state.config.axl_user, state.config.axl_password)}
        node, response = await _first_answer(state, state.nodes_for(cluster, user), "/ssosp/token/authorize_proxy",
                                             headers, form)
    except HopError as exc:
        return bad_gateway(f"CUCM unreachable: {exc.kind}")
    redirect = _redirect_fragment(response) if response.status == 200 else None
    if redirect is None:
        reason = _oauth_error(response)
        sso_event(request, state, "Edge OAuth/SSO", "Failed authorization", user, Server=node.host, Reason=reason)
        return failure_page(401 if response.status in (401, 403) else 400, f"Authentication failed: {reason}")
    code = dict(p.split("=", 1) for p in redirect.split("&") if "=" in p).get("code", "")
    state.codes[token_digest(code)] = node.origin
    location = f"/OAuthcb#{redirect}"
    sso_event(request, state, "Edge OAuth/SSO", "Successful authorization", user, Server=node.host)
    sso_event(request, state, "Edge SSO", "Redirected client", user, Redirect=hide_location(location))
    return web.Response(status=302, headers={"Location": location})


RELAYED_ON_REFUSAL = ("www-authenticate", "cache-control", "pragma")


async def access_token(request: web.Request) -> web.Response:
    state = request.app[CORE_STATE]
    raw = await request.read()
    pairs = parse_form(raw)
    try:
        values = single_values(pairs, required=("grant_type",))
    except ParamError as exc:
        return web.json_response({"error": exc.error, "error_description": exc.description}, status=400)
    if not state.config.oauth_local:
        return web.json_response({"error": "unauthorized_client",
                                  "error_description": "OAuth with refresh is not enabled on Expressway-C"}, status=403)
    origin = _issuing_node(state, values)
    headers = {"Authorization": request.headers["Authorization"]} if "Authorization" in request.headers else {}
    try:
        response = await state.upstream.call(SSO_MODULE, "POST", f"{origin}/ssosp/token/access_token",
                                             headers=headers, form=pairs)
    except HopError as exc:
        return bad_gateway(f"CUCM node {origin} unreachable: {exc.kind}")
    if response.status != 200:
        # CUCM's refusal goes back as it came, its challenge included: a 401 invalid_client must carry
        # WWW-Authenticate (RFC 6749 §5.2) and an error is as uncacheable as the tokens (§5.1).
        relayed = {k: v for k, v in response.headers.items() if k.lower() in RELAYED_ON_REFUSAL}
        return web.Response(status=response.status, body=response.body, headers=relayed,
                            content_type=response.headers.get("Content-Type", "application/json").split(";")[0])
    tokens = response.json()
    if tokens.get("refresh_token"):
        state.refresh_nodes[token_digest(tokens["refresh_token"])] = origin
    try:
        check = await state.upstream.call(SSO_MODULE, "POST", state.validator_url,
                                          json_text=json.dumps({"token": tokens.get("access_token", "")}))
    except HopError as exc:
        return bad_gateway(f"OAuthvalidator unreachable: {exc.kind}")
    if check.status != 200:
        reason = check.json().get("reason", "rejected") if check.body else "rejected"
        return web.json_response({"error": "invalid_token", "error_description": f"Expressway-C: {reason}"},
                                 status=401)
    return web.Response(body=response.body, content_type="application/json",
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _issuing_node(state: CoreState, values: dict[str, str]) -> str:
    """The node that issued the code or refresh token: the code goes back to the node that made it, and a refresh to
    the node that issued the refresh token, as on the real system; failing that, the issuing cluster's publisher."""
    if "code" in values:
        origin = state.codes.pop(token_digest(values["code"]), None)
        if origin is not None:
            return origin
    if "refresh_token" in values:
        origin = state.refresh_nodes.get(token_digest(values["refresh_token"]))
        if origin is not None:
            return origin
        try:
            issuer = jwt.decode(values["refresh_token"], options={"verify_signature": False}).get("iss", "")
        except jwt.PyJWTError:
            issuer = ""
        found = state.cluster_by_uuid(str(issuer))
        if found is not None:
            return found.listener.origin
    return state.lab.clusters[0].listener.origin


async def _first_answer(state: CoreState, nodes: list[Listener], path: str, headers: dict[str, str],
                        form: list[tuple[str, str]]) -> tuple[Listener, HopResponse]:
    """Send to the first node that answers; :class:`HopError` when none does."""
    error: HopError | None = None
    for node in nodes:
        try:
            return node, await state.upstream.call(SSO_MODULE, "POST", f"{node.origin}{path}", headers=headers,
                                                   form=form)
        except HopError as exc:
            error = exc
    assert error is not None
    raise error


def _redirect_fragment(response: HopResponse) -> str | None:
    try:
        redirect_uri = response.json()["redirect_uri"]
    except (ValueError, KeyError, TypeError):
        return None
    fragment = urlsplit(str(redirect_uri)).fragment
    return fragment if fragment.startswith("code=") else None


def _oauth_error(response: HopResponse) -> str:
    try:
        body = response.json()
        return f"{body.get('error', response.status)}: {body.get('error_description', '')}".rstrip(": ")
    except (ValueError, AttributeError):
        return f"CUCM answered {response.status}"


def sso_event(request: web.Request, state: CoreState, event: str, detail: str, user: str, **extra: str) -> None:
    dst_ip, dst_port = peer(request)
    local = request.transport.get_extra_info("sockname") if request.transport else None
    fields = {"Event": event, "Service": "OAuth/SSO", "Detail": detail, "Dst-ip": dst_ip, "Dst-port": dst_port,
              "Local-ip": local[0] if local else "", "Local-port": local[1] if local else ""}
    fields.update(extra)
    fields["Username"] = user
    state.log.write(EDGECONFIG_EVENT, "INFO", fields)
