"""Connection faults on the raw TCP links of the XMPP path (Jabber → E's XMPP port, C → E's XCP port, C → IM&P): each
breaks where the real product would show it, through :func:`common.dial.open_connection`, and the lab keeps serving."""

from __future__ import annotations

import tomllib

from common.config import Lab
from common.faults import Fault, Match
from lab.running import RunningLab, node_names, start_lab
from scenarios.play import play
from common.faulttable import parse_fault
from scenarios.scenario import CATALOG, parse_scenario
from lab.xmpprun import run_sign_in

SASL_QUERY_FAILED = "Failed to query auth component for SASL mechanisms: auth-1.imp-lab-example"


async def test_imp_refusing_c_leaves_the_router_without_mechanisms(running: RunningLab) -> None:
    fault = running.faults.add(Fault("refuse", Match(node="imp:imp", source="expressway-c")))
    outcome, xmpp, _, _ = await run_sign_in(running)
    assert outcome.access_token, "the HTTP part does not cross the refused link"
    assert xmpp is not None and not xmpp.ok and xmpp.failed_step == "sasl"
    core = running.log_text("expressway-c")
    assert SASL_QUERY_FAILED in core
    assert "Cannot connect to auth-1.imp-lab-example: [Errno 111] Connection refused (fault)" in core
    assert running.faults.hits(fault.id) >= 1
    running.faults.clear()
    assert (await run_sign_in(running))[1].ok  # type: ignore[union-attr]


async def test_latency_on_jabbers_xmpp_dial_is_taken_and_sign_in_still_works(running: RunningLab) -> None:
    fault = running.faults.add(Fault("latency", Match(node="expressway-e:xmpp", source="jabber"), seconds=0.05))
    outcome, xmpp, _, _ = await run_sign_in(running)
    assert outcome.ok and xmpp is not None and xmpp.ok
    assert running.faults.hits(fault.id) == 1, "the one XMPP dial, and no HTTP hop, met the fault"


async def test_cs_xcp_dial_to_e_refused_fails_the_stream_cleanly_and_comes_back(lab: Lab) -> None:
    """C dials E's 7400 (E dials nothing inward): with that dial refused, E has no link to give a client's session."""
    running = await start_lab(lab.replace_core(tunnel_retry_min=0.05, tunnel_retry_max=0.2))
    try:
        await _refused_xcp_dial(running)
    finally:
        await running.stop()


async def _refused_xcp_dial(running: RunningLab) -> None:
    fault = running.faults.add(Fault("refuse", Match(node="expressway-e:xcp", source="expressway-c")))
    await running.restart("expressway-c")  # its open links go; every new dial meets the fault
    outcome, xmpp, _, _ = await run_sign_in(running)
    assert outcome.access_token, "HTTP goes through the SSH tunnel, which is not refused"
    assert xmpp is not None and not xmpp.ok
    assert xmpp.failed_step == "stream" and "got <error>" in xmpp.reason, "E ends the stream with a stream error"
    assert "No XCP link from connect-auth-1.expc-lab-example (traversal zone down)" in running.log_text("expressway-e")
    assert 'Detail="XCP failed" Zone="UC Traversal" Peer="expe.lab.example:7400" Reason="Connection refused"' in (
        running.log_text("expressway-c"))
    assert running.core.zone.links["XCP"].text == "Failed: Connection refused"
    assert running.faults.hits(fault.id) >= 1
    running.faults.remove(fault.id)
    assert await running.wait_zone_active(), "C retries on its own"
    assert (await run_sign_in(running))[1].ok  # type: ignore[union-attr]


def test_a_scenario_may_refuse_the_imp_node_to_expressway_c(lab: Lab) -> None:
    fault = parse_fault({"kind": "refuse", "node": "imp:imp", "source": "expressway-c"}, set(node_names(lab)))
    assert fault.kind == "refuse" and fault.match == Match(node="imp:imp", source="expressway-c")


async def test_the_imp_refusal_plays_as_the_stale_realm_does() -> None:
    """imp-realm-stale takes IM&P away by stopping it; a refuse fault from C must show the same signature."""
    data = tomllib.loads((CATALOG / "imp-realm-stale.toml").read_text())
    assert data["steps"][0] == {"do": "stop", "node": "imp:imp"}
    data["steps"] = data["steps"][1:]
    data["faults"] = [{"kind": "refuse", "node": "imp:imp", "source": "expressway-c"}]
    result = await play(parse_scenario(data, "refuse-imp"))
    problems = [f"step {s.index} {s.step.action}: {p}" for s in result.steps for p in s.problems] + result.problems
    assert result.passed, "\n".join(problems)
    assert result.broke_at is not None
