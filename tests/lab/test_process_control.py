"""The control API of ``mrasim up --processes``: nodes restarted, stopped and started as processes, the lab staying up
while they are, and a plain 501 for what only the single-process lab can do."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path
from typing import Any

import aiohttp

from common.clock import LabClock
from common.config import DEFAULT_LAB
from common.nodelog import CsfLog, LineSink

from load.client import LoadUser
from lab.forkserver import ForkedProcess
from lab.processcontrol import start_process_control
from lab.processes import ProcessLab, network, read_pids, with_free_ports
from lab.processrun import start_process_run
from lab.runner import run_login
from tests.probes import parent_of


async def call(url: str, method: str, path: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{url}{path}") as resp:
            return resp.status, await resp.json()


async def login_ok(running: ProcessLab) -> bool:
    """A full Jabber login through Expressway-E, with a fresh client each time (no kept connection)."""
    lab = running.lab
    user = lab.user(lab.jabber.userid)
    assert user is not None
    client = LoadUser(lab, network(lab, running.state), CsfLog(LabClock(), LineSink()), user.userid, user.password,
                      seed=1)
    try:
        attempt = await client.login()
    finally:
        await client.close()
    assert attempt.outcome.ok, attempt.outcome.reason
    return True


async def test_nodes_in_processes_are_restarted_stopped_and_reported_through_the_control_api(tmp_path: Path) -> None:
    """The lab of ``mrasim run --sso --processes``: the SAML IdP is a node process too (issue 14), every login goes
    through it, and C and the IdP keep their SAML trust across restarts."""
    logs = tmp_path / "logs"
    run = await start_process_run(DEFAULT_LAB, logs, sso=True)
    running = run.processes
    control = await start_process_control(running)
    url = f"http://127.0.0.1:{control.port}"
    watch = asyncio.ensure_future(running.wait_unexpected_exit())
    try:
        outcome, entries = await run_login(run)  # type: ignore[arg-type]  # as 'mrasim run --processes' drives it
        assert outcome.ok and outcome.path == "sso", outcome.reason
        assert [e.name for e in entries if e.number is not None][2:5] == ["idp_sso", "idp_login", "samlauthz"]
        assert {"authorize_proxy", "edgeconfigprovision"} <= {e.name for e in entries if e.hop == "C → CUCM"}
        assert "Login by 'aokanlawon' succeeded" in (logs / "idp.log").read_text()
        core_log = (logs / "expressway-c.log").read_text()
        old_core = running.node("expressway-c").process.pid

        status, restarted = await call(url, "POST", "/nodes/expressway-c/restart")
        assert status == 200 and restarted["restarted"] == "expressway-c" and restarted["alive"]
        assert restarted["pid"] != old_core and read_pids(running.state)["expressway-c"] == restarted["pid"]
        # forked (lab/forkserver.py), and still this supervisor's own child
        assert isinstance(running.node("expressway-c").process, ForkedProcess)
        assert parent_of(restarted["pid"]) == os.getpid()
        assert await login_ok(running)  # C still trusts the IdP: its imported metadata is under --state
        status, idp = await call(url, "POST", "/nodes/idp/restart")
        assert status == 200 and idp["restarted"] == "idp" and idp["alive"]
        assert await login_ok(running)  # and the IdP still trusts C, and signs with the key C imported
        after = (logs / "expressway-c.log").read_text()
        assert after.startswith(core_log) and len(after) > len(core_log)  # the same log, appended to

        cucm_pid = running.node("cucm:cluster1").process.pid
        status, stopped = await call(url, "POST", "/nodes/cucm:cluster1/stop")
        assert status == 200 and stopped == {"stopped": "cucm:cluster1", "pid": cucm_pid, "alive": False}
        status, report = await call(url, "GET", "/status")
        assert status == 200 and report["mode"] == "processes"
        cucm = report["nodes"]["cucm:cluster1"]
        assert cucm["alive"] is False and cucm["pid"] == cucm_pid
        assert report["nodes"]["expressway-e"]["alive"] is True
        assert report["nodes"]["expressway-c"]["pid"] == restarted["pid"]
        listener = running.lab.listeners()["expressway-e"]
        assert report["nodes"]["expressway-e"]["listening"] == f"{listener.address}:{listener.listen_port}"
        assert report["nodes"]["idp"]["alive"] and report["nodes"]["idp"]["origin"] == "https://idp.lab.example:443"
        assert "idp" not in report["not_served"]
        assert (await call(url, "POST", "/nodes/cucm:cluster1/stop"))[0] == 409
        assert (await call(url, "POST", "/nodes/nowhere/restart"))[0] == 404

        status, answer = await call(url, "POST", "/clock")
        assert status == 501 and "mrasim up" in answer["error"] and "without --processes" in answer["error"]
        assert (await call(url, "GET", "/faults"))[0] == 501

        status, started = await call(url, "POST", "/nodes/cucm:cluster1/start")
        assert status == 200 and started["alive"] and started["pid"] != cucm_pid
        assert await login_ok(running)

        # Neither the restart nor the stop ended the lab; a node that dies on its own still does — the new C too.
        assert not watch.done()
        running.node("expressway-c").process.send_signal(signal.SIGKILL)
        assert (await watch).name == "expressway-c"
    finally:
        watch.cancel()
        await control.stop()
        await run.stop()


def test_free_ports_for_a_lab_in_processes_are_distinct_and_outside_the_ephemeral_range() -> None:
    """A port inside the ephemeral range could go to an outgoing connection while a node restarts (or before the
    last node starts), and the node would then fail to bind it."""
    text = with_free_ports(DEFAULT_LAB.read_text())
    ports = [int(p) for p in re.findall(r"(?m)^\w*(?:listen_port|control_port)\s*=\s*(\d+)", text)]
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert len(ports) == len(set(ports)) >= 5 and all(port < low for port in ports)
