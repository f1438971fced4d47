"""MRA access control on Expressway-C: who is this request from, and may it pass?

Expressway-C authorizes every request the edge relays (Cisco *Mobile and Remote Access Through Cisco Expressway
Deployment Guide*, "MRA Access Control"). A request may carry

* ``Authorization: Bearer <access token>`` — accepted when "Authorize by OAuth token with refresh" (``OAuthLocal``) is
  On and the OAuthvalidator accepts the token;
* ``Authorization: Basic`` — the credential ("legacy") path, when "Authorize by user credentials" (``LegacyCred``) is On:
  C checks the credentials against the user's home cluster UDS (``/cucm-uds/user/<u>/devices``) and issues an
  ``X-Auth`` cookie;
* ``Cookie: X-Auth=<uuid>`` — a session from an earlier credential login.

Anything else is answered ``401`` with ``WWW-Authenticate: Basic realm="Cisco-Edge"`` and ``Server: CE_C ECS``.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from email.utils import format_datetime
from urllib.parse import quote

from aiohttp import web

from common.basic import parse_basic
from common.config import ClusterConfig
from common.hop import HopError, HopResponse
from common.logformats.expressway import EDGECONFIG_EVENT
from common.udsxml import ClusterUser
from common.edgexml import XmlError
from core.state import CoreState, XAuthSession
from core.upstream import SSO_MODULE, UDS_MODULE

SERVER = "CE_C ECS"
REALM = 'Basic realm="Cisco-Edge"'
XAUTH_LIFETIME = 3600 * 8


@dataclass(frozen=True)
class Principal:
    user: str
    authorization: str
    method: str
    cookie: str | None = None


def unauthorized(reason: str) -> web.Response:
    return web.Response(status=401, text=f"Unauthorized: {reason}\n",
                        headers={"WWW-Authenticate": REALM, "Server": SERVER})


def bad_gateway(reason: str) -> web.Response:
    return web.Response(status=502, reason="Next Hop Connection Failed", text=f"{reason}\n",
                        headers={"Server": SERVER})


async def find_home(state: CoreState, user: str) -> ClusterUser | None:
    """Ask one CUCM cluster which cluster is ``user``'s home (``/cucm-uds/clusterUser``).

    Expressway-C sends each lookup to one of the clusters it discovered, in turn, and relies on ILS to let any cluster
    answer for every user; a cluster is skipped only when none of its nodes answers. Without ILS between the clusters
    the answer depends on which cluster was asked: the field's intermittent 401s.
    """
    clusters = state.lab.clusters
    start = state.next_lookup()
    unreachable: HopError | None = None
    for cluster in clusters[start:] + clusters[:start]:
        try:
            response = await _cluster_user(state, cluster, user)
        except HopError as exc:
            unreachable = exc
            continue
        if response.status != 200:
            return None
        try:
            result = ClusterUser.from_xml(response.body)
        except XmlError:
            return None
        return result if result.found else None
    if unreachable is not None:
        raise unreachable
    return None


async def _cluster_user(state: CoreState, cluster: ClusterConfig, user: str) -> HopResponse:
    """``clusterUser`` from the first node of ``cluster`` that answers; :class:`HopError` when none does."""
    error: HopError | None = None
    for node in cluster.nodes:
        try:
            return await state.upstream.call(UDS_MODULE, "GET",
                                             f"{node.origin}/cucm-uds/clusterUser?username={quote(user)}")
        except HopError as exc:
            error = exc
    assert error is not None
    raise error


async def authorize(request: web.Request, state: CoreState) -> Principal | web.Response:
    header = request.headers.get("Authorization", "")
    scheme = header.partition(" ")[0].lower()
    if scheme == "bearer":
        return await _bearer(header, state)
    if scheme == "basic":
        return await _basic(request, header, state)
    cookie = request.cookies.get("X-Auth")
    if cookie:
        session = state.sessions.get(cookie)
        if session is None or session.expires <= state.clock.timestamp():
            state.sessions.pop(cookie, None)
            return unauthorized("X-Auth cookie unknown or expired")
        return Principal(session.user, session.authorization, "cookie")
    return unauthorized("no credentials")


async def _bearer(header: str, state: CoreState) -> Principal | web.Response:
    if not state.config.oauth_local:
        _event(state, "Edge Authentication", "Authorization by OAuth token is disabled", "")
        return unauthorized("OAuth token authorization is off")
    token = header.partition(" ")[2].strip()
    try:
        response = await state.upstream.call(SSO_MODULE, "POST", state.validator_url,
                                             json_text=json.dumps({"token": token}))
    except HopError as exc:
        return bad_gateway(f"OAuthvalidator unreachable: {exc.kind}")
    if response.status != 200:
        return unauthorized("access token refused")
    return Principal(str(response.json().get("user", "")), header, "oauth")


async def _basic(request: web.Request, header: str, state: CoreState) -> Principal | web.Response:
    credentials = parse_basic(header)
    if credentials is None:
        return unauthorized("malformed Basic credentials")
    user = credentials[0]
    if not state.config.legacy_cred:
        _event(state, "Edge Authentication", "Authorization by user credentials is disabled", user)
        return unauthorized("credential authorization is off")
    try:
        home = await find_home(state, user)
        clusters = [state.cluster_by_host(home.home_cluster)] if home is not None else list(state.lab.clusters)
        status = 0
        for cluster in filter(None, clusters):
            url = f"{cluster.listener.origin}/cucm-uds/user/{quote(user)}/devices"
            response = await state.upstream.call(UDS_MODULE, "GET", url, headers={"Authorization": header})
            status = response.status
            if status == 200:
                break
    except HopError as exc:
        return bad_gateway(f"UDS unreachable: {exc.kind}")
    if status != 200:
        reason = f"UDS answered {status}" if home is not None else "User not found"
        _event(state, "Edge Authentication", "Authentication failed", user, Reason=reason)
        return unauthorized("credentials refused by UDS")
    _event(state, "Edge Authentication", "Authentication succeeded", user,
           **({} if home is not None else {"Reason": "No home cluster"}))
    cookie = str(uuid.uuid4())
    state.sessions[cookie] = XAuthSession(user, header, state.clock.timestamp() + XAUTH_LIFETIME)
    return Principal(user, header, "credentials", cookie)


def set_xauth_cookie(response: web.StreamResponse, principal: Principal, state: CoreState) -> None:
    """``Set-Cookie: X-Auth=<uuid>; Expires=…; Domain=.<domain>; Path=/; Secure`` (mra-facts section 4)."""
    if principal.cookie is None:
        return
    expires = dt.datetime.fromtimestamp(state.clock.timestamp() + XAUTH_LIFETIME, dt.timezone.utc)
    response.headers.add(
        "Set-Cookie",
        f"X-Auth={principal.cookie}; Expires={format_datetime(expires, usegmt=True)}; Domain=.{state.lab.domain}; "
        "Path=/; Secure",
    )


def _event(state: CoreState, event: str, detail: str, user: str, **extra: str) -> None:
    state.log.write(EDGECONFIG_EVENT, "INFO",
                    {"Event": event, "Service": "UDS", "Detail": detail, "Username": user, **extra})
