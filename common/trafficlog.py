"""traffic_server's transaction log, shared by Expressway-E and Expressway-C (both run Apache Traffic Server).

Every HTTP transaction gets the node's next Txn-id and these lines (seed article, E Txn-id 2004–2008, C Txn-id 6114):

* INFO ``Detail="Receive Request" Txn-id Src-ip Src-port [Last-via-addr] Msg="<method> <url> HTTP/1.1"``;
* DEBUG ``Detail="Receive Request"`` with the request in an ``HTTPMSG`` block;
* DEBUG ``Detail="Sending Response"`` with status line and headers in an ``HTTPMSG`` block, and, when there is a body,
  DEBUG ``Detail="Sending response" Response-code`` with the body in a ``MSGBODY`` block;
* INFO ``Event="Sending HTTP error response" Status Reason`` for answers of 400 and above.

The edge logs client URLs as ``https:///<path>`` (no host, as the seed shows); the core logs the absolute URL it was
sent and the address of the Expressway-E the request came through (``Last-via-addr``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http import HttpVersion10, HttpVersion11
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from common.conceal import conceal_body, conceal_header, conceal_location, conceal_params
from common.domain import shown
from common.logformats.expressway import TRAFFIC_SERVER, HttpMessage
from common.nodelog import ExpresswayLog
from common.oauthparams import ParamError, parse_query
from common.txn import TxnCounter

MODULE = "network.http.trafficserver"
TXN_KEY = web.RequestKey("txn", int)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def peer(request: web.Request) -> tuple[str, int]:
    info = request.transport.get_extra_info("peername") if request.transport else None
    return (info[0], info[1]) if info else ("0.0.0.0", 0)


def request_message(request: web.Request, url: str, body: bytes) -> str:
    version = f"HTTP/{request.version.major}.{request.version.minor}"
    headers = [(k, conceal_header(k, v)) for k, v in request.headers.items()]
    text = conceal_body(body.decode("utf-8", "replace"), request.content_type) if body else ""
    return HttpMessage(f"{request.method} {url} {version}", headers, text).render()


def response_message(response: web.StreamResponse) -> str:
    headers = []
    for name, value in response.headers.items():
        if name.lower() == "location":
            value = conceal_location(value)
        headers.append((name, conceal_header(name, value)))
    return HttpMessage(f"HTTP/1.1 {response.status} {response.reason}", headers).render()


def _answer_as_http11(request: web.Request) -> None:
    """aiohttp writes the status line in the request's version (``reify``-cached); an HTTP/0.9 request line gets an
    HTTP/1.1 answer, as RFC 9110 section 2.5 has a server send its own version."""
    with contextlib.suppress(AttributeError, TypeError):
        request._cache["version"] = HttpVersion11  # noqa: SLF001 - no public way to set the answer's version


def traffic_server_middleware(
    log: ExpresswayLog, txn: TxnCounter, *, absolute_urls: bool, scheme: str, server: str
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Log every transaction as traffic_server does; answer unexpected failures with 500 and keep serving.

    Every answer names the product in ``Server`` (``CE_E``, ``CE_C ECS``) unless the handler named it already.
    """

    def refused(txn_id: int, status: int, error: str, description: str) -> web.Response:
        log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Request refused", "Txn-id": txn_id, "Reason": description},
                  module=MODULE)
        return web.json_response({"error": error, "error_description": description}, status=status)

    async def _answer(request: web.Request, handler: Handler, txn_id: int, src_ip: str, src_port: int,
                      url: str) -> web.StreamResponse:
        """The handler's answer, or the refusal that replaces it; every path here returns a response to log."""
        try:
            body = await request.read() if log.debug_enabled and request.body_exists else b""
        except web.HTTPException as exc:  # 413: over client_max_size; the body is not read again
            body, early = b"", exc
        except HttpProcessingError as exc:  # the body ended early: the client went away
            raise ConnectionResetError(f"request body incomplete: {exc.message}") from None
        else:
            early = None
        if log.debug_enabled:
            log.write(TRAFFIC_SERVER, "DEBUG", {"Detail": "Receive Request", "Txn-id": txn_id, "Src-ip": src_ip,
                                                "Src-port": src_port},
                      module=MODULE, block_tag="HTTPMSG", block=request_message(request, url, body))
        try:
            if early is not None:
                raise early
            if request.version < HttpVersion10:
                # RFC 9112 section 3: a request line without an HTTP version is not HTTP/1.x. aiohttp reads it as
                # HTTP/0.9; we answer 400 on an HTTP/1.1 status line and close.
                _answer_as_http11(request)
                response = refused(txn_id, 400, "invalid_request", "request line without an HTTP version")
                response.force_close()
                return response
            query = request.raw_path.partition("?")[2]
            if query:
                parse_query(query)  # undecodable parameters are the client's error, whatever the path (issue 13)
            return await handler(request)
        except ParamError as exc:
            return refused(txn_id, exc.status, exc.error, exc.description)
        except web.HTTPException as exc:
            kept = {k: v for k, v in exc.headers.items() if k.lower() != "content-length"}
            return web.Response(status=exc.status, reason=exc.reason, body=exc.body, headers=kept)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except HttpProcessingError as exc:
            raise ConnectionResetError(f"request body incomplete: {exc.message}") from None
        except Exception as exc:  # noqa: BLE001 - the edge answers and keeps serving whatever a handler did
            log.write(TRAFFIC_SERVER, "ERROR", {"Detail": "Internal error", "Txn-id": txn_id,
                                                "Reason": f"{type(exc).__name__}: {exc}"}, module=MODULE)
            return web.Response(status=500, text="Internal Server Error")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        txn_id = txn.next()
        request[TXN_KEY] = txn_id
        src_ip, src_port = peer(request)
        path_qs = request.path_qs
        url = conceal_params(f"{scheme}://{request.host}{path_qs}" if absolute_urls
                             else f"{scheme}:///{path_qs.lstrip('/')}")
        version = f"HTTP/{request.version.major}.{request.version.minor}"
        # Field pairs rather than merged dicts: the same order, built once per request (every request logs this line).
        where: list[tuple[str, object]] = [("Detail", "Receive Request"), ("Txn-id", txn_id), ("Src-ip", src_ip),
                                           ("Src-port", src_port)]
        if absolute_urls:
            where.append(("Last-via-addr", src_ip))
        where.append(("Msg", f"{request.method} {url} {version}"))
        log.write(TRAFFIC_SERVER, "INFO", where, module=MODULE)
        try:
            response = await _answer(request, handler, txn_id, src_ip, src_port, url)
        except (ConnectionError, asyncio.CancelledError) as exc:
            # The client left before its answer (or the node is stopping): the transaction still gets its end line.
            log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Client aborted", "Txn-id": txn_id, "Src-ip": src_ip,
                                               "Src-port": src_port,
                                               "Reason": str(exc) or type(exc).__name__}, module=MODULE)
            raise
        response.headers.setdefault("Server", server)
        if response.status < 400 and not log.debug_enabled:
            return response
        dst = {"Txn-id": txn_id, "Dst-ip": src_ip, "Dst-port": src_port}
        if response.status >= 400:
            log.write(TRAFFIC_SERVER, "INFO", {"Event": "Sending HTTP error response", **dst,
                                               "Status": response.status, "Reason": response.reason}, module=MODULE)
        if log.debug_enabled:
            log.write(TRAFFIC_SERVER, "DEBUG", {"Detail": "Sending Response", **dst}, module=MODULE,
                      block_tag="HTTPMSG", block=response_message(response))
            body = getattr(response, "body", None)
            if isinstance(body, bytes) and body:
                text = conceal_body(body.decode("utf-8", "replace"), response.content_type, response=True)
                log.write(TRAFFIC_SERVER, "DEBUG", {"Detail": "Sending response", "Response-code": response.status,
                                                    **dst}, module=MODULE, block_tag="MSGBODY", block=text)
        return response

    return middleware


