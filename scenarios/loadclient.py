"""Jabber users for load runs: the login generator of :mod:`jabber.flow` driven over one kept-alive connection per
user, every step timed, and the lab's users multiplied so a storm has someone to log in.

:class:`jabber.client.JabberClient` opens a fresh HTTP session per flow and keeps nothing open, which is right for a
single login and wrong for a storm: a storm measures what the lab holds for each *connected* client. A
:class:`LoadUser` owns one :class:`~common.hop.HopClient` for its whole life, logs in through it, and then keeps the
session alive with ``get_edge_config`` on the same connection, as Jabber re-reads its edge configuration.

With ``session="xmpp"`` the user then signs in over XMPP through the edge (:func:`jabber.xmppclient.connect_xmpp`,
OAUTHBEARER with the access token), closes its HTTP connection and keeps only the XMPP stream, pinging over it
(XEP-0199) as Jabber does; ``session="http"`` keeps the HTTP connection instead, with ``get_edge_config``.

Storm users are generated, not written in the lab file: ``storm00001`` … with a password derived from the number, so
a storm against a lab in another process (``mrasim up --storm-users N``) and the lab agree on them without sharing
anything but ``N``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

from common.config import Device, Lab, User
from common.hop import HopClient, HopError
from common.nodelog import CsfLog
from common.resolver import LabResolver
from common.xmpp.xml import element, render
from jabber.client import JabberClient
from jabber.flow import Flow, Outcome, Reply, Settings, Step, edge_config, login
from jabber.xmppclient import XmppConnection, connect_xmpp

STORM_PREFIX = "storm"
SESSIONS = ("xmpp", "http")
PING = "urn:xmpp:ping"


@dataclass(frozen=True)
class StepTime:
    """One HTTP exchange as the client saw it: ``status`` 0 means no answer (``error`` says why)."""

    name: str
    status: int
    ms: float
    error: str = ""


@dataclass(frozen=True)
class Attempt:
    """One flow run: its outcome, each step's time, and what kind of failure ended it ("" when it worked)."""

    outcome: Outcome
    steps: tuple[StepTime, ...]
    error_kind: str

    @property
    def total_ms(self) -> float:
        return sum(step.ms for step in self.steps)


def storm_userid(number: int) -> str:
    return f"{STORM_PREFIX}{number:05d}"


def storm_password(number: int) -> str:
    return f"Storm!{number:05d}"


def storm_users(count: int, cluster: str) -> tuple[User, ...]:
    """``count`` MRA-enabled users homed on ``cluster``, each with one Jabber (CSF) device."""
    return tuple(
        User(storm_userid(n), storm_password(n), cluster, f"Storm User {n}", True,
             (Device(f"CSF{storm_userid(n).upper()}", "Cisco Unified Client Services Framework", ""),))
        for n in range(1, count + 1)
    )


def with_storm_users(lab: Lab, count: int) -> Lab:
    """The same lab with ``count`` storm users added to its first cluster (the lab file is not touched)."""
    return dataclasses.replace(lab, users=lab.users + storm_users(count, lab.clusters[0].name))


def storm_users_toml(count: int, cluster: str) -> str:
    """The storm users as ``[[users]]`` tables, to append to a copy of a lab file for nodes in other processes."""
    blocks = []
    for user in storm_users(count, cluster):
        device = user.devices[0]
        blocks.append(f'\n[[users]]\nuserid = "{user.userid}"\npassword = "{user.password}"\ncluster = "{cluster}"\n'
                      f'display_name = "{user.display_name}"\n[[users.devices]]\nname = "{device.name}"\n')
    return "".join(blocks)


def error_kind(attempt_outcome: Outcome, steps: list[StepTime]) -> str:
    """A short, countable name for a failure: ``connect``/``timeout``/``dns`` or ``<step> HTTP <status>``."""
    if attempt_outcome.ok:
        return ""
    if steps and steps[-1].error:
        return steps[-1].error
    if steps:
        return f"{steps[-1].name} HTTP {steps[-1].status}"
    return attempt_outcome.failed_step or "failed"


