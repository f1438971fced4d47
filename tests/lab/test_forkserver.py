"""A process forked by the fork server of ``up --processes`` (lab/forkserver.py) is the supervisor's own child, holds
its lifelines, waits for its start line, and outlives the fork server; the supervisor reaps it. The control API's
process is the child forked here (it is the lightest); tests/lab/test_supervisor.py forks a whole lab from
``mrasim up --processes`` and kills its supervisor."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from common.config import DEFAULT_LAB
from lab.forkserver import ForkedProcess, ForkServer, enabled
from lab.lifeline import START_LINE
from lab.processes import with_free_ports
from tests.probes import children_of, parent_of, wait_for

pytestmark = pytest.mark.skipif(not enabled(), reason="forking nodes needs Linux (a subreaper and pidfds)")


async def test_a_forked_child_is_ours_waits_for_its_start_line_and_ends_with_its_lifeline(tmp_path: Path) -> None:
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    forks = await ForkServer.spawn()
    assert forks is not None
    try:
        released = await forks.start("control", [str(lab_file), str(tmp_path / "control.sock")])
        unreleased = await forks.start("control", [str(lab_file), str(tmp_path / "other.sock")])
        assert isinstance(released, ForkedProcess) and released.pid != forks.pid
        # re-parented from the fork server's intermediate to us (a subreaper) before start() returned
        assert parent_of(released.pid) == parent_of(unreleased.pid) == os.getpid()
        assert {released.pid, unreleased.pid} <= children_of(os.getpid())

        released.stdin.write(START_LINE)
        assert b"serving" in await asyncio.wait_for(released.stdout.readline(), 60)
        # the fork server ends; what it forked keeps running, and it can no longer fork
        await forks.close()
        assert await wait_for(lambda: forks.pid not in children_of(os.getpid()))
        assert released.returncode is None and parent_of(released.pid) == os.getpid()
        with pytest.raises(OSError):
            await forks.start("control", [str(lab_file), str(tmp_path / "third.sock")])

        unreleased.stdin.close()  # end of file before the start line: the supervisor died while it started
        assert await asyncio.wait_for(unreleased.wait(), 60) == 1
        assert await unreleased.stdout.read() == b"", "it never served"
        released.stdin.close()  # the parent pipe, alone: SIGTERM to itself, handled as a clean stop
        assert await asyncio.wait_for(released.wait(), 60) == 0
        assert released.pid not in children_of(os.getpid()), "reaped, no zombie left"
    finally:
        for child in ("released", "unreleased"):
            process = locals().get(child)
            if isinstance(process, ForkedProcess) and process.returncode is None:
                process.send_signal(signal.SIGKILL)
                await process.wait()
        await forks.close()


async def test_without_forking_there_is_no_fork_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``MRASIM_FORK=0`` starts every node as a fresh interpreter, as before (for comparison)."""
    monkeypatch.setenv("MRASIM_FORK", "0")
    assert not enabled() and await ForkServer.spawn() is None and ForkServer.fork_here() is None
