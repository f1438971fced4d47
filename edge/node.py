"""Expressway-E as a running node: the client-facing listener (8443 in URLs).

E answers three things itself — the login form (``authorize``), ``/OAuthcb``, and refusals of domains that are not
configured for MRA (``403``, ``Server: CE_E``) — and relays everything else to Expressway-C. Oversized request headers
are refused by the HTTP parser with ``400`` and logged; the node keeps serving.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from aiohttp import web

from common import traversal
from common.clock import LabClock
from common.config import Lab
from common.domain import ProxyDescriptor, SegmentError, mra_target
from common.faults import fault_middleware
from common.hop import HopClient
from common.logformats.expressway import TRAFFIC_SERVER
from common.nodelog import ExpresswayLog, LineSink
from common.oauthparams import AuthorizeRequest, ParamError, parse_query
from common.resolver import LabResolver
from common.serve import Running, serve
from common.trafficlog import MODULE, TXN_KEY, traffic_server_middleware
from common.txn import TxnCounter
from edge.intrusion import IntrusionProtection, intrusion_middleware
from edge.overload import Admission, overload_middleware
from edge.pages import login_form, oauthcb_page
from common.streamserve import StreamServer
from edge.xmpp import start_edge_xmpp
from edge.relay import relay_to_core

SERVER = "CE_E"


@dataclass(frozen=True)
class EdgeState:
    lab: Lab
    log: ExpresswayLog
    hop: HopClient
    via: str
    clock: LabClock


EDGE_STATE = web.AppKey("edge_state", EdgeState)


def refuse(state: EdgeState, request: web.Request, status: int, reason: str) -> web.Response:
    state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Request refused", "Txn-id": request.get(TXN_KEY, ""),
                                             "Reason": reason}, module=MODULE)
    return web.Response(status=status, text=f"{reason}\n", headers={"Server": SERVER})


async def oauthcb(request: web.Request) -> web.Response:
    return web.Response(body=oauthcb_page(), content_type="text/html", headers={"Server": SERVER})


async def edge_request(request: web.Request) -> web.StreamResponse:
    state = request.app[EDGE_STATE]
    segment, tail = request.match_info["segment"], request.match_info["tail"]
    try:
        target = mra_target(segment, state.lab.core.mra_domains)
    except SegmentError as exc:
        return refuse(state, request, 403, f"Forbidden: {exc}")
    if not isinstance(target, ProxyDescriptor) and tail == "authorize" and request.method == "GET":
        try:
            authorize = AuthorizeRequest.from_pairs(parse_query(request.raw_path.partition("?")[2]))
        except ParamError as exc:
            return web.json_response({"error": exc.error, "error_description": exc.description}, status=exc.status,
                                     headers={"Server": SERVER})
        return web.Response(body=login_form(segment, authorize), content_type="text/html",
                            headers={"Server": SERVER})
    return await relay_to_core(request, state.hop, state.lab.core.listener.origin, state.via, state.log,
                               traversal.stamp(state.lab.core.traversal_password, state.clock.timestamp()))


class _ParserErrors(logging.Handler):
    """Carries aiohttp's "Error handling request" (bad or oversized requests) into the node's own log."""

    def __init__(self, log: ExpresswayLog) -> None:
        super().__init__(logging.DEBUG)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        reason = str(record.exc_info[1]) if record.exc_info and record.exc_info[1] else record.getMessage()
        src = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        self.log.write(TRAFFIC_SERVER, "INFO", {"Event": "Sending HTTP error response", "Src-ip": src,
                                                "Status": 400, "Reason": reason.splitlines()[0][:200]}, module=MODULE)


def parser_logger(name: str, log: ExpresswayLog) -> logging.Logger:
    logger = logging.getLogger(f"mrasim.{name}.{id(log)}")
    logger.propagate = False
    logger.handlers[:] = [_ParserErrors(log)]
    logger.setLevel(logging.DEBUG)
    return logger


@dataclass
class EdgeNode:
    name: str
    state: EdgeState
    running: Running
    xmpp: StreamServer | None = None

    async def stop(self) -> None:
        if self.xmpp is not None:
            await self.xmpp.stop()
        await self.running.stop()
        await self.state.hop.close()


async def start_edge(lab: Lab, clock: LabClock, resolver: LabResolver, sink: LineSink) -> EdgeNode:
    config = lab.edge
    log = ExpresswayLog(config.system_name, clock, sink, lab.utc_offset, config.pid, debug=lab.debug)
    hop = HopClient(resolver, config.listener.address, name="expressway-e")
    await hop.start()
    state = EdgeState(lab, log, hop, f"http/1.1 vcs[{uuid.uuid5(uuid.NAMESPACE_DNS, config.listener.host)}] (ATS)",
                      clock)
    protection = [intrusion_middleware(IntrusionProtection(config.intrusion_trigger, config.intrusion_window,
                                                           config.intrusion_block), clock, log)]
    admission = Admission(config.max_in_flight)
    app = web.Application(middlewares=[*(protection if config.intrusion_protection else []),
                                       traffic_server_middleware(log, TxnCounter(config.txn_start),
                                                                 absolute_urls=False, scheme=config.listener.scheme,
                                                                 server=SERVER),
                                       overload_middleware(admission, log),
                                   fault_middleware(resolver.faults, "expressway-e")])
    app[EDGE_STATE] = state
    app.router.add_get("/OAuthcb", oauthcb)
    app.router.add_route("*", "/{segment}/{tail:.*}", edge_request)
    running = await serve(app, config.listener, max_field_size=config.max_header_bytes,
                          max_line_size=config.max_header_bytes, logger=parser_logger("expe", log))
    resolver.bind(config.listener, running.port)
    return EdgeNode("expressway-e", state, running, await start_edge_xmpp(lab, log, resolver))

