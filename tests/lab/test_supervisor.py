"""``mrasim up --processes`` survives its children (issue 13 item 5): ``kill -9`` of a node or of the control API
leaves the rest serving, the death is reported, ``mrasim start`` brings the node back, the control API comes back on
its own, and ``kill -9`` of the supervisor itself ends every node and the control API (their lifelines,
lab/lifeline.py), each without a traceback (the ``DNSResolver.__del__`` one included)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from common.clock import LabClock
from common.config import DEFAULT_LAB, load_lab
from common.domain import encode_segment
from common.nodelog import CsfLog, LineSink
from lab.processes import network, with_free_ports
from load.client import LoadUser
from tests.probes import children_of, parent_of

READY = 60.0  # seconds a readiness wait may take on a slow machine before the test says what it saw


async def mrasim(lab_file: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "cli.main", "--lab", str(lab_file), *args,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode()


async def status(lab_file: Path, until: Callable[[dict[str, Any]], bool] = lambda report: True,
                 within: float = READY) -> dict[str, Any]:
    """The control API's report (what ``mrasim status`` prints) once ``until`` holds for it, polled while the control
    API comes back; a readiness wait, so a slow machine only waits longer. The last report is returned either way."""
    control = load_lab(lab_file).control
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    error: Exception | None = None
    report: dict[str, Any] | None = None
    while True:
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{control.listen_port}/status") as resp:
                    report = json.loads(await resp.read())
            if until(report):
                return report
        except aiohttp.ClientError as exc:
            error = exc
        if loop.time() > deadline:
            if report is None:
                raise AssertionError(f"no status from the control API: {error}")
            return report
        await asyncio.sleep(0.1)


async def edge_serves(lab_file: Path) -> int:
    lab = load_lab(lab_file)
    edge = lab.edge.listener
    url = f"{edge.scheme}://127.0.0.1:{edge.listen_port}/{encode_segment(lab.domain)}/get_edge_sso?email=a@b"
    # 127.0.0.1 is on no certificate: this checks that E answers, not its certificate (tests/chain/test_tls.py does).
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(url, headers={"Host": "expe.lab.example:8443"}) as resp:
            return resp.status


async def login_ok(lab_file: Path, state: Path) -> bool:
    lab = load_lab(lab_file)
    user = lab.user(lab.jabber.userid)
    assert user is not None
    client = LoadUser(lab, network(lab, state), CsfLog(LabClock(), LineSink()), user.userid, user.password,
                      seed=1)
    try:
        attempt = await client.login()
    finally:
        await client.close()
    return attempt.outcome.ok


async def test_a_killed_node_or_control_api_leaves_the_lab_serving_and_comes_back(tmp_path: Path) -> None:
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    # the supervisor's stderr goes to a file, not a pipe: a pipe nobody reads until the end can fill and stall it
    stderr_file = (tmp_path / "up.stderr").open("wb")
    up = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "--lab", str(lab_file), "up", "--processes", "--logs", str(tmp_path / "logs"),
        "--state", str(tmp_path / "state"), stdout=asyncio.subprocess.PIPE, stderr=stderr_file)
    try:
        assert up.stdout is not None
        async with asyncio.timeout(90):
            while b"Control API" not in await up.stdout.readline():
                pass
        assert await login_ok(lab_file, tmp_path / "state")

        report = await status(lab_file)
        os.kill(report["nodes"]["cucm:cluster1"]["pid"], signal.SIGKILL)
        report = await status(lab_file, lambda report: not report["nodes"]["cucm:cluster1"]["alive"])
        assert report["nodes"]["cucm:cluster1"]["alive"] is False
        assert all(node["alive"] for name, node in report["nodes"].items() if name != "cucm:cluster1")
        assert await edge_serves(lab_file) == 200, "E and C keep serving without CUCM"
        code, out = await mrasim(lab_file, "start", "cucm:cluster1")
        assert code == 0 and "cucm:cluster1 started" in out, out
        assert await login_ok(lab_file, tmp_path / "state")
        # forked from the supervisor's fork server (lab/forkserver.py), the new node too is the supervisor's child
        report = await status(lab_file)
        assert {parent_of(node["pid"]) for node in report["nodes"].values()} == {up.pid}

        os.kill(report["control"]["pid"], signal.SIGKILL)
        report = await status(lab_file, lambda report: report["control"]["restarts"] >= 1)  # the new control API
        assert report["control"]["restarts"] == 1 and all(n["alive"] for n in report["nodes"].values())
        assert up.returncode is None, "the supervisor must not stop"

        # kill -9 of the supervisor itself: no clean-up runs in it, yet every node, the control API and the fork server
        # end too
        children = [node["pid"] for node in report["nodes"].values()] + [report["control"]["pid"]]
        assert set(children) < children_of(up.pid), "and one more: the fork server"
        children = sorted(children_of(up.pid))
        up.kill()
        assert await ended(children) == [], "children outlived their supervisor"
    finally:
        if up.returncode is None:
            up.send_signal(signal.SIGINT)
        await asyncio.wait_for(up.communicate(), 60)
        stderr_file.close()
    errors = (tmp_path / "up.stderr").read_text(errors="replace")
    assert up.returncode == -signal.SIGKILL, errors
    assert "cucm:cluster1 exited with status -9" in errors and "control API exited" in errors
    assert "Traceback" not in errors and "DNSResolver" not in errors, errors


async def ended(pids: list[int], deadline: float = 30.0) -> list[int]:
    """Poll until every process in ``pids`` has exited (a zombie counts as exited); those still running."""
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline
    while (alive := [pid for pid in pids if running(pid)]) and loop.time() < until:
        await asyncio.sleep(0.1)
    return alive


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"
