"""The CUCM node on a socket: an aiohttp application that adapts requests for :mod:`cucm_stub.ssosp` and
:mod:`cucm_stub.uds`, writes the log events they return, and sends their replies.

Each routed request gets the name of the Tomcat worker thread that would have served it, ``http-bio-8443-exec-<n>``
with ``n`` cycling through a pool of 200 (Tomcat's default ``maxThreads``), so the lines of one request share a
thread name as they do in a real ssosp log. Routes not listed answer aiohttp's 404, wrong methods its 405; those
write no line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from common.basic import parse_basic
from common.clock import LabClock
from common.config import ClusterConfig, Lab, Listener
from common.directory import Directory
from common.faults import FaultEngine, fault_middleware
from common.nodelog import LineSink, Log4jLog, SdlLog
from common.oauthparams import ParamError, parse_query
from common.pki import CertInfo
from common.resolver import LabResolver
from common.serve import Running, serve
from common.tasks import cancel_and_wait
from common.tls import LabTls
from common.tokens import AuthzKeys
from common.tomcatlog import tomcat_tls_refused
from cucm_stub.database import ClusterDatabase, SqliteRefreshTokenStore
from cucm_stub.errors import InvalidRequest
from cucm_stub.platform import ClusterKeys, load_or_generate, run_command
from cucm_stub.sipnode import CucmSip, start_cucm_sip
from cucm_stub.ssosp import SsospServer
from cucm_stub.uds import UdsService
from cucm_stub.wire import FORM, Reply, Request

THREAD_POOL = 200
DAILY_TICK = 1.0
CLEANUP = "cleanup.RefreshTokenCleanupTask"
Decide = Callable[[Request], Reply]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SSOSP = web.AppKey("ssosp", SsospServer)
UDS = web.AppKey("uds", UdsService)


@dataclass
class CucmNode:
    """A running CUCM node (publisher or subscriber): what the lab needs to reach it, inspect it and stop it."""

    name: str
    cluster: ClusterConfig
    running: Running
    holder: ClusterKeys
    sink: LineSink
    ssosp: SsospServer
    db: ClusterDatabase
    daily: DailyJobs
    _task: asyncio.Task[None] | None = None
    sip: CucmSip | None = None

    @property
    def keys(self) -> AuthzKeys:
        return self.holder.current

    async def stop(self) -> None:
        if self.sip is not None:
            await self.sip.stop()
        await cancel_and_wait(self._task)
        await self.running.stop()
        self.db.close()


class DailyJobs:
    """CUCM's nightly maintenance on the lab clock: at 02:00 local time expired refresh tokens are deleted."""

    HOUR = 2

    def __init__(self, ssosp: SsospServer, clock: LabClock, log: Log4jLog, utc_offset: dt.timedelta) -> None:
        self.ssosp, self.clock, self.log, self.offset = ssosp, clock, log, utc_offset
        self.last = clock.timestamp()

    def run_due(self) -> int | None:
        """Run the flush if 02:00 passed since the last look (however far the lab clock jumped); rows deleted."""
        now = self.clock.timestamp()
        due = crossed_hour(self.last, now, self.HOUR, self.offset)
        self.last = now
        if not due:
            return None
        count = self.ssosp.refresh_tokens.flush_expired(now)
        self.log.write("INFO", "Timer-0", CLEANUP,
                       f"Deleted {count} expired refresh token(s) from refreshtokendetails")
        return count

    async def loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            self.run_due()


def crossed_hour(last: float, now: float, hour: int, offset: dt.timedelta) -> bool:
    """Whether a local ``hour``:00 lies in ``(last, now]``."""
    if now <= last:
        return False
    shift = offset.total_seconds() - hour * 3600
    return (now + shift) // 86400 > (last + shift) // 86400


def build_app(lab: Lab, cluster: ClusterConfig, clock: LabClock, log: Log4jLog, keys: ClusterKeys,
              db: ClusterDatabase, node: Listener | None = None, faults: FaultEngine | None = None) -> web.Application:
    node = node or cluster.listener
    publisher = node == cluster.listener
    directory = Directory(lab, cluster)
    app = web.Application(middlewares=[fault_middleware(faults, cluster.node_name(node))] if faults else [])
    app[SSOSP] = ssosp = SsospServer(cluster, lab.clients, directory, keys, clock,
                                     refresh_tokens=SqliteRefreshTokenStore(db), origin=node.origin)
    app[UDS] = uds = UdsService(cluster, directory, keys, clock, origin=node.origin)
    threads = _tomcat_threads(node.port)

    async def cli(request: web.Request) -> web.Response:
        """The platform CLI, reached over HTTP in the lab (modelled: the real one is an SSH session)."""
        credentials = parse_basic(request.headers.get("Authorization"))
        if credentials is None or not directory.check_app_user(*credentials):
            return web.json_response({"error": "admin credentials required"}, status=401,
                                     headers={"WWW-Authenticate": 'Basic realm="CUCM CLI"'})
        try:
            command = str(json.loads(await request.read())["command"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": 'expected {"command": "show key authz signing"}'}, status=400)
        result = run_command(command, keys, db, publisher=publisher)
        thread = next(threads)
        for event in result.events:
            log.write(event.level, thread, event.category, event.message)
        return web.json_response({"command": command, "output": result.output, "ok": result.ok})

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
        web.get("/ssosp/token/revoke", adapt(ssosp.revoke)),
        web.post("/ssosp/token/revoke", adapt(ssosp.revoke)),
        web.post("/mrasim/cli", cli),
    ])
    return app


