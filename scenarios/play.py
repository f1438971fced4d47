"""Play a scenario on a fresh lab: inject its faults, run its steps, check every expectation.

Each step's outcome is compared with what the scenario says it must be; at the end the client's final state and the
log signatures are checked on every node's log. The result says which expectations held, where the login broke, and
keeps the request sequence of every login so the CLI can show it as ``mrasim run`` does.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from common.basic import basic_header
from common.hop import HopError
from common.clock import parse_step
from common.domain import ProxyDescriptor
from jabber.client import JabberClient
from jabber.flow import Outcome
from jabber.sipphone import SipPhone
from jabber.xmppclient import XmppConnection, connect_xmpp
from lab.adminclient import lab_admin
from lab.running import RunningLab, start_lab
from lab.runner import Entry, run_login
from scenarios.scenario import Scenario, Step


@dataclass
class StepResult:
    index: int
    step: Step
    summary: str
    problems: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class ScenarioResult:
    scenario: Scenario
    steps: list[StepResult]
    problems: list[str]
    elapsed_ms: float
    broke_at: str | None = None

    @property
    def passed(self) -> bool:
        return not self.problems and all(step.passed for step in self.steps)


@dataclass
class _Run:
    running: RunningLab
    clients: dict[str, JabberClient] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    logins: dict[str, Outcome] = field(default_factory=dict)
    held: list[XmppConnection] = field(default_factory=list)
    phones: dict[str, SipPhone] = field(default_factory=dict)
    broke_at: str | None = None


async def play(scenario: Scenario, out: Path | None = None,
               on_step: Callable[[StepResult], None] | None = None,
               on_lab: Callable[[RunningLab], None] | None = None) -> ScenarioResult:
    """``on_lab`` sees the fresh lab before the faults and the first step (the training page follows its logs)."""
    started = time.perf_counter()
    running = await start_lab(scenario.lab.with_ephemeral_ports(), out)
    if on_lab is not None:
        on_lab(running)
    run = _Run(running)
    results: list[StepResult] = []
    problems: list[str] = []
    try:
        for fault in scenario.faults:
            running.faults.add(fault)
        for index, step in enumerate(scenario.steps, start=1):
            result = await _play_step(run, step, index)
            results.append(result)
            if on_step is not None:
                on_step(result)
        await running.settle()
        state = run.states.get("jabber", "logged_out")
        if scenario.final is not None and state != scenario.final:
            problems.append(f"final state: expected {scenario.final}, got {state}")
        for signature in scenario.logs:
            found = re.search(signature.pattern, running.log_text(signature.node)) is not None
            if found != signature.present:
                problems.append(f"{signature.node} log: {signature.pattern!r} "
                                f"{'missing' if signature.present else 'present but must not be'}")
    finally:
        for connection in run.held:
            await connection.close()
        for phone in run.phones.values():
            await phone.close()
        await running.stop()
    return ScenarioResult(scenario, results, problems, (time.perf_counter() - started) * 1000, run.broke_at)


def _client(run: _Run, step: Step) -> JabberClient:
    client = run.clients.get(step.client)
    if client is None or (step.action == "login" and step.user and step.user != client.userid):
        client = run.running.jabber(step.user, step.password)
        run.clients[step.client] = client
    return client


async def _play_step(run: _Run, step: Step, index: int) -> StepResult:
    result = StepResult(index, step, "")
    for _ in range(step.repeat):
        result = await _act(run, step, index)
    return result


async def _act(run: _Run, step: Step, index: int) -> StepResult:
    running = run.running
    client = _client(run, step)
    result = StepResult(index, step, "")
    outcome: Outcome | None = None
    status: int | None = None
    if step.action == "login":
        outcome, result.entries = await run_login(running, client=client)
        run.logins[step.client] = outcome
    elif step.action == "xmpp":
        outcome = await _xmpp(run, client, step)
    elif step.action == "xconfiguration":
        status, text = await _admin(running, step)
        result.summary = f"xConfiguration {step.command!r}: {_echo(step.command, text) or status}"
    elif step.action == "refresh":
        outcome = await client.refresh()
    elif step.action == "edge_config":
        outcome = await client.get_edge_config()
    elif step.action == "session":
        session = await client.ensure_session()
        run.states[step.client] = "logged_in" if session != "failed" else "logged_out"
        result.summary = f"session: {session}"
        if session in ("failed", "relogin") and run.broke_at is None:
            run.broke_at = (f"step {index} (session): " + (
                "the refresh was refused and the full login failed too" if session == "failed"
                else "the refresh was refused; a full login was needed"))
        if step.expect_session is not None and session != step.expect_session:
            result.problems.append(f"session: expected {step.expect_session}, got {session}")
        return result
    elif step.action == "clock":
        running.clock.advance(parse_step(step.step))
        result.summary = f"lab clock {step.step} → {running.clock.now():%Y-%m-%d %H:%M}"
    elif step.action == "restart":
        await running.restart(step.node)
        result.summary = f"restarted {step.node}"
    elif step.action == "stop":
        await running.nodes.pop(step.node).stop()
        result.summary = f"stopped {step.node}"
    elif step.action == "skew":
        running.set_skew(step.node, step.seconds)
        result.summary = f"{step.node} clock {step.seconds:+.0f} s"
    elif step.action in ("cucm", "xcommand"):
        status, text = await _admin(running, step)
        result.summary = f"{step.action} {step.command!r}: {text.splitlines()[0] if text else status}"
    elif step.action == "revoke":
        status = await _revoke(running, client, step)
        result.summary = f"revoke {client.userid}: HTTP {status}"
    elif step.action in ("register", "unregister"):
        outcome = await _register(run, client, step)
    elif step.action == "unity_mailbox":
        status = await _mailbox(running, client)
        result.summary = f"voicemail through the edge: HTTP {status}"
    if outcome is not None:
        _record(run, step, outcome, result)
        status = outcome.status if not outcome.ok else 200
    if step.expect_status is not None and status != step.expect_status:
        result.problems.append(f"status: expected {step.expect_status}, got {status}")
    return result


def _record(run: _Run, step: Step, outcome: Outcome, result: StepResult) -> None:
    if outcome.ok:
        run.states[step.client] = "logged_in"
        result.summary = f"{step.action}: ok ({outcome.path})"
    else:
        if step.action in ("login", "refresh", "xmpp"):
            run.states[step.client] = "logged_out"
        result.summary = f"{step.action}: FAILED at {outcome.failed_step}: {outcome.reason}"
        if run.broke_at is None:
            run.broke_at = f"step {result.index} ({step.action}) at {outcome.failed_step}: {outcome.reason}"
    if step.expect_ok is not None and outcome.ok != step.expect_ok:
        result.problems.append(f"outcome: expected {'success' if step.expect_ok else 'failure'}, got "
                               f"{'success' if outcome.ok else 'failure: ' + outcome.reason}")
    if step.expect_failed_step is not None and outcome.failed_step != step.expect_failed_step:
        result.problems.append(f"failed step: expected {step.expect_failed_step}, got {outcome.failed_step}")
    if step.expect_reason is not None and not re.search(step.expect_reason, outcome.reason):
        result.problems.append(f"reason: expected /{step.expect_reason}/, got {outcome.reason!r}")


def _echo(command: str, output: str) -> str:
    """The line of an xConfiguration answer that shows the setting the step named (the answer lists them all)."""
    words = command.replace(":", " ").split()
    setting = words[1] if len(words) > 1 and words[0].lower() == "collaborationedge" else (words[0] if words else "")
    lines = [line for line in output.splitlines() if line.startswith("*c")]
    return next((line for line in lines if setting and f" {setting.lower()}:" in line.lower()),
                lines[0] if lines else "")


async def _admin(running: RunningLab, step: Step) -> tuple[int, str]:
    if step.action in ("xcommand", "xconfiguration"):
        node, kind = "expressway-c", step.action
    else:
        cluster = running.lab.clusters[0]
        node, kind = step.node or cluster.node_name(cluster.listener), "cli"
    status, data = await lab_admin(running, node, step.command, kind)
    return status, str(data.get("output", data.get("error", "")))


async def _xmpp(run: _Run, client: JabberClient, step: Step) -> Outcome:
    """Sign in over XMPP through the edge after this client's last HTTP login; ``hold`` keeps the session open."""
    login = run.logins.get(step.client)
    if login is None or not login.ok:
        return Outcome(False, "xmpp", failed_step="xmpp", reason="no successful HTTP login to continue from")
    result, connection = await connect_xmpp(client, login, step.resource)
    if connection is not None:
        if step.hold:
            run.held.append(connection)
        else:
            await connection.close()
    if result.ok:
        return dataclasses.replace(login, path=f"xmpp {result.mechanism}")
    return Outcome(False, "xmpp", failed_step=f"xmpp {result.failed_step}", reason=result.reason)


