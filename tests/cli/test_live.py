"""The control commands against a running lab, as a user types them: tables by default, JSON with ``--json``, short
node names, units, and errors that say what to do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cli.main import main
from common.config import DEFAULT_LAB, load_lab
from lab.control import start_control
from lab.processes import with_free_ports
from lab.running import RunningLab, start_lab


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[Path, RunningLab]]:
    """``mrasim up`` in this process: the default lab on free fixed ports, with its control API."""
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    running = await start_lab(load_lab(lab_file), tmp_path / "logs", state_dir=tmp_path / "state")
    control = await start_control(running)
    try:
        yield lab_file, running
    finally:
        await control.stop()
        await running.stop()


async def mrasim(capsys: pytest.CaptureFixture[str], lab_file: Path, *words: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, [*words, "--lab", str(lab_file)])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_status_is_a_table_of_every_node_running_or_stopped_with_port_and_skew(
        live: tuple[Path, RunningLab], capsys: pytest.CaptureFixture[str]) -> None:
    lab_file, running = live
    assert (await mrasim(capsys, lab_file, "stop", "cucm"))[1].strip() == "cucm:cluster1 stopped"
    code, out, _ = await mrasim(capsys, lab_file, "skew", "expressway-c", "10m")
    assert code == 0 and out.strip() == "expressway-c runs 10m ahead of the lab clock"
    code, out, _ = await mrasim(capsys, lab_file, "status")
    assert code == 0
    nodes, _, zones = out.partition("\n\n")
    rows = {line.split()[0]: line.split() for line in nodes.splitlines()[2:]}
    assert "Traversal zone" in zones and "SSH tunnel" in zones
    assert rows["cucm:cluster1"][1] == "stopped" and rows["expressway-e"][1] == "running"
    assert rows["expressway-c"][3] == "+10m"
    assert rows["expressway-e"][2] == f"127.0.0.1:{running.edge_port}"
    code, out, _ = await mrasim(capsys, lab_file, "--json", "status")
    assert json.loads(out)["nodes"]["cucm:cluster1"]["state"] == "stopped"
    assert (await mrasim(capsys, lab_file, "start", "cucm"))[0] == 0


async def test_the_clock_moves_forward_and_back_in_the_units_of_every_command(
        live: tuple[Path, RunningLab], capsys: pytest.CaptureFixture[str]) -> None:
    lab_file, running = live
    code, out, _ = await mrasim(capsys, lab_file, "clock", "+61m")
    assert code == 0 and "(+61m from real time)" in out and running.clock.offset == 3660
    code, out, _ = await mrasim(capsys, lab_file, "clock", "-1m")
    assert code == 0 and "(+1h from real time)" in out
    assert (await mrasim(capsys, lab_file, "clock", "-1h"))[1].rstrip().endswith("(real time)")
    assert (await mrasim(capsys, lab_file, "clock", "+1h"))[0] == 0
    code, _, err = await mrasim(capsys, lab_file, "clock", "-2h")
    assert code == 2 and "real time" in err and "skew" in err and "{" not in err
    assert running.clock.offset == 3600


async def test_enterprise_answers_with_the_keys_the_user_typed(live: tuple[Path, RunningLab],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    lab_file, _ = live
    code, out, _ = await mrasim(capsys, lab_file, "enterprise", "oauth_refresh_login_flow=Disabled")
    assert code == 0
    assert any(line.split() == ["oauth_refresh_login_flow", "Disabled"] for line in out.splitlines())
    code, _, err = await mrasim(capsys, lab_file, "enterprise", "oauth_access_token_expiry_minutes")
    assert code == 2 and "KEY=VALUE" in err


async def test_faults_list_as_a_table_and_name_nodes_by_their_short_name(live: tuple[Path, RunningLab],
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    lab_file, running = live
    code, out, _ = await mrasim(capsys, lab_file, "fault", "add", "refuse", "--node", "cucm", "--source",
                                "expressway-c")
    assert code == 0 and out.startswith("fault f1 added: node=cucm:cluster1 source=expressway-c")
    code, out, _ = await mrasim(capsys, lab_file, "fault", "list")
    assert out.split("\n")[0].split() == ["ID", "KIND", "HITS", "MATCH"] and out.split("\n")[1].startswith("f1")
    code, _, err = await mrasim(capsys, lab_file, "stop", "cucumber")
    assert code == 2 and "nodes: cucm:cluster1" in err


def test_a_control_command_without_a_lab_says_how_to_start_one(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    assert main(["status", "--lab", str(lab_file)]) == 1
    assert "start one with 'mrasim up'" in capsys.readouterr().err
