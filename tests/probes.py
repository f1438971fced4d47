"""What tests look at from outside the lab: a condition polled until a deadline, a process's parent and children,
and its TCP sockets."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

LISTEN, ESTABLISHED = "0A", "01"  # socket states in /proc/<pid>/net/tcp


async def wait_for(predicate: Callable[[], object], timeout: float = 15.0) -> bool:
    """Poll ``predicate`` until it holds (the lab changes on its own, e.g. as C retries); False after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def parent_of(pid: int) -> int:
    """The pid of the process's parent, from /proc."""
    return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])


def children_of(pid: int) -> set[int]:
    """The pids of the process's children (every thread's), from /proc."""
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()}


def tcp_sockets(pid: int) -> list[tuple[str, int, int]]:
    """(state, local port, remote port) of each IPv4 TCP socket the process holds, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[9] in inodes:
            found.append((parts[3], int(parts[1].split(":")[1], 16), int(parts[2].split(":")[1], 16)))
    return found
