"""One clock for the whole lab (ARCHITECTURE rule 4).

Every node asks this clock for the time, never ``datetime.now()``, so a scenario can move the lab forward
("+61m") and watch an access token expire without sleeping.
"""

from __future__ import annotations

import datetime as dt
import re
import time

_STEP = re.compile(r"^\+?(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LabClock:
    """Wall-clock time plus an offset that only moves forward when the lab says so."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = offset_seconds

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp(), tz=dt.timezone.utc)

    def timestamp(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the lab clock only moves forward")
        self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset


class NodeClock(LabClock):
    """One node's view of the lab clock: the lab's time plus a skew a fault can set (a node running ahead or behind,
    as when NTP is missing). Advancing it advances the whole lab."""

    def __init__(self, base: LabClock, skew: float = 0.0) -> None:
        super().__init__()
        self.base = base
        self.skew = skew

    def timestamp(self) -> float:
        return self.base.timestamp() + self.skew

    def advance(self, seconds: float) -> None:
        self.base.advance(seconds)

    @property
    def offset(self) -> float:
        return self.base.offset + self.skew


def parse_step(text: str) -> int:
    """Parse a clock step such as ``+61m`` or ``60d`` into seconds."""
    match = _STEP.match(text.strip())
    if not match:
        raise ValueError(f"clock step {text!r}: expected a number and a unit s, m, h or d, e.g. +61m")
    return int(match.group(1)) * _UNIT[match.group(2)]
