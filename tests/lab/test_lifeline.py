"""Each lifeline of lab/lifeline.py alone ends a supervised child: the parent pipe (portable) and the death signal
(Linux ``prctl(PR_SET_PDEATHSIG)``). tests/lab/test_supervisor.py kills a whole ``up --processes`` supervisor."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.lifeline import SUPERVISOR_ENV

CHILD = ("import signal, sys, time, lab.lifeline as life\n"
         "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
         "life.hold()\n"
         "print('held', flush=True)\n"
         "time.sleep(60)\n")


def wait_exit(process: subprocess.Popen[bytes], deadline: float = 20.0) -> int | None:
    until = time.monotonic() + deadline
    while process.poll() is None and time.monotonic() < until:
        time.sleep(0.02)
    return process.poll()


def test_the_child_ends_when_its_parent_pipe_closes() -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env={**os.environ, SUPERVISOR_ENV: str(os.getpid())})
    try:
        assert child.stdout is not None and child.stdout.readline() == b"held\n"
        assert child.stdin is not None
        child.stdin.close()  # what the kernel does when the supervisor dies
        assert wait_exit(child) == 7, "SIGTERM, handled as a clean stop"
    finally:
        child.kill()
        child.wait()


def test_without_a_supervisor_nothing_is_held() -> None:
    env = {k: v for k, v in os.environ.items() if k != SUPERVISOR_ENV}
    out = subprocess.run([sys.executable, "-c", "import lab.lifeline as l; print(l.hold())"], env=env,
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert out.stdout == b"False\n"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_death_signal_alone_ends_the_child_when_its_parent_is_killed() -> None:
    """The child's stdin is a pipe the test holds, so only the kernel's death signal can end it."""
    read_end, write_end = os.pipe()
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import os, subprocess, sys\n"
         f"child = subprocess.Popen([sys.executable, '-c', {CHILD!r}], stdin={read_end}, stdout=subprocess.PIPE,\n"
         f"                         env={{**os.environ, {SUPERVISOR_ENV!r}: str(os.getpid())}})\n"
         "assert child.stdout.readline() == b'held\\n'\n"
         "print(child.pid, flush=True)\n"
         "sys.stdin.read()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(read_end,))
    os.close(read_end)
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        until = time.monotonic() + 20
        while alive(pid) and time.monotonic() < until:
            time.sleep(0.02)
        assert not alive(pid)
    finally:
        os.close(write_end)
        parent.kill()
        parent.wait()


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
