"""Diagnostic logging on a running lab: markers in every node's own format, and a bundle the analyzer reads."""

from __future__ import annotations

import re
import socket
import tarfile
from pathlib import Path

from aiohttp.test_utils import TestClient

from analyzer.diagnose import analyze
from common.config import DEFAULT_LAB, load_lab
from common.logformats.csf import CsfLine
from common.logformats.expressway import ExpresswayLine
from common.logformats.log4j import Log4jLine
from cli.main import main
from lab.control import control_app
from lab.running import start_lab


async def test_bundle_start_marker_stop_writes_logs_markers_and_dumps(tmp_path: Path, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    running = await start_lab(load_lab().with_ephemeral_ports(), tmp_path / "logs")
    try:
        await running.jabber().login()
        client: TestClient = await aiohttp_client(control_app(running))
        assert (await client.post("/bundle/marker", json={"text": "too early"})).status == 409
        assert (await client.post("/bundle/start")).status == 200
        marked = await client.post("/bundle/marker", json={"text": "before the failing login"})
        assert (await marked.json())["marked"] == len(running.sinks)
        await running.jabber(password="wrong").login()
        stopped = await client.post("/bundle/stop", json={"out": str(tmp_path / "bundle.tar.gz")})
        bundle = Path((await stopped.json())["bundle"])
    finally:
        await running.stop()
    with tarfile.open(bundle) as tar:
        members = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert {"xconf_dump.txt", "xstat_dump.txt", "logs/expressway-c.log", "logs/jabber.log", "logs/cucm.log"} <= set(members)
    assert "*c xConfiguration CollaborationEdge OAuthLocal: On" in members["xconf_dump.txt"]
    assert 'Marker 2: "before the failing login"' in members["xstat_dump.txt"]
    for name, parse in (("logs/expressway-e.log", ExpresswayLine.parse), ("logs/expressway-c.log", ExpresswayLine.parse),
                        ("logs/jabber.log", CsfLine.parse), ("logs/cucm.log", Log4jLine.parse)):
        markers = [line for line in members[name].splitlines() if "DEBUG_MARKER" in line]
        assert any("before the failing login" in line for line in markers), name
        for line in markers:
            parse(line)
    assert "Issuing Refresh Token" not in members["logs/cucm.log"], "only what was logged after start"
    report = analyze([bundle])
    assert report.root_cause is not None and report.root_cause.id == "wrong-password-oauth"
    assert not report.corpus.unknown_modules and not report.corpus.problems


def test_bundle_command_without_a_running_lab_says_so(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    lab_file = tmp_path / "lab.toml"
    text = DEFAULT_LAB.read_text(encoding="utf-8")
    lab_file.write_text(re.sub(r"control_port = \d+", f"control_port = {free}", text), encoding="utf-8")
    assert main(["--lab", str(lab_file), "bundle", "marker", "hello"]) == 1
    assert "no lab answers" in capsys.readouterr().err


async def test_a_bundle_goes_to_bundles_not_beside_the_logs(tmp_path: Path, aiohttp_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """So that 'mrasim diagnose logs/' never reads a log twice, once in the bundle (issue 17)."""
    monkeypatch.chdir(tmp_path)
    running = await start_lab(load_lab().with_ephemeral_ports(), tmp_path / "logs")
    try:
        client: TestClient = await aiohttp_client(control_app(running))
        assert (await client.post("/bundle/start")).status == 200
        bundle = Path((await (await client.post("/bundle/stop")).json())["bundle"])
    finally:
        await running.stop()
    assert bundle.parent == tmp_path / "bundles" and bundle.name.startswith("diagnostic_logs_")
    assert not list((tmp_path / "logs").rglob("*.tar.gz"))
