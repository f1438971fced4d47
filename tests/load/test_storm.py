"""The login storm at small scale: every login works, every Txn-id E and C received was answered (from their logs),
and the pieces the storm is built from — arrivals, storm users, the transaction check — behave as documented."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from pathlib import Path

import pytest

from common.clock import LabClock
from common.config import DEFAULT_LAB, load_lab, parse_lab
from common.nodelog import CsfLog, LineSink

from lab.running import start_lab
from common.stormusers import with_storm_users
from load.client import LoadUser
from load.stats import histogram, percentile, proc_memory
from lab.processes import network, read_pids, set_debug, set_lab_key, start_processes, with_free_ports
from load.storm import MemoryWatch, Storm, StormPlan, arrivals, render_report, report_data
from load.txncheck import check_lines, check_logs

LOGIN_REQUESTS = 8        # client requests Expressway-E receives per full login
RELAYED_REQUESTS = 6      # of which E relays to Expressway-C (E answers authorize and OAuthcb itself)


async def test_a_small_storm_logs_everyone_in_and_loses_no_transaction(tmp_path: Path) -> None:
    lab = dataclasses.replace(with_storm_users(load_lab().with_ephemeral_ports(), 50), debug=True)
    running = await start_lab(lab, tmp_path)
    plan = StormPlan(rate=500.0, ramp=0.0, users=50, seed=3, keepalive=0.0)
    storm = Storm(lab, running.resolver, CsfLog(running.clock, running.sinks["jabber"], debug=True), plan,
                  MemoryWatch(lambda: proc_memory()[0]), lab_users=50)
    try:
        stats = await storm.run()
    finally:
        await running.stop()
    assert (stats.started, stats.ok, stats.failed) == (50, 50, 0), stats.errors
    assert stats.requests == stats.answered == 50 * LOGIN_REQUESTS
    assert sorted(stats.per_step) == sorted(["get_edge_sso", "authorize", "localauthentication", "OAuthcb",
                                             "access_token", "get_edge_config", "uds_user", "uds_devices"])
    edge, core = check_logs(tmp_path)
    assert edge.verifiable and core.verifiable
    assert (edge.received, edge.answered, edge.unanswered) == (50 * LOGIN_REQUESTS, 50 * LOGIN_REQUESTS, ())
    assert (core.received, core.answered, core.unanswered) == (50 * RELAYED_REQUESTS, 50 * RELAYED_REQUESTS, ())
    report = render_report(storm, "the embedded lab", [edge.render(), core.render()], 0)
    assert "50 ok, 0 shed (503 Retry-After), 0 failed" in report and "none lost" in report
    data = json.loads(json.dumps(report_data(storm, "the embedded lab", [], 0)))  # what 'mrasim storm --json' prints
    assert data["logins"] == {"started": 50, "ok": 50, "shed": 0, "failed": 0}
    assert data["full_login_ms"]["n"] == 50 and set(data["per_step_ms"]) == set(stats.per_step)


@pytest.mark.parametrize("session", ["xmpp", "http"])
async def test_connected_clients_keep_their_session_alive(tmp_path: Path, session: str) -> None:
    """XMPP: signed in through the edge and pinging over the stream; HTTP: get_edge_config on the kept connection."""
    lab = dataclasses.replace(with_storm_users(load_lab().with_ephemeral_ports(), 5), debug=False)
    running = await start_lab(lab, tmp_path)
    plan = StormPlan(rate=500.0, ramp=0.0, users=5, seed=1, keepalive=0.05, hold=0.3, session=session)
    storm = Storm(lab, running.resolver, CsfLog(running.clock, running.sinks["jabber"]), plan,
                  MemoryWatch(lambda: 0), lab_users=5)
    try:
        stats = await storm.run()
    finally:
        await running.stop()
    assert stats.ok == storm.connected == 5 and not stats.errors
    assert stats.keepalives and not stats.keepalive_errors
    assert ("xmpp_sign_in" in stats.per_step) == (session == "xmpp")
    assert stats.requests == stats.answered == 5 * LOGIN_REQUESTS + len(stats.keepalives)


def test_arrivals_are_reproducible_from_the_seed_and_follow_the_ramp() -> None:
    plan = StormPlan(rate=100.0, ramp=10.0, users=2000, seed=42)
    times = list(arrivals(plan))
    assert times == list(arrivals(plan)) and times != list(arrivals(dataclasses.replace(plan, seed=43)))
    assert len(times) == 2000 and times == sorted(times)
    first, last = sum(t < 1 for t in times), sum(9 <= t < 10 for t in times)
    assert first < last / 3  # ramping: second 1 carries about a tenth of second 10
    timed = list(arrivals(StormPlan(rate=50.0, ramp=0.0, duration=2.0, seed=1)))
    assert timed and max(timed) < 2.0


def test_storm_users_reach_a_lab_in_another_process_through_a_copy_of_the_lab_file() -> None:
    text = set_lab_key(DEFAULT_LAB.read_text(), "storm_users", "3")
    lab = parse_lab(tomllib.loads(text))
    generated = with_storm_users(load_lab(), 3)
    assert lab.users == generated.users
    assert lab.user("storm00003") is not None and lab.user("storm00003").devices[0].name == "CSFSTORM00003"


def test_set_debug_changes_only_the_lab_table() -> None:
    text = DEFAULT_LAB.read_text()
    quiet = tomllib.loads(set_debug(text, False))
    assert quiet["lab"]["debug"] is False
    assert {k: v for k, v in quiet.items() if k != "lab"} == {k: v for k, v in tomllib.loads(text).items() if k != "lab"}
    assert tomllib.loads(set_debug(text.replace("debug = true", "# no debug key"), False))["lab"]["debug"] is False


def test_the_transaction_check_finds_a_receive_without_an_answer() -> None:
    def line(level: str, fields: str) -> str:
        return (f'2026-01-01T00:00:00.000-06:00 expe traffic_server[1]: UTCTime="2026-01-01 06:00:00,000" '
                f'Module="network.http.trafficserver" Level="{level}": {fields}')

    lines = [
        line("INFO", 'Detail="Receive Request" Txn-id="2004" Src-ip="127.0.0.1"'),
        line("DEBUG", 'Detail="Sending Response" Txn-id="2004" Dst-ip="127.0.0.1"'),
        line("INFO", 'Detail="Receive Request" Txn-id="2005" Src-ip="127.0.0.1"'),
        line("INFO", 'Event="Sending HTTP error response" Txn-id="2005" Status="401"'),
        line("INFO", 'Detail="Receive Request" Txn-id="2006" Src-ip="127.0.0.1"'),
        "HTTPMSG:", '|GET / HTTP/1.1|',
    ]
    report = check_lines("expressway-e", lines)
    assert (report.received, report.answered, report.unanswered, report.lost) == (3, 2, (2006,), 1)
    assert "1 LOST" in report.render()
    info_only = check_lines("expressway-e", [lines[0], lines[2]])
    assert not info_only.verifiable and info_only.lost == 0 and "not logged at INFO" in info_only.render()


def test_percentiles_are_nearest_rank_and_histograms_drop_empty_ends() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99), percentile([], 50)) == (50.0, 99.0, 0.0)
    assert histogram([0.5, 3, 3, 700]) == [("<1 ms", 1), ("1-2 ms", 0), ("2-5 ms", 2), ("5-10 ms", 0),
                                           ("10-20 ms", 0), ("20-50 ms", 0), ("50-100 ms", 0), ("100-200 ms", 0),
                                           ("200-500 ms", 0), ("500-1000 ms", 1)]


async def test_the_lab_in_processes_serves_a_storm_user_over_http_and_xmpp_and_stops_cleanly(tmp_path: Path) -> None:
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    running = await start_processes(lab_file, tmp_path / "logs", tmp_path / "state", storm_users=2, debug=True)
    try:
        assert [node.name for node in running.nodes] == ["cucm:cluster1", "expressway-e", "imp:imp", "expressway-c"]
        assert read_pids(tmp_path / "state") == running.pids()
        user = LoadUser(running.lab, network(running.lab, tmp_path / "state"), CsfLog(LabClock(), LineSink()),
                        "storm00002", "Storm!00002", seed=1, session="xmpp")
        attempt = await user.login()
        connected = await user.connect(attempt.outcome)
        ping = await user.keepalive()
        await user.close()
    finally:
        await running.stop()
    assert attempt.outcome.ok, attempt.outcome.reason
    assert connected.outcome.ok and ping.outcome.ok, (connected.error_kind, ping.error_kind)
    assert all(node.process.returncode is not None for node in running.nodes)
    edge, core = check_logs(tmp_path / "logs")
    assert (edge.received, edge.lost, core.received, core.lost) == (LOGIN_REQUESTS, 0, RELAYED_REQUESTS, 0)


def test_the_unwritten_log_of_a_load_run_renders_and_keeps_no_line() -> None:
    """``benchmarks.throughput`` keeps no Jabber log: its log object takes every line of a login and keeps none."""
    from jabber import points
    from load.client import UnwrittenLog

    log = UnwrittenLog()
    log.write("INFO", points.TOKEN_REUSE, "TokenReuse enabled for 1001")
    log.write("ERROR", points.FAILURE, "authorize failed: HTTP 500")
    assert log.sink.text() == "" and not log.sink.records and log.sink.path is None