def tls_refused(log: ExpresswayLog, src_ip: str, src_port: int, dst_port: int, reason: str) -> None:
    """A client's TLS handshake on this Expressway's listener failed; the connection is closed (modelled wording:
    docs/transport.md)."""
    log.write(TRAFFIC_SERVER, "ERROR", {"Detail": "TLS negotiation failed", "Src-ip": src_ip, "Src-port": src_port,
                                        "Dst-port": dst_port, "Reason": reason}, module=MODULE)


def tls_foreign_name(log: ExpresswayLog, src_ip: str, src_port: int, dst_port: int, name: str) -> None:
    """A client asked (SNI) for a name this Expressway's certificate does not carry; it got the certificate anyway
    and its own name check decides (modelled wording). The name is shown only when it is a dotted host name."""
    log.write(TRAFFIC_SERVER, "INFO", {"Detail": "TLS server name not on certificate", "Src-ip": src_ip,
                                       "Src-port": src_port, "Dst-port": dst_port, "Servername": shown(name),
                                       "Action": "default certificate presented"}, module=MODULE)


def tls_dial_failed(log: ExpresswayLog, url: str, address: str, reason: str, verify: bool) -> None:
    """This Expressway's TLS handshake to a server failed, in Apache Traffic Server's own words.

    When we refused the server's certificate, ATS writes ``Core server certificate verification failed for (<host>).
    Action=Terminate Error=<OpenSSL verify message> server=<host>(<ip>) depth=<n>`` (ATS ``SSLClientUtils``; the
    MRA case in Cisco TAC doc 218018); every failed handshake then gives ``SSL connection failed for '<host>':
    <OpenSSL reason>`` (the real capture in shared/reference/real-logs/cucm-expc-trust-lost-after-cert-renewal).
    """
    host = URL(url).host or ""
    if verify:
        error = reason.removeprefix("certificate verify failed: ")
        log.write(TRAFFIC_SERVER, "WARN", {"Detail": f"Core server certificate verification failed for ({host}). "
                                                     f"Action=Terminate Error={error} server={host}({address}) depth=0"},
                  module=MODULE)
    log.write(TRAFFIC_SERVER, "ERROR", {"Detail": f"SSL connection failed for '{host}': {reason}"}, module=MODULE)