async def _register(run: _Run, client: JabberClient, step: Step) -> Outcome:
    """The softphone's REGISTER (the first, or a refresh of the one before) through the edge, as an Outcome."""
    phone = run.phones.get(step.client)
    if phone is None:
        await run.running.wait_sip_zone(2.0)
        phone = run.phones[step.client] = SipPhone(client)
    if step.action == "unregister":
        result = await phone.unregister()
    else:
        result = await (phone.refresh() if phone.registered else phone.register())
    failed = None if result.ok else (result.steps[-1][0] if result.steps else "connect")
    return Outcome(result.ok, "sip", failed, result.reason, status=result.status)


async def _revoke(running: RunningLab, client: JabberClient, step: Step) -> int:
    cluster = running.lab.clusters[0]
    query = f"user_id={client.userid}" + (f"&client_id={step.client_id}" if step.client_id else "")
    scheme = "https" if running.resolver.tls else "http"  # the administrator's tool checks no certificate
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(f"{scheme}://127.0.0.1:{running.cucm[0].running.port}/ssosp/token/revoke?{query}",
                               headers={"Host": f"{cluster.listener.host}:{cluster.listener.port}",
                                        "Authorization": basic_header(cluster.admin_user,
                                                                      cluster.admin_password)}) as resp:
            return resp.status


async def _mailbox(running: RunningLab, client: JabberClient) -> int:
    unity = running.lab.unity
    if unity is None:
        return 404
    target = ProxyDescriptor(running.lab.domain, "https", unity.listener.host, unity.listener.port).encode()
    async with client.hop() as hop:
        try:
            answer = await hop.request("GET", f"{client.edge_origin()}/{target}/vmrest/mailbox",
                                       headers={"Authorization": f"Bearer {client.access_token}"})
        except HopError:
            return 502
        return answer.status
