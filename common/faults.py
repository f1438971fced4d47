"""Faults on demand: what a scenario or an engineer breaks, as data, and the decisions that carry it out.

A :class:`Fault` says *what* goes wrong (its ``kind``), *where* (a :class:`Match` on the node that receives the
request or the hop that carries it, the method, the path, the user), *how often* (a :class:`Count`: the first N
matching exchanges, all after the first N, every Nth) and with what seeded probability. The :class:`FaultEngine`
turns an exchange into a list of decisions (mitmproxy's commands, toxiproxy's toxics):

* HTTP faults, decided where a node receives a request: ``respond`` (answer with a status and body instead of the
  node), ``delay``, ``drop`` (close the connection without an answer), ``corrupt`` (mangle the node's answer);
* connection faults, decided where a node dials the next hop: ``refuse``, ``reset``, ``blackhole`` (no answer until the
  dialler gives up), ``latency``.

One middleware (:func:`fault_middleware`), one place in :class:`common.hop.HopClient` (HTTP hops) and
:func:`common.dial.open_connection` (the raw TCP links of the XMPP path) execute the decisions; no handler knows
faults exist. Node faults (stop, restart, a clock running ahead or behind) belong to the lab, not here.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from common.basic import parse_basic

HTTP_KINDS = ("respond", "delay", "drop", "corrupt")
CONNECTION_KINDS = ("refuse", "reset", "blackhole", "latency")
Kind = Literal["respond", "delay", "drop", "corrupt", "refuse", "reset", "blackhole", "latency"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Exchange:
    """One request as a fault sees it: which node receives it (or which host a hop dials), from which node.

    ``owner`` is set for a raw TCP dial (:mod:`common.dial`): the node whose port ``node`` is (``imp:imp`` for
    ``imp:imp:xcp``), so a fault on the node also breaks its XMPP/XCP links while one on the port breaks only that.
    """

    node: str
    method: str = ""
    path: str = ""
    user: str = ""
    source: str = ""
    host: str = ""
    owner: str = ""


@dataclass(frozen=True)
class Match:
    """Empty fields match anything; ``node`` matches a node name, the node owning a dialled port, or a host name;
    ``path`` is a regular expression."""

    node: str | None = None
    source: str | None = None
    method: str | None = None
    path: str | None = None
    user: str | None = None

    def matches(self, exchange: Exchange) -> bool:
        if self.node is not None and self.node not in (exchange.node, exchange.host, exchange.owner or exchange.node):
            return False
        if self.source is not None and self.source != exchange.source:
            return False
        if self.method is not None and self.method.upper() != exchange.method.upper():
            return False
        if self.path is not None and not re.search(self.path, exchange.path):
            return False
        return self.user is None or self.user.lower() == exchange.user.lower()


@dataclass(frozen=True)
class Count:
    """Which of the matching exchanges the fault hits (1-based): ``first`` N, those ``after`` N, ``every`` Nth."""

    first: int | None = None
    after: int | None = None
    every: int | None = None

    def admits(self, n: int) -> bool:
        if self.first is not None and n > self.first:
            return False
        if self.after is not None and n <= self.after:
            return False
        return self.every is None or n % self.every == 0


@dataclass(frozen=True)
class Fault:
    kind: Kind
    match: Match = Match()
    count: Count = Count()
    probability: float = 1.0
    status: int = 503
    body: str = ""
    seconds: float = 1.0
    id: str = ""

    def __post_init__(self) -> None:
        if self.kind not in HTTP_KINDS + CONNECTION_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(HTTP_KINDS + CONNECTION_KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability {self.probability} is not between 0 and 1")
        if not 100 <= self.status <= 599:
            raise ValueError(f"status {self.status} is not an HTTP status")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")
        if self.kind in CONNECTION_KINDS and self.match.user is not None:
            raise ValueError("a connection fault cannot match a user: the connection is made before any request")

    @property
    def http(self) -> bool:
        return self.kind in HTTP_KINDS


@dataclass
class FaultEngine:
    """The lab's active faults, their hit counters and the seeded random draw."""

    seed: int = 0
    faults: dict[str, Fault] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        fault_id = fault.id or f"f{next(self._ids)}"
        stored = Fault(fault.kind, fault.match, fault.count, fault.probability, fault.status, fault.body,
                       fault.seconds, fault_id)
        self.faults[fault_id] = stored
        self._seen[fault_id] = 0
        return stored

    def remove(self, fault_id: str) -> bool:
        self._seen.pop(fault_id, None)
        return self.faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        self.faults.clear()
        self._seen.clear()

    def hits(self, fault_id: str) -> int:
        return self._seen.get(fault_id, 0)

    def decide(self, exchange: Exchange, http: bool) -> list[Fault]:
        """The faults that hit this exchange, in the order they were added."""
        chosen = []
        for fault in self.faults.values():
            if fault.http != http or not fault.match.matches(exchange):
                continue
            self._seen[fault.id] += 1
            if fault.count.admits(self._seen[fault.id]) and self._random.random() < fault.probability:
                chosen.append(fault)
        return chosen


def user_of(request: web.Request, body: bytes) -> str:
    """Who a request is for, as well as a fault can tell before any node has decided: the email or username in
    the query or form, else the Basic credentials' user."""
    for key in ("username", "email", "user_id"):
        value = request.query.get(key)
        if value:
            return value.split("@", 1)[0]
    if request.content_type == "application/x-www-form-urlencoded" and body:
        match = re.search(rb"(?:^|&)username=([^&]*)", body)
        if match:
            return match.group(1).decode("utf-8", "replace")
    credentials = parse_basic(request.headers.get("Authorization"))
    return credentials[0] if credentials else ""


def fault_middleware(engine: FaultEngine, node: str) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Carry out the HTTP faults that hit requests this node receives."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not engine.faults:
            return await handler(request)
        body = await request.read() if request.body_exists else b""
        exchange = Exchange(node, request.method, request.path, user_of(request, body))
        corrupt = False
        for fault in engine.decide(exchange, http=True):
            if fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "respond":
                return web.Response(status=fault.status, text=fault.body or f"fault {fault.id}\n")
            elif fault.kind == "drop":
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable(reason="Connection dropped (fault)")
            elif fault.kind == "corrupt":
                corrupt = True
        response = await handler(request)
        if corrupt and isinstance(response, web.Response) and response.body:
            response.body = _corrupt(bytes(response.body))  # type: ignore[arg-type]
        return response

    return middleware


def _corrupt(body: bytes) -> bytes:
    """Cut the body short and flip a byte near its start: a truncated, damaged answer."""
    cut = body[: max(1, len(body) * 2 // 3)]
    return cut[:1] + bytes([cut[1] ^ 0x20]) + cut[2:] if len(cut) > 1 else cut