async def drive(flow: Flow, hop: HopClient) -> Attempt:
    """Run one flow over ``hop``; a hop failure ends the flow as Jabber would see it (no answer)."""
    steps: list[StepTime] = []
    step: Step = next(flow)
    try:
        while True:
            started = time.perf_counter()
            try:
                answer = await hop.request(step.method, step.url, headers=_headers(step), data=_form(step))
            except HopError as exc:
                steps.append(StepTime(step.name, 0, (time.perf_counter() - started) * 1000, exc.kind))
                flow.close()
                outcome = Outcome(False, "oauth", step.name, f"cannot reach {exc.url}: {exc.kind}")
                return Attempt(outcome, tuple(steps), exc.kind)
            steps.append(StepTime(step.name, answer.status, (time.perf_counter() - started) * 1000))
            step = flow.send(Reply(answer.status, answer.reason, answer.headers, answer.body))
    except StopIteration as done:
        outcome = done.value
        return Attempt(outcome, tuple(steps), error_kind(outcome, steps))


def _form(step: Step) -> str | None:
    return urlencode(step.form) if step.form is not None else None


def _headers(step: Step) -> dict[str, str]:
    if step.form is None:
        return step.headers
    return {**step.headers, "Content-Type": "application/x-www-form-urlencoded"}


class LoadUser:
    """One Jabber user of a storm: logs in once, then stays connected with periodic keep-alives."""

    def __init__(self, lab: Lab, resolver: LabResolver, log: CsfLog, userid: str, password: str,
                 seed: int, timeout: float = 30.0, keepalive: float = 15.0, session: str = "http") -> None:
        """``keepalive``: how long the user's idle HTTP connection stays open between its requests."""
        if session not in SESSIONS:
            raise ValueError(f"session must be one of {SESSIONS}, got {session!r}")
        self.userid = userid
        self.session = session
        self._lab, self._resolver, self._password, self._timeout = lab, resolver, password, timeout
        self.xmpp: XmppConnection | None = None
        self._pings = 0
        rng = random.Random(seed)
        client = lab.client(lab.jabber.client_id)
        edge = lab.srv[0] if lab.srv else None
        origin = f"{lab.edge.listener.scheme}://{edge.target}:{edge.port}" if edge else lab.edge.listener.origin
        self.settings = Settings(
            domain=lab.domain, edge_origin=origin, userid=userid, password=password,
            client_id=lab.jabber.client_id, client_secret=client.client_secret if client else "",
            device_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), version=lab.jabber.version,
            state=str(rng.randrange(10**9, 2 * 10**9)),
        )
        self.log = log
        self.hop = HopClient(resolver, lab.jabber.address, timeout=timeout, keepalive=keepalive)
        self.access_token = ""

    async def login(self) -> Attempt:
        attempt = await drive(login(self.settings, self.log), self.hop)
        if attempt.outcome.ok:
            self.access_token = attempt.outcome.access_token
        return attempt

    async def connect(self, outcome: Outcome) -> Attempt:
        """After the HTTP login: sign in over XMPP and keep only that stream (``session="xmpp"``)."""
        client = JabberClient(self._lab, self.log.clock, self._resolver, self.log.sink, self.userid, self._password)
        started = time.perf_counter()
        result, self.xmpp = await connect_xmpp(client, outcome)
        elapsed = (time.perf_counter() - started) * 1000
        await self.hop.close()
        kind = "" if result.ok else f"xmpp {result.failed_step}"
        step = StepTime("xmpp_sign_in", 200 if result.ok else 0, elapsed, kind)
        return Attempt(Outcome(result.ok, "xmpp", result.failed_step, result.reason), (step,), kind)

    async def keepalive(self) -> Attempt:
        """An XMPP ping (XEP-0199) on the stream, or ``get_edge_config`` on the HTTP connection the login used."""
        if self.xmpp is None:
            return await drive(edge_config(self.settings, self.access_token, self.log), self.hop)
        self._pings += 1
        ping = element("iq", {"type": "get", "id": f"ping{self._pings}"}, element("ping", ns=PING))
        started = time.perf_counter()
        try:
            self.xmpp.writer.write(render(ping).encode())
            async with asyncio.timeout(self._timeout):
                while True:  # presence and messages may come first; the answer carries the ping's id
                    answer = await self.xmpp.link.stanza(self._timeout)
                    if answer.local == "iq" and answer.element.get("id") == ping.get("id"):
                        break
            ok = answer.element.get("type") == "result"
            kind = "" if ok else "xmpp ping refused"
        except (ConnectionError, TimeoutError) as exc:
            ok, kind = False, f"xmpp ping: {type(exc).__name__}"
        step = StepTime("xmpp_ping", 200 if ok else 0, (time.perf_counter() - started) * 1000, kind)
        return Attempt(Outcome(ok, "xmpp", None if ok else "xmpp_ping", kind), (step,), kind)

    async def close(self) -> None:
        if self.xmpp is not None:
            await self.xmpp.close()
            self.xmpp = None
        await self.hop.close()
