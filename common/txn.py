"""Transaction ids and tracking ids.

Each Expressway node numbers the HTTP transactions it handles with its own counter (the seed shows E at 2004 while C
is at 6114); a ``TrackingID`` header, as on X14+ Expressways, follows one client request across hops.
"""

from __future__ import annotations

import itertools
import os

TRACKING_HEADER = "TrackingID"


class TxnCounter:
    def __init__(self, start: int = 1) -> None:
        self._next = itertools.count(start)

    def next(self) -> int:
        return next(self._next)


_POOL_IDS = 256
_pool = bytearray()


def _forget_pool() -> None:
    """A forked node starts with no ids drawn: two processes never hand out the same pooled bytes."""
    global _pool
    _pool = bytearray()


os.register_at_fork(after_in_child=_forget_pool)  # nodes are forked from one preloaded process (lab/forkserver.py)


def new_tracking_id() -> str:
    """A random (version 4) UUID, as ``uuid.uuid4()`` makes, from the same source (``os.urandom``), but drawn 256 ids
    at a time: Expressway-E stamps every relayed request, and one ``getrandom`` system call per id cost more than the
    rest of the id (issue 18, fourth round)."""
    global _pool
    if not _pool:
        _pool = bytearray(os.urandom(16 * _POOL_IDS))
    raw = _pool[-16:]
    del _pool[-16:]
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4 (RFC 9562 section 5.4)
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
