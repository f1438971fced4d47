"""A process of ``mrasim up --processes`` ends when its supervisor ends, however the supervisor ends.

The supervisor stops its nodes and its control API on Ctrl-C or SIGTERM. ``kill -9`` of the supervisor (or its
crash, or the OOM killer) runs none of that, and without a lifeline each node would go on serving on its fixed ports,
an orphan under init that the next ``mrasim up`` collides with. So every child the supervisor starts holds two
lifelines, and the first to break ends it with SIGTERM, which it handles as Ctrl-C (it closes its listeners and log):

1. **The death signal** (Linux ``prctl(PR_SET_PDEATHSIG)``, prctl(2)): the kernel sends SIGTERM to the child when the
   thread that started it exits. Set through ``ctypes`` at the child's start; the parent may already have died before
   that, so the child then compares its parent's pid with the supervisor's.
2. **The parent pipe**, portable: the supervisor keeps the write end of the child's stdin open for the child's whole
   life and never writes to it after the start line. The kernel closes it when the supervisor dies, however it dies;
   a thread in the child reads the pipe and takes end of file as the supervisor's death.

A child that has not ended :data:`GRACE` seconds after its SIGTERM leaves with ``os._exit``. A process started
without the :data:`SUPERVISOR_ENV` variable (``mrasim serve`` from a terminal) holds no lifeline at all.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

SUPERVISOR_ENV = "MRASIM_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
GRACE = 10.0
START_LINE = b"start\n"


def child_env() -> dict[str, str]:
    """The environment of a child the calling process supervises."""
    return {**os.environ, SUPERVISOR_ENV: str(os.getpid())}


def set_death_signal(signum: int = signal.SIGTERM) -> bool:
    """Ask the kernel to send ``signum`` when our parent dies (Linux only); whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def supervisor_pid() -> int | None:
    value = os.environ.get(SUPERVISOR_ENV, "")
    return int(value) if value.isdigit() else None


def _end_self() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE)
    os._exit(1)


def _watch_pipe(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except OSError:
        pass
    _end_self()


def hold(fd: int = 0) -> bool:
    """Take both lifelines when started by a supervisor; whether we were (nothing is done otherwise)."""
    parent = supervisor_pid()
    if parent is None:
        return False
    set_death_signal()
    if os.getppid() != parent:  # the supervisor died before the death signal was set
        threading.Thread(target=_end_self, daemon=True, name="supervisor gone").start()
        return True
    threading.Thread(target=_watch_pipe, args=(fd,), daemon=True, name="supervisor lifeline").start()
    return True


def gated(main: Callable[[list[str]], int], argv: list[str], forked: bool = False) -> int:
    """A node process of ``up --processes``: wait for the supervisor's start line on stdin, then run ``main``.

    End of file instead of the line means the supervisor died while this node was starting: exit without serving.
    A ``forked`` child (lab/forkserver.py) sets its death signal only after the line: until then its parent is the
    fork server's intermediate process, whose exit would send it.
    """
    supervised = supervisor_pid() is not None
    if supervised and not forked:
        set_death_signal()
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(0, 1)  # one byte at a time: nothing after the line may be taken from the lifeline's pipe
        if not chunk:
            return 1
        line += chunk
    if line != START_LINE:
        return 1
    if supervised:
        hold(0)
    return main(argv)
