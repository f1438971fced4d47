"""Issue 14: the IdP is a servable node — its own process and log under ``up --processes``, listed by the control API,
restarted with its trust kept — and ``mrasim run --sso --processes`` signs in through it."""

from __future__ import annotations

from pathlib import Path

from common.config import DEFAULT_LAB
from lab.processcontrol import process_control_app
from lab.processrun import start_process_run
from lab.runner import run_login


async def test_an_sso_login_runs_through_the_idp_in_its_own_process_and_survives_its_restart(tmp_path: Path) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    logs = tmp_path / "logs"
    running = await start_process_run(DEFAULT_LAB, logs, sso=True)
    try:
        assert "idp" in running.processes.pids() and "idp" not in running.processes.skipped
        outcome, entries = await run_login(running)  # type: ignore[arg-type]
        assert outcome.ok and outcome.path == "sso", outcome.reason
        assert [e.name for e in entries if e.number is not None][:5] == \
            ["get_edge_sso", "authorize", "idp_sso", "idp_login", "samlauthz"]
        assert any(e.name == "authorize_proxy" and e.hop == "C → CUCM" for e in entries)  # read from C's log file
        assert "Login by 'aokanlawon' succeeded" in (logs / "idp.log").read_text()
        async with TestClient(TestServer(process_control_app(running.processes))) as control:
            report = await (await control.get("/status")).json()
            assert report["nodes"]["idp"]["alive"] and report["nodes"]["idp"]["origin"].startswith("https://idp.")
            assert "idp" not in report["not_served"]
            assert (await control.post("/nodes/idp/restart")).status == 200
        outcome, _ = await run_login(running)  # type: ignore[arg-type]
        assert outcome.ok, outcome.reason  # the restarted IdP kept its signing key and C's metadata
    finally:
        await running.stop()
