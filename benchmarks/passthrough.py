"""The baseline of the login benchmark: the same HTTP exchanges over the same hops, with no logic and no logging.

One real login is *recorded* first: for each client step, the answer Jabber got, whether Expressway-E passed the
request on to Expressway-C, and every call C made behind it (to CUCM, to its OAuthvalidator) with the answer it got.
Three minimal aiohttp apps then *replay* that script: E' forwards what E forwarded to C', C' makes the same calls in
the same order to a canned backend on its own port per internal host (CUCM', validator') and answers with the
recorded answer. Every exchange of the real login happens, over its own loopback socket and with bodies of the same
size; nothing is parsed, decided, signed, stored or logged. What remains is the cost of the HTTP plumbing itself,
which is what "ours / baseline" divides by.

Over TLS (the lab's default) the baseline's hops are TLS too, with the lab's own certificates and trust: E' presents
E's certificate, C' C's, each internal backend the certificate of the server it stands in for, and every hop checks
its peer, so the baseline pays the same handshakes and record encryption as the lab.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from common.config import Listener
from common.hop import HopClient, HopResponse
from common.serve import Running, serve
from common.tls import LabTls

KEPT_HEADERS = ("Content-Type", "Location", "Set-Cookie", "WWW-Authenticate")
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host", "content-length"})


@dataclass(frozen=True)
class Canned:
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def of(cls, answer: HopResponse) -> Canned:
        kept = tuple((k, v) for k, v in answer.headers.items() if k in KEPT_HEADERS)
        return cls(answer.status, answer.reason, kept, answer.body)

    def response(self) -> web.Response:
        return web.Response(status=self.status, reason=self.reason, body=self.body, headers=CIMultiDict(self.headers))


@dataclass(frozen=True)
class InternalCall:
    origin: str
    method: str
    path_qs: str
    body: bytes | None
    answer: Canned


@dataclass
class StepScript:
    name: str
    method: str
    path: str
    relayed: bool = False
    calls: list[InternalCall] = field(default_factory=list)
    reply: Canned | None = None


class Recorder:
    """Wraps a node's :class:`HopClient` so each call it makes is added to the step being recorded."""

    def __init__(self) -> None:
        self.current: StepScript | None = None

    def wrap_edge(self, hop: HopClient) -> None:
        original = hop.request

        async def request(method: str, url: str, **kwargs: Any) -> HopResponse:
            if self.current is not None:
                self.current.relayed = True
            return await original(method, url, **kwargs)

        hop.request = request  # type: ignore[method-assign]

    def wrap_core(self, hop: HopClient) -> None:
        original = hop.request

        async def request(method: str, url: str, **kwargs: Any) -> HopResponse:
            answer = await original(method, url, **kwargs)
            if self.current is not None:
                target = URL(url)
                data = kwargs.get("data")
                body = data.encode() if isinstance(data, str) else data
                self.current.calls.append(InternalCall(f"{target.host}:{target.port}", method,
                                                       target.raw_path_qs, body, Canned.of(answer)))
            return answer

        hop.request = request  # type: ignore[method-assign]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _catch_all(handler: Handler) -> web.Application:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@dataclass
class Baseline:
    """E', C' and one canned backend per internal host, serving one recorded login over and over."""

    edge: Running
    core: Running
    backends: dict[str, Running]
    session: aiohttp.ClientSession

    @property
    def edge_port(self) -> int:
        return self.edge.port

    async def stop(self) -> None:
        await self.session.close()
        for running in (self.edge, self.core, *self.backends.values()):
            await running.stop()


async def start_baseline(script: list[StepScript], tls: LabTls | None = None) -> Baseline:
    """``tls``: the lab's TLS material, for a baseline over the same transport as a TLS lab (None: plain HTTP)."""
    by_path = {(step.method, step.path): step for step in script}
    canned_backend: dict[tuple[str, str, str], Canned] = {}
    for step in script:
        for call in step.calls:
            canned_backend.setdefault((call.origin, call.method, URL(call.path_qs).path), call.answer)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    local = Listener("baseline", 0, "http", "127.0.0.1", 0)
    trust = tls.client_context("baseline") if tls is not None else None

    def hop(origin: str) -> tuple[str, dict[str, Any]]:
        """The scheme and TLS arguments of a hop to the server at ``origin`` (as the lab's own hop would dial it)."""
        target = URL(origin)
        if trust is None or target.scheme != "https":
            return "http", {}
        return "https", {"ssl": trust, "server_hostname": target.host}

    def context(origin: str) -> ssl.SSLContext | None:
        target = URL(origin)
        if tls is None or target.scheme != "https":
            return None
        name = {"expressway-c": "expressway-c"}.get(origin, _listener_of(tls, target.host or ""))
        return tls.server_context(name)

    backends: dict[str, Running] = {}
    for origin in {call.origin for step in script for call in step.calls}:
        async def backend(request: web.Request, origin: str = origin) -> web.Response:
            await request.read()
            return canned_backend[(origin, request.method, request.path)].response()

        backends[origin] = await serve(_catch_all(backend), local, ssl_context=context(origin))

    async def core(request: web.Request) -> web.Response:
        await request.read()
        step = by_path[(request.method, request.path)]
        for call in step.calls:
            port = backends[call.origin].port
            scheme, extra = hop(call.origin)
            async with session.request(call.method, f"{scheme}://127.0.0.1:{port}{call.path_qs}", data=call.body,
                                       **extra) as r:
                await r.read()
        assert step.reply is not None
        return step.reply.response()

    core_origin = tls.lab.core.listener.origin if tls else "http://c"
    core_running = await serve(_catch_all(core), local,
                               ssl_context=tls.server_context("expressway-c") if tls else None)
    core_scheme, core_extra = hop(core_origin)

    async def edge(request: web.Request) -> web.Response:
        body = await request.read() if request.body_exists else None
        step = by_path[(request.method, request.path)]
        if not step.relayed:
            assert step.reply is not None
            return step.reply.response()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = f"{core_scheme}://127.0.0.1:{core_running.port}{request.path_qs}"
        async with session.request(request.method, url, headers=headers, data=body, allow_redirects=False,
                                   **core_extra) as r:
            answer = await r.read()
            kept = [(k, v) for k, v in r.headers.items() if k in KEPT_HEADERS]
            return web.Response(status=r.status, reason=r.reason, body=answer, headers=CIMultiDict(kept))

    edge_running = await serve(_catch_all(edge), local,
                               ssl_context=tls.server_context("expressway-e") if tls else None)
    return Baseline(edge_running, core_running, backends, session)


def _listener_of(tls: LabTls, host: str) -> str:
    """The lab listener whose certificate a backend standing in for ``host`` presents."""
    for name, listener in tls.lab.listeners().items():
        if listener.host == host and listener.scheme == "https":
            return name
    raise KeyError(host)
