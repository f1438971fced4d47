"""Transaction ids and tracking ids.

Each Expressway node numbers the HTTP transactions it handles with its own counter (the seed shows E at 2004 while C
is at 6114); a ``TrackingID`` header, as on X14+ Expressways, follows one client request across hops.
"""

from __future__ import annotations

import itertools
import uuid

TRACKING_HEADER = "TrackingID"


class TxnCounter:
    def __init__(self, start: int = 1) -> None:
        self._next = itertools.count(start)

    def next(self) -> int:
        return next(self._next)


def new_tracking_id() -> str:
    return str(uuid.uuid4())
