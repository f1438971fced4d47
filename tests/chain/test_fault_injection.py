"""Faults injected at every hop of a running lab: each shows where the real product would show it, and every other
node keeps serving."""

from __future__ import annotations

import time

from common.faults import Count, Fault, Match
from common.logformats.expressway import parse_log
from lab.running import RunningLab
from lab.runner import run_login


async def test_cucm_answering_503_to_the_token_request_fails_that_step_once(running: RunningLab) -> None:
    running.faults.add(Fault("respond", Match(node="cucm:cluster1", path="/ssosp/token/access_token"),
                             Count(first=1), status=503, body="Service Unavailable"))
    outcome, _ = await run_login(running)
    assert not outcome.ok and outcome.failed_step == "access_token" and outcome.reason.startswith("HTTP 503")
    assert (await run_login(running))[0].ok


async def test_ssh_tunnel_down_gives_next_hop_connection_failed(running: RunningLab) -> None:
    running.faults.add(Fault("refuse", Match(node="expressway-c", source="expressway-e")))
    outcome, entries = await run_login(running)
    assert not outcome.ok and outcome.failed_step == "get_edge_sso"
    assert entries[0].status == 502
    assert any(line.get("Status") == "502" for line in parse_log(running.log_text("expressway-e")))
    running.faults.clear()
    assert (await run_login(running))[0].ok


async def test_a_black_hole_times_out_and_a_reset_fails_fast(running: RunningLab) -> None:
    running.faults.add(Fault("blackhole", Match(node="cucm:cluster1"), Count(first=1), seconds=0.2))
    outcome, _ = await run_login(running)
    assert not outcome.ok and outcome.failed_step == "localauthentication"
    running.faults.clear()
    running.faults.add(Fault("reset", Match(node="cucm:cluster1", path="authorize_proxy")))
    outcome, _ = await run_login(running)
    assert outcome.failed_step == "localauthentication"
    assert "Connection reset by peer (fault)" in running.log_text("expressway-c")


async def test_latency_between_two_nodes_slows_only_that_hop(running: RunningLab) -> None:
    running.faults.add(Fault("latency", Match(node="cucm:cluster1", source="expressway-c",
                                              path="/cucm-uds/clusterUser"), seconds=0.15))
    started = time.perf_counter()
    outcome, entries = await run_login(running)
    assert outcome.ok
    assert time.perf_counter() - started >= 0.3
    lookups = [e for e in entries if e.name == "edgeconfigprovision"]
    assert lookups and all(e.elapsed_ms >= 100 for e in lookups)


async def test_a_dropped_connection_and_a_corrupt_body_fail_the_client_not_the_lab(running: RunningLab) -> None:
    drop = running.faults.add(Fault("drop", Match(node="expressway-e", path="get_edge_sso")))
    outcome, _ = await run_login(running)
    assert not outcome.ok and outcome.failed_step == "get_edge_sso"
    running.faults.remove(drop.id)
    running.faults.add(Fault("corrupt", Match(node="expressway-c", path="get_edge_config"), Count(first=1)))
    outcome, _ = await run_login(running)
    assert not outcome.ok and outcome.failed_step == "get_edge_config"
    assert (await run_login(running))[0].ok


async def test_a_fault_for_one_user_leaves_the_others_alone(running: RunningLab) -> None:
    running.faults.add(Fault("respond", Match(node="expressway-c", path="localauthentication",
                                              user="aokanlawon"), status=500))
    assert not (await run_login(running))[0].ok
    assert (await run_login(running, userid="ntanborgeson", password="Cisco!456"))[0].ok


async def test_a_node_clock_running_ahead_expires_tokens_early_there(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    running.set_skew("expressway-c", 3700)
    assert not (await client.get_edge_config()).ok
    running.set_skew("expressway-c", 0)
    assert (await client.get_edge_config()).ok