async def start_cucm(
    lab: Lab, cluster: ClusterConfig, clock: LabClock, sink: LineSink, keys: AuthzKeys | None = None,
    state_dir: Path | None = None, node: Listener | None = None, faults: FaultEngine | None = None,
    resolver: LabResolver | None = None,
    tls: LabTls | None = None,
) -> CucmNode:
    """Start one node of ``cluster`` (its publisher unless ``node`` names a subscriber) on that node's listener.

    The cluster database lives in ``state_dir`` (None: in memory), shared by every node of the cluster. The AuthZ keys
    come from ``keys`` when given (and are stored), else from the database, else the publisher generates them, as on
    install; a node reads them once, when it starts, as Tomcat does.
    """
    node = node or cluster.listener
    publisher = node == cluster.listener
    db = ClusterDatabase(state_dir / "ccm.sqlite" if state_dir is not None else None, clock.timestamp)
    if keys is not None:
        db.save_signing(keys.signing)
        db.save_encryption(keys.encryption)
    try:
        holder = ClusterKeys(keys or load_or_generate(db, cluster.uuid, publisher=publisher))
    except RuntimeError:
        db.close()
        raise
    log = Log4jLog(clock, sink, lab.utc_offset, debug=lab.debug)
    app = build_app(lab, cluster, clock, log, holder, db, node, faults)
    try:
        running = await serve(app, node, ssl_context=tls.server_context(cluster.node_name(node)) if tls else None,
                              on_tls_error=tomcat_tls_refused(log, node.port))
    except OSError:
        db.close()
        raise
    if tls is not None:
        _log_certificate(tls, cluster.node_name(node), log)
    daily = DailyJobs(app[SSOSP], clock, log, lab.utc_offset)
    started = CucmNode(cluster.node_name(node), cluster, running, holder, sink, app[SSOSP], db, daily)
    if resolver is not None and publisher:
        started.sip = await _start_sip(lab, cluster, clock, sink, holder, resolver, tls)
    if publisher:
        started._task = asyncio.get_running_loop().create_task(daily.loop(DAILY_TICK),
                                                               name=f"{started.name} daily jobs")
    return started


async def _start_sip(lab: Lab, cluster: ClusterConfig, clock: LabClock, sink: LineSink, holder: ClusterKeys,
                     resolver: LabResolver, tls: LabTls | None) -> CucmSip:
    """The CallManager SIP line side of a cluster's publisher, with its SDL trace next to the node's log."""
    sdl_sink = LineSink(sink.path.with_name(f"sdl-{cluster.listener.host.split('.')[0]}.txt") if sink.path else None,
                        keep=sink.keep)
    return await start_cucm_sip(lab, cluster, clock, SdlLog(clock, sdl_sink, lab.utc_offset), tls,
                                lambda: holder.ring, resolver.bind)
CERT_CATEGORY = "com.cisco.security.certmgmt.CertificateMonitor"


def _log_certificate(tls: LabTls, name: str, log: Log4jLog) -> None:
    """The Tomcat certificate this node starts with, as Certificate Management records it (*modelled* wording); a
    regenerated one says so — the event behind "renewed, and not trusted again on Expressway-C"."""
    key = f"{name} tomcat"
    spec, issued = tls.specs.get(key), tls.issued.get(key)
    if spec is None or issued is None:
        return
    info = CertInfo.of(key, issued.cert_pem)
    kind = "self-signed" if info.subject == info.issuer else f"issued by {info.issuer}"
    log.write("INFO", "CertMonitor", CERT_CATEGORY, f"tomcat certificate in use: {info.subject}, {kind}, serial "
                                                    f"{info.serial}, valid to {info.not_after}")
    if spec.staging.renewed and issued.previous_pem:
        previous = CertInfo.of(key, issued.previous_pem)
        log.write("INFO", "CertMonitor", CERT_CATEGORY, f"tomcat certificate regenerated: serial {previous.serial} "
                                                        f"replaced by {info.serial}; the new certificate must be "
                                                        "uploaded to the trust stores of the servers that trust it")


def _tomcat_threads(port: int) -> Iterator[str]:
    return (f"http-bio-{port}-exec-{n}" for n in itertools.cycle(range(1, THREAD_POOL + 1)))


def _adapt(decide: Decide, log: Log4jLog, threads: Iterator[str]) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        thread = next(threads)
        try:
            neutral = await _neutral(request)
        except ParamError as exc:
            reply = Reply.refused(InvalidRequest(exc.description), "servlet.RequestDecoder")
        else:
            reply = decide(neutral)
        for event in reply.events:
            log.write(event.level, thread, event.category, event.message)
        return web.Response(status=reply.status, headers=dict(reply.headers), body=reply.body)

    return handler


async def _neutral(request: web.Request) -> Request:
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), value)
    form: tuple[tuple[str, str], ...] = ()
    if request.content_type == FORM and request.body_exists:
        form = tuple(parse_query(await request.read()))
    return Request(
        method=request.method,
        path=request.path,
        headers=headers,
        query=tuple(parse_query(request.raw_path.partition("?")[2])),
        form=form,
        content_type=request.content_type if "Content-Type" in request.headers else "",
        params=dict(request.match_info),
    )
