"""Proxied internal HTTP through the edge, and Expressway-C's HTTP allow list.

Jabber reaches internal servers (UDS, TFTP, Unity) as ``/<b64("<domain>/<scheme>/<host>/<port>")>/<path>`` on the
edge (mra-facts section 2). Expressway-C lets it through only when a rule of its HTTP allow list matches host, port,
path and method (:mod:`core.allowlist`: automatic rules for the discovered CUCM, IM&P and Unity servers cover only
the paths MRA clients use; manual rules add more), then authorizes the user. Anything else is answered
``403 Forbidden``.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from common.conceal import conceal_params
from common.domain import ProxyDescriptor
from common.hop import HopError
from common.logformats.expressway import TRAFFIC_SERVER
from common.trafficlog import MODULE, TXN_KEY, tls_dial_failed
from core.access import SERVER, Principal, authorize, bad_gateway
from core.allowlist import Rule, Verdict, check, normal_path, rules_for
from core.state import CoreState

PASSED_RESPONSE_HEADERS = ("Content-Type", "Cache-Control", "Expires", "ETag", "Last-Modified")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def allow_list(state: CoreState) -> tuple[Rule, ...]:
    """The rules in force: automatic ones for the discovered servers (unless turned off), then the manual ones."""
    return rules_for(state.lab, state.config)


def allowed(state: CoreState, target: ProxyDescriptor, path: str = "/", method: str = "GET") -> bool:
    return check(allow_list(state), target.host, target.port, path, method).allowed


def internal_origin(state: CoreState, target: ProxyDescriptor) -> str:
    """Where to connect: a known node's web port is reached with the scheme the lab gives it, whatever the client
    wrote; any other port (CUCM's TFTP HTTP port 6970, plain HTTP on the real product) as the descriptor says."""
    for cluster in state.lab.clusters:
        if target.host in (*(node.host for node in cluster.nodes), *cluster.imp_hosts) and \
                target.port == cluster.listener.port:
            return f"{cluster.listener.scheme}://{target.host}:{target.port}"
    unity = state.lab.unity
    if unity is not None and target.host == unity.listener.host and target.port == unity.listener.port:
        return f"{unity.listener.scheme}://{target.host}:{target.port}"
    return target.origin


async def relay(request: web.Request, state: CoreState, target: ProxyDescriptor, tail: str) -> web.Response:
    """Check the allow list on the path as the internal server will read it, then authorize and forward.

    The path goes out re-encoded from its decoded form, so what was checked is what is asked for; the query string
    goes as it came (already checked as UTF-8 by the traffic_server middleware).
    """
    txn_id = request.get(TXN_KEY, "")
    path = f"/{tail}"
    raw_path = request.raw_path.partition("?")[0]
    raw_query = request.raw_path.partition("?")[2]
    url = f"{internal_origin(state, target)}{quote(path, safe=_PATH_SAFE)}" + (f"?{raw_query}" if raw_query else "")
    if not normal_path(raw_path, path):
        verdict = Verdict(False, "path not in normal form")
    else:
        verdict = check(allow_list(state), target.host, target.port, path, request.method)
    if not verdict.allowed:
        state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "HTTP allow list check failed", "Txn-id": txn_id,
                                                 "Url": conceal_params(url.split("?", 1)[0]),
                                                 "Method": request.method, "Reason": verdict.reason}, module=MODULE)
        return web.Response(status=403, text=f"Forbidden: {verdict.reason}\n", headers={"Server": SERVER})
    principal = await authorize(request, state)
    if not isinstance(principal, Principal):  # a refusal; Principal is a plain class, Response an ABC's
        return principal
    headers = {"Authorization": principal.authorization, "Accept": request.headers.get("Accept", "*/*")}
    body = await request.read() if request.body_exists else None
    state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Sending Request", "Txn-id": txn_id,
                                             "Msg": f"{request.method} {conceal_params(url)} HTTP/1.1"}, module=MODULE)
    try:
        response = await state.upstream.hop.request(request.method, url, headers=headers, data=body)
    except HopError as exc:
        if exc.kind == "tls":
            tls_dial_failed(state.log, url, state.upstream.address(url), exc.detail, exc.verify)
        return bad_gateway(f"{target.host}: {exc.kind}")
    state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Receive Response", "Txn-id": txn_id,
                                             "Response-code": response.status}, module=MODULE)
    passed = {k: v for k, v in response.headers.items() if k in PASSED_RESPONSE_HEADERS and k != "Content-Type"}
    content_type = response.headers.get("Content-Type", "application/octet-stream").split(";")[0]
    if "WWW-Authenticate" in response.headers:
        passed["WWW-Authenticate"] = response.headers["WWW-Authenticate"]
    return web.Response(status=response.status, body=response.body, content_type=content_type, headers=passed)
