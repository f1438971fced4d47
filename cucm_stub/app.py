"""The CUCM node on a socket: an aiohttp application that adapts requests for :mod:`cucm_stub.ssosp` and
:mod:`cucm_stub.uds`, writes the log events they return, and sends their replies.

Each routed request gets the name of the Tomcat worker thread that would have served it, ``http-bio-8443-exec-<n>``
with ``n`` cycling through a pool of 200 (Tomcat's default ``maxThreads``), so the lines of one request share a
thread name as they do in a real ssosp log. Routes not listed answer aiohttp's 404, wrong methods its 405; those
write no line.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import web

from common.clock import LabClock
from common.config import ClusterConfig, Lab
from common.nodelog import LineSink, Log4jLog
from common.serve import Running, serve
from common.tokens import AuthzKeys
from cucm_stub.directory import Directory
from cucm_stub.ssosp import SsospServer
from cucm_stub.uds import UdsService
from cucm_stub.wire import FORM, Reply, Request

THREAD_POOL = 200
Decide = Callable[[Request], Reply]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SSOSP = web.AppKey("ssosp", SsospServer)
UDS = web.AppKey("uds", UdsService)


@dataclass
class CucmNode:
    """A running CUCM publisher: what the lab needs to reach it, inspect it and stop it."""

    name: str
    cluster: ClusterConfig
    running: Running
    keys: AuthzKeys
    sink: LineSink
    ssosp: SsospServer | None = None

    async def stop(self) -> None:
        await self.running.stop()


def build_app(lab: Lab, cluster: ClusterConfig, clock: LabClock, log: Log4jLog, keys: AuthzKeys) -> web.Application:
    directory = Directory(lab, cluster)
    app = web.Application()
    app[SSOSP] = ssosp = SsospServer(cluster, lab.clients, directory, keys, clock)
    app[UDS] = uds = UdsService(cluster, directory, keys, clock)
    threads = _tomcat_threads(cluster.listener.port)

    def adapt(decide: Decide) -> Handler:
        return _adapt(decide, log, threads)

    app.router.add_routes([
        web.get("/cucm-uds/version", adapt(uds.version)),
        web.get("/cucm-uds/servers", adapt(uds.servers)),
        web.get("/cucm-uds/clusterUser", adapt(uds.cluster_user)),
        web.get("/cucm-uds/user/{userid}", adapt(uds.user)),
        web.get("/cucm-uds/user/{userid}/devices", adapt(uds.devices)),
        web.get("/ssosp/ws/public/singleSignOn", adapt(ssosp.single_sign_on)),
        web.post("/ssosp/token/authorize_proxy", adapt(ssosp.authorize_proxy)),
        web.post("/ssosp/token/access_token", adapt(ssosp.access_token)),
        web.get("/ssosp/token/authz_keys", adapt(ssosp.authz_keys)),
    ])
    return app


async def start_cucm(
    lab: Lab, cluster: ClusterConfig, clock: LabClock, sink: LineSink, keys: AuthzKeys | None = None,
    state_dir: Path | None = None,
) -> CucmNode:
    """Start the publisher of ``cluster`` on its listener; generate its AuthZ keys unless given (as on install)."""
    keys = keys or AuthzKeys.generate(cluster.uuid)
    log = Log4jLog(clock, sink, lab.utc_offset, debug=lab.debug)
    app = build_app(lab, cluster, clock, log, keys)
    running = await serve(app, cluster.listener)
    return CucmNode(f"cucm:{cluster.name}", cluster, running, keys, sink, app[SSOSP])


def _tomcat_threads(port: int) -> Iterator[str]:
    return (f"http-bio-{port}-exec-{n}" for n in itertools.cycle(range(1, THREAD_POOL + 1)))


def _adapt(decide: Decide, log: Log4jLog, threads: Iterator[str]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        thread = next(threads)
        reply = decide(await _neutral(request))
        for event in reply.events:
            log.write(event.level, thread, event.category, event.message)
        return web.Response(status=reply.status, headers=dict(reply.headers), body=reply.body)

    return handler


async def _neutral(request: web.Request) -> Request:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), value)
    form: tuple[tuple[str, str], ...] = ()
    if request.content_type == FORM and request.can_read_body:
        text = (await request.read()).decode("utf-8", "replace")
        form = tuple(parse_qsl(text, keep_blank_values=True))
    return Request(
        method=request.method,
        path=request.path,
        headers=headers,
        query=tuple(request.query.items()),
        form=form,
        content_type=request.content_type if "Content-Type" in request.headers else "",
        params=dict(request.match_info),
    )
