"""Proxied internal HTTP through the edge, and Expressway-C's HTTP allow list.

Jabber reaches internal servers (UDS, TFTP, Unity) as ``/<b64("<domain>/<scheme>/<host>/<port>")>/<path>`` on the
edge (mra-facts section 2). Expressway-C authorizes the request, then lets it through only when ``host:port`` is on its
HTTP allow list, which it fills automatically with the discovered CUCM and IM&P nodes (UDS 8443, TFTP 6970) and any
manual entries. Anything else is answered ``403 Forbidden``.
"""

from __future__ import annotations

from aiohttp import web

from common.conceal import conceal_params
from common.domain import ProxyDescriptor
from common.hop import HopError
from common.logformats.expressway import TRAFFIC_SERVER
from common.trafficlog import MODULE, TXN_KEY
from core.access import SERVER, authorize, bad_gateway
from core.state import CoreState

AUTO_PORTS = (8443, 6970)
PASSED_RESPONSE_HEADERS = ("Content-Type", "Cache-Control", "Expires", "ETag", "Last-Modified")


def allow_list(state: CoreState) -> frozenset[tuple[str, int]]:
    """Automatic entries for every discovered node (unless automatic rules are off), plus the configured ones
    (``host`` or ``host:port``)."""
    entries: set[tuple[str, int]] = set()
    for cluster in state.lab.clusters if state.config.http_allow_list_auto else ():
        for host in (*(node.host for node in cluster.nodes), *cluster.imp_hosts):
            entries.update((host, port) for port in AUTO_PORTS)
        entries.update((node.host, node.port) for node in cluster.nodes)
    if state.lab.unity is not None and state.config.http_allow_list_auto:
        unity = state.lab.unity.listener
        entries.update({(unity.host, unity.port), (unity.host, 443)})
    for item in state.config.http_allow_list:
        host, _, port = item.lower().partition(":")
        if port.isdigit():
            entries.add((host, int(port)))
        else:
            entries.update((host, p) for p in AUTO_PORTS)
    return frozenset(entries)


def allowed(state: CoreState, target: ProxyDescriptor) -> bool:
    return (target.host, target.port) in allow_list(state)


def internal_origin(state: CoreState, target: ProxyDescriptor) -> str:
    """Where to connect: a known node is reached with the scheme the lab gives it, whatever the client wrote."""
    for cluster in state.lab.clusters:
        if target.host in (*(node.host for node in cluster.nodes), *cluster.imp_hosts):
            return f"{cluster.listener.scheme}://{target.host}:{target.port}"
    unity = state.lab.unity
    if unity is not None and target.host == unity.listener.host:
        return f"{unity.listener.scheme}://{target.host}:{target.port}"
    return target.origin


async def relay(request: web.Request, state: CoreState, target: ProxyDescriptor, tail: str) -> web.Response:
    txn_id = request.get(TXN_KEY, "")
    url = f"{internal_origin(state, target)}/{tail}" + (f"?{request.query_string}" if request.query_string else "")
    if not allowed(state, target):
        state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "HTTP allow list check failed", "Txn-id": txn_id,
                                                 "Url": url.split("?", 1)[0]}, module=MODULE)
        return web.Response(status=403, text="Forbidden: host not on the HTTP allow list\n", headers={"Server": SERVER})
    principal = await authorize(request, state)
    if isinstance(principal, web.Response):
        return principal
    headers = {"Authorization": principal.authorization, "Accept": request.headers.get("Accept", "*/*")}
    body = await request.read() if request.body_exists else None
    state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Sending Request", "Txn-id": txn_id,
                                             "Msg": f"{request.method} {conceal_params(url)} HTTP/1.1"}, module=MODULE)
    try:
        response = await state.upstream.hop.request(request.method, url, headers=headers, data=body)
    except HopError as exc:
        return bad_gateway(f"{target.host}: {exc.kind}")
    state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Receive Response", "Txn-id": txn_id,
                                             "Response-code": response.status}, module=MODULE)
    passed = {k: v for k, v in response.headers.items() if k in PASSED_RESPONSE_HEADERS and k != "Content-Type"}
    content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0]
    if "WWW-Authenticate" in response.headers:
        passed["WWW-Authenticate"] = response.headers["WWW-Authenticate"]
    return web.Response(status=response.status, body=response.body, content_type=content_type, headers=passed)
