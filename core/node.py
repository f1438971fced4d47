"""Expressway-C as a running node: its traffic_server listener, its credentialmanager OAuthvalidator, and the
traversal client that dials Expressway-E (:mod:`core.traversal`: the SSH tunnel to 2222, the XCP links to 7400).

Requests arrive from Expressway-E through the tunnel C opened (so from C's own loopback, as on the real product) as ``<method> http://<expc>:8443/<b64 segment>/<operation or path>``. The first
segment is either an MRA domain (edge operations) or a proxy descriptor (internal HTTP); anything else is refused
with ``403`` before any work is done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from common import traversal
from common.concealpath import conceal_path
from common.clock import LabClock
from common.config import Lab
from common.tomltable import ConfigError
from common.domain import ProxyDescriptor, SegmentError, mra_target
from common.faults import fault_middleware
from common.hop import HopClient
from common.logformats.expressway import TRAFFIC_SERVER
from common.nodelog import ExpresswayLog, LineSink
from common.resolver import LabResolver
from common.serve import Running, serve
from common.zone import ZoneStatus, file_writer
from common.trafficlog import MODULE, TXN_KEY, tls_refused, traffic_server_middleware
from common.txn import TxnCounter
from core.access import SERVER
from core.allowlist import RuleError, rules_for
from core.admin import xcommand
from core.credentialmanager import AuthzKeyStore, validator_app
from core.oauth import access_token, localauthentication
from core.provisioning import get_edge_config, get_edge_sso
from core.samlsp import (ACS_OPERATION, SERVICE_PROVIDER, ServiceProvider, assertion_consumer, authorize,
                         export_metadata, import_idp_metadata, renew_certificate)
from core.proxy import relay
from core.sipzone import CoreSip
from core.state import CORE_STATE, CoreState
from core.upstream import Upstream
from core.traversal import SshTunnel, XcpLinks
from core.xcplink import XcpRouter
from core.xconfig import FILE, XCONFIG, XCP_SETTINGS, XConfigStore, xconfiguration
from core.xconfig import PATH as XCONFIG_PATH
from core.xcprouter import XcpSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPERATIONS: dict[tuple[str, str], Handler] = {
    ("GET", "get_edge_sso"): get_edge_sso,
    ("GET", "get_edge_config"): get_edge_config,
    ("POST", "localauthentication"): localauthentication,
    ("POST", "access_token"): access_token,
    ("GET", "authorize"): authorize,
    ("POST", ACS_OPERATION): assertion_consumer,
}


def forbidden(state: CoreState, request: web.Request, reason: str) -> web.Response:
    state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Request refused", "Txn-id": request.get(TXN_KEY, ""),
                                             "Reason": reason}, module=MODULE)
    return web.Response(status=403, text=f"Forbidden: {reason}\n", headers={"Server": SERVER})


def traversal_middleware(state: CoreState) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Refuse what did not come over the authenticated traversal link, or came with a stamp from a skewed clock."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/mrasim/"):
            return await handler(request)
        reason = traversal.check(request.headers.get(traversal.HEADER), state.config.traversal_password,
                                 state.clock.timestamp())
        if reason is not None:
            state.log.write(TRAFFIC_SERVER, "INFO", {"Detail": "Traversal authentication failed",
                                                     "Txn-id": request.get(TXN_KEY, ""), "Reason": reason},
                            module=MODULE)
            return web.Response(status=403, text=f"Forbidden: {reason}\n", headers={"Server": SERVER})
        return await handler(request)

    return middleware


async def edge_request(request: web.Request) -> web.Response:
    state = request.app[CORE_STATE]
    segment, tail = request.match_info["segment"], request.match_info["tail"]
    try:
        target = mra_target(segment, state.config.mra_domains)
    except SegmentError as exc:
        return forbidden(state, request, str(exc))
    if isinstance(target, ProxyDescriptor):
        return await relay(request, state, target, tail)
    handler = OPERATIONS.get((request.method, tail))
    if handler is None:
        known = {op for _, op in OPERATIONS}
        if tail in known:
            raise web.HTTPMethodNotAllowed(request.method, [m for m, op in OPERATIONS if op == tail])
        raise web.HTTPNotFound(text=f"no edge operation {conceal_path(tail)!r}\n")  # a path may hold a token
    return await handler(request)


@dataclass
class CoreNode:
    name: str
    state: CoreState
    traffic: Running
    validator: Running
    hop: HopClient
    zone: ZoneStatus
    tunnel: SshTunnel | None = None
    xcp: XcpLinks | None = None
    # Clusters whose AuthZ keys the start-up "Refresh servers" could not fetch (CUCM not running yet): C then refuses
    # every token until 'xCommand RefreshServers', so whoever started it is told, not only the log.
    unfetched: tuple[str, ...] = ()
    sip: CoreSip | None = None

    async def stop(self) -> None:
        if self.sip is not None:
            await self.sip.stop()
        for link in (self.xcp, self.tunnel):
            if link is not None:
                await link.stop()
        await self.traffic.stop()
        await self.validator.stop()
        await self.hop.close()


def core_zone(lab: Lab, status_dir: Path | None = None) -> ZoneStatus:
    """C's view of the traversal zone: the traversal client end, whose peer address is E's name (or the lab's
    ``traversal_peer``); ``status_dir`` receives its JSON for ``up --processes``."""
    zone = ZoneStatus("expressway-c", lab.core.zone_name, "traversal client",
                      lab.core.traversal_peer or lab.edge.listener.host)
    if status_dir is not None:
        zone.on_change = file_writer(status_dir / "zone-expressway-c.json")
    return zone


async def start_core(lab: Lab, clock: LabClock, resolver: LabResolver, sink: LineSink,
                     state_dir: Path | None = None, status_dir: Path | None = None) -> CoreNode:
    """Start C; ``state_dir`` holds its configuration database (xConfiguration changes survive a restart).

    C dials the traversal zone last, once it can answer what comes through it, and waits a moment for the first
    outcome of each link; a failing link is retried in the background (zone status Failed meanwhile)."""
    xconfig = XConfigStore(state_dir / FILE if state_dir is not None else None)
    config = xconfig.apply(lab.core)
    try:
        rules_for(lab, config)
    except RuleError as exc:
        raise ConfigError(f"{lab.source}: expressway_c.http_allow_list: {exc}") from None
    log = ExpresswayLog(config.system_name, clock, sink, lab.utc_offset, config.pid, debug=lab.debug)
    hop = HopClient(resolver, config.listener.address, name="expressway-c")
    await hop.start()
    upstream = Upstream(hop, log, f"TANDBERG-Video-Communication-Server/{config.version}")
    keys = AuthzKeyStore(config, lab.clusters, upstream)
    state = CoreState(lab, config, clock, log, upstream, keys)

    validator = await serve(validator_app(keys, clock, log), config.validator)
    resolver.bind(config.validator, validator.port)

    app = web.Application(middlewares=[traffic_server_middleware(log, TxnCounter(config.txn_start),
                                                                 absolute_urls=True, scheme=config.listener.scheme,
                                                                 server=SERVER),
                                       traversal_middleware(state),
                                       fault_middleware(resolver.faults, "expressway-c")])
    app[CORE_STATE] = state
    xcp_settings = XcpSettings.from_config(config)
    app[XCONFIG], app[XCP_SETTINGS] = xconfig, xcp_settings
    app.router.add_post("/mrasim/xcommand", xcommand)
    app.router.add_post(XCONFIG_PATH, xconfiguration)
    if lab.idp is not None or config.sso:
        app[SERVICE_PROVIDER] = ServiceProvider.start(state, state_dir / "saml" if state_dir is not None else None)
        app.router.add_get("/mrasim/saml/metadata", export_metadata)
        app.router.add_post("/mrasim/saml/idp", import_idp_metadata)
        app.router.add_post("/mrasim/saml/renew", renew_certificate)
    app.router.add_route("*", "/{segment}/{tail:.*}", edge_request)
    tls = resolver.tls
    traffic = await serve(app, config.listener, ssl_context=tls.server_context("expressway-c") if tls else None,
                          on_tls_error=lambda ip, port, reason: tls_refused(log, ip, port, config.listener.port, reason))
    resolver.bind(config.listener, traffic.port)
    unfetched = await keys.refresh()
    zone = core_zone(lab, status_dir)
    node = CoreNode("expressway-c", state, traffic, validator, hop, zone, unfetched=tuple(unfetched))
    try:
        node.tunnel = SshTunnel(lab, resolver, log, clock, zone, traffic.channel_session)
        node.xcp = XcpLinks(lab, resolver, log, clock, zone, XcpRouter(state, xcp_settings, resolver))
        await asyncio.gather(node.tunnel.start(), node.xcp.start())
        node.sip = CoreSip(lab, log, clock, resolver, status_page=zone,
                           user_agent=f"TANDBERG/4352 ({config.version})")
        await node.sip.start()
    except BaseException:
        await node.stop()
        raise
    return node
