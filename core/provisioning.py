"""Edge configuration provisioning on Expressway-C: ``get_edge_sso`` and ``get_edge_config``.

``get_edge_sso`` is the first request of an OAuth-capable Jabber (seed article, step 1). With "Check for internal
authentication availability" set to No, Expressway-C answers from its own settings for every user: SSO status from
"Authorize by OAuth token" (SAML IdP) and ``Token reuse`` from "Authorize by OAuth token with refresh".

``get_edge_config`` returns the internal services the client should use (``_cisco-uds``, ``_cuplogin`` …) and the
edge servers that reach them; ``userUdsServer`` is the user's home cluster, found with ``clusterUser``. A user with
no home cluster gets an empty ``userUdsServer``, which Jabber reports as "XML didn't contain UDS server address".
"""

from __future__ import annotations

import zlib

from aiohttp import web

from common.edgexml import EdgeConfig, SSOResult, Server, Service, XmlError
from common.hop import HopError
from common.udsxml import Servers
from core.access import SERVER, Principal, authorize, bad_gateway, find_home, set_xauth_cookie
from core.state import CORE_STATE, CoreState
from core.upstream import UDS_MODULE

XMPP_PORT = 5222
SIP_PORT = 5061
UDS_PORT = 8443


def edge_sso_result(state: CoreState) -> SSOResult:
    return SSOResult(sso_enabled=state.config.sso, token_reuse=state.config.oauth_local)


async def get_edge_sso(request: web.Request) -> web.Response:
    state = request.app[CORE_STATE]
    result = edge_sso_result(state)
    if state.config.internal_auth_check and result.token_reuse:
        try:
            result = await _home_sso_status(state, request.query.get("email", "").split("@", 1)[0])
        except HopError as exc:
            return bad_gateway(f"CUCM unreachable: {exc.kind}")
    return web.Response(body=result.to_xml(), content_type="application/xml", headers={"Server": SERVER})


async def _home_sso_status(state: CoreState, user: str) -> SSOResult:
    """"Check for internal authentication availability" = Yes: ask the user's home cluster what it supports.

    A user with no home cluster gets ``Token reuse="false"``, which tells an outsider that the user does not exist:
    the documented reason this setting is off by default. SSO is offered only when both C ("SSO over the edge") and
    the home cluster (its SAML SSO setting, in ``Status enabled``) have it.
    """
    home = await find_home(state, user) if user else None
    cluster = state.cluster_by_host(home.home_cluster) if home is not None else None
    if cluster is None:
        return SSOResult(sso_enabled=state.config.sso, token_reuse=False)
    response = await state.upstream.call(UDS_MODULE, "GET", f"{cluster.listener.origin}/ssosp/ws/public/singleSignOn")
    try:
        home_status = SSOResult.from_status_xml(response.body) if response.status == 200 else None
    except XmlError:
        home_status = None
    reuse = home_status is not None and home_status.token_reuse
    home_sso = home_status is not None and home_status.sso_enabled
    return SSOResult(sso_enabled=state.config.sso and home_sso, token_reuse=reuse)


def build_edge_config(
    state: CoreState, requested: list[str], home_host: str | None, uds_hosts: tuple[str, ...]
) -> EdgeConfig:
    """The pure part of ``get_edge_config``: which servers to name, given what UDS said."""
    edge_host = state.lab.edge.listener.host
    home = next((c for c in state.lab.clusters if c.listener.host == home_host), None)
    services = []
    for name in requested:
        if name == "_cisco-uds":
            servers = tuple(Server(h, UDS_PORT, 1, 1) for h in uds_hosts)
            services.append(Service(name, servers) if servers else Service(name, error="NameError"))
        elif name == "_cuplogin":
            hosts = home.imp_hosts if home else ()
            services.append(Service(name, tuple(Server(h, UDS_PORT) for h in hosts)) if hosts
                            else Service(name, error="NameError"))
        elif name in ("_cisco-phone-tftp", "tftpServer"):
            tftp = tuple(Server(h, 6970) for h in uds_hosts)
            services.append(Service(name, tftp) if tftp else Service(name, error="NameError"))
        else:
            services.append(Service(name, error="NameError"))
    route_id = zlib.crc32(f"{edge_host}/{state.config.system_name}".encode())
    return EdgeConfig(
        services=tuple(services),
        sip_edge=(Server(edge_host, SIP_PORT),),
        sip_route=f"<sip:{route_id}@{edge_host}:{SIP_PORT};transport=tls;zone-id=3;directed;lr>",
        xmpp_edge=(Server(edge_host, XMPP_PORT),),
        http_edge=(Server(edge_host, state.lab.edge.listener.port),),
        user_uds=(Server(home_host, UDS_PORT),) if home_host else (),
    )


async def get_edge_config(request: web.Request) -> web.Response:
    state = request.app[CORE_STATE]
    principal = await authorize(request, state)
    if not isinstance(principal, Principal):  # a refusal; Principal is a plain class, Response an ABC's
        return principal
    requested = request.query.getall("service_name", [])
    try:
        home_host, uds_hosts = await _home_servers(state, principal)
    except HopError as exc:
        return bad_gateway(f"UDS unreachable: {exc.kind}")
    config = build_edge_config(state, requested, home_host, uds_hosts)
    response = web.Response(body=config.to_xml(), content_type="application/xml", headers={"Server": SERVER})
    set_xauth_cookie(response, principal, state)
    return response


async def _home_servers(state: CoreState, principal: Principal) -> tuple[str | None, tuple[str, ...]]:
    home = await find_home(state, principal.user)
    if home is None:
        return None, ()
    try:
        response = await state.upstream.call(UDS_MODULE, "GET", home.servers_uri)
        hosts = Servers.from_xml(response.body).hosts if response.status == 200 else ()
    except (XmlError, HopError):
        hosts = ()
    return home.home_cluster, hosts
