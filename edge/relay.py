"""The E side of the traffic_server relay: carry a client request to Expressway-C and its answer back.

Expressway-E authorizes nothing itself; every edge operation and proxied URL goes to Expressway-C, which decides.
E adds what ATS adds — ``Via``, ``X-Forwarded-For`` and a ``TrackingID`` (X14+) that follows the request across hops —
and drops hop-by-hop headers (RFC 9110 section 7.6.1). When C cannot be reached the client gets
``502 Next Hop Connection Failed``, as with a broken SSH tunnel in the field: E reaches C only through the tunnel C
opened to E's 2222 (:mod:`edge.tunnel`), whose channels are the relay's kept-alive pooled connections, so a login
reuses one tunnel channel rather than opening one per request.
"""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from aiohttp import web

from common import traversal as traversal_auth
from common.conceal import conceal_header, conceal_params
from common.hop import HopClient, HopError
from common.logformats.expressway import TRAFFIC_SERVER, HttpMessage
from common.nodelog import ExpresswayLog
from common.trafficlog import MODULE, TXN_KEY, peer, tls_dial_failed
from common.txn import TRACKING_HEADER, new_tracking_id

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                        "upgrade", "host", "content-length"})
DROPPED_RESPONSE = HOP_BY_HOP | {"date"}


def without(headers: CIMultiDictProxy[str] | CIMultiDict[str], names: frozenset[str]) -> CIMultiDict[str]:
    """A copy of ``headers`` without any field named in ``names`` (lower case), every other field in its order.

    The same fields as filtering the pairs one by one, at a fraction of the cost: the copy and the deletions run in
    multidict's C code, where a filter calls ``str.lower`` on every name (E relays every request and its answer).
    """
    kept = headers.copy()
    for name in names:
        if name in kept:
            del kept[name]
    return kept


def forward_headers(request: web.Request, via: str) -> CIMultiDict[str]:
    headers = without(request.headers, HOP_BY_HOP)
    if TRACKING_HEADER not in headers:
        headers[TRACKING_HEADER] = new_tracking_id()
    headers.add("Via", via)
    client_ip, _ = peer(request)
    headers["X-Forwarded-For"] = ", ".join(filter(None, [request.headers.get("X-Forwarded-For"), client_ip]))
    return headers


async def relay_to_core(request: web.Request, hop: HopClient, core_origin: str, via: str,
                        log: ExpresswayLog, traversal: str) -> web.Response:
    """Forward to C; the DEBUG ``Sending Request`` line shows the ``TrackingID`` that ties E's Txn-id to C's.

    ``traversal`` is the link's authentication stamp for this moment (:mod:`common.traversal`).
    """
    body = await request.read() if request.body_exists else None
    headers = forward_headers(request, via)
    headers[traversal_auth.HEADER] = traversal
    url = f"{core_origin}{request.path_qs}"
    if log.debug_enabled:
        shown = [(k, conceal_header(k, v)) for k, v in headers.items()]
        log.write(TRAFFIC_SERVER, "DEBUG", {"Detail": "Sending Request", "Txn-id": request.get(TXN_KEY, ""),
                                            TRACKING_HEADER: headers[TRACKING_HEADER]}, module=MODULE,
                  block_tag="HTTPMSG", block=HttpMessage(f"{request.method} {conceal_params(url)} HTTP/1.1",
                                                         shown).render())
    try:
        answer = await hop.request(request.method, url, headers=headers, data=body)
    except HopError as exc:
        if exc.kind == "tls":
            tls_dial_failed(log, url, _address(hop, url), exc.detail, exc.verify)
        # E knows C's name only while C's SSH tunnel is up (edge.tunnel): an unknown name means no tunnel.
        why = "no SSH tunnel from Expressway-C" if exc.kind == "dns" else exc.kind
        return web.Response(status=502, reason="Next Hop Connection Failed",
                            text=f"Next Hop Connection Failed: {why}\n", headers={"Server": "CE_E"})
    headers = without(answer.headers, DROPPED_RESPONSE)
    headers.setdefault("Server", "CE_E")
    return web.Response(status=answer.status, reason=answer.reason, body=answer.body, headers=headers)


def _address(hop: HopClient, url: str) -> str:
    try:
        target = hop.target(url)[0]
    except HopError:
        return ""
    return target.host or ""
