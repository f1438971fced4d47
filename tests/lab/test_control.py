"""The lab's control API: everything a scenario file does, done live to a running lab."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from common.faults import Count, Fault, Match
from common.logformats.expressway import parse_log
from lab.control import start_control
from lab.running import RunningLab
from lab.runner import run_login


@pytest.fixture
async def control(running: RunningLab) -> AsyncIterator[str]:
    server = await start_control(running)
    yield f"http://127.0.0.1:{server.port}"
    await server.stop()


async def call(url: str, method: str, path: str, body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as session:
        async with session.request(method, f"{url}{path}", json=body) as resp:
            return resp.status, await resp.json()


async def test_faults_are_added_listed_and_cleared_live(running: RunningLab, control: str) -> None:
    status, added = await call(control, "POST", "/faults", {"kind": "refuse", "node": "expressway-c",
                                                              "source": "expressway-e"})
    assert status == 200 and added["added"] == {"id": "f1", "kind": "refuse", "node": "expressway-c",
                                                "source": "expressway-e"}
    outcome, _ = await run_login(running)
    assert outcome.failed_step == "get_edge_sso" and outcome.status == 502
    _, listed = await call(control, "GET", "/faults")
    assert listed["faults"][0]["hits"] == 1
    assert (await call(control, "DELETE", "/faults/f1"))[0] == 200
    assert (await call(control, "DELETE", "/faults/f1"))[0] == 404
    assert (await run_login(running))[0].ok


@pytest.mark.parametrize(("body", "message"), [
    ({"kind": "meteor"}, "unknown fault kind"),
    ({"kind": "refuse", "node": "nowhere"}, "unknown node"),
    ({"kind": "respond", "first": 1, "after": 1}, "can never match"),
])
async def test_a_bad_fault_is_refused_with_the_reason(control: str, body: dict, message: str) -> None:  # type: ignore[type-arg]
    status, answer = await call(control, "POST", "/faults", body)
    assert status == 400 and message in answer["error"]


async def test_enterprise_parameters_change_live_and_are_validated(running: RunningLab, control: str) -> None:
    status, answer = await call(control, "POST", "/clusters/cluster1/enterprise",
                                {"oauth_access_token_expiry_minutes": 5000})
    assert status == 400 and "OAuth Access Token Expiry Timer" in answer["error"]
    status, answer = await call(control, "POST", "/clusters/cluster1/enterprise",
                                {"oauth_access_token_expiry_minutes": 5})
    assert status == 200 and answer["enterprise"]["oauth_access_token_expiry_minutes"] == 5
    client = running.jabber()
    outcome, _ = await client.login()
    assert outcome.ok and outcome.expires_in == 300
    await call(control, "POST", "/clusters/cluster1/enterprise", {"oauth_refresh_login_flow": "Disabled"})
    assert (await run_login(running))[0].failed_step == "localauthentication"


async def test_nodes_stop_start_and_skew_live(running: RunningLab, control: str) -> None:
    assert (await call(control, "POST", "/nodes/cucm:cluster1/stop"))[0] == 200
    outcome, _ = await run_login(running)
    assert outcome.failed_step == "localauthentication" and outcome.status == 502
    assert (await call(control, "POST", "/nodes/cucm:cluster1/start"))[0] == 200
    assert (await run_login(running))[0].ok
    assert (await call(control, "POST", "/nodes/expressway-c/skew", {"seconds": 900}))[0] == 200
    assert (await run_login(running))[0].status == 403
    assert (await call(control, "POST", "/nodes/nowhere/stop"))[0] == 404


async def test_a_node_killed_mid_request_leaves_no_transaction_unanswered(running: RunningLab) -> None:
    held = running.faults.add(Fault("delay", Match(node="cucm:cluster1", path="authorize_proxy"), Count(first=1),
                                    seconds=0.3))
    login = asyncio.create_task(run_login(running))
    async with asyncio.timeout(60):  # until CUCM holds the request (a slow machine only waits longer)
        while not running.faults.hits(held.id) and not login.done():
            await asyncio.sleep(0.01)
    await running.nodes.pop("cucm:cluster1").stop()
    outcome, _ = await login
    assert not outcome.ok and outcome.failed_step in ("localauthentication", "access_token")
    for node in ("expressway-e", "expressway-c"):
        lines = parse_log(running.log_text(node))
        received = {line.get("Txn-id") for line in lines if line.get("Detail") == "Receive Request"}
        answered = {line.get("Txn-id") for line in lines if line.get("Detail") == "Sending Response"}
        assert received and received == answered, f"{node} left a transaction unanswered"
    assert (await run_login(running, userid="ntanborgeson", password="Cisco!456"))[0].failed_step in (
        "localauthentication", None)
