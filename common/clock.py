"""One clock for the whole lab (ARCHITECTURE rule 4).

Every node asks this clock for the time, never ``datetime.now()``, so a scenario can move the lab forward
("+61m") and watch an access token expire without sleeping.
"""

from __future__ import annotations

import datetime as dt
import re
import time

_STEP = re.compile(r"^([+-]?)(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class LabClock:
    """Wall-clock time plus an offset that moves when the lab says so: forward, or back, but never before real time
    (a node that runs behind is a skew on its :class:`NodeClock`)."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = offset_seconds

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp(), tz=dt.timezone.utc)

    def timestamp(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if self._offset + seconds < 0:
            raise ValueError(f"the lab clock goes back at most to real time (now {self._offset:+.0f} s ahead); "
                             "to make one node run behind, skew it")
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
    """Parse a clock step or skew such as ``+61m``, ``60d`` or ``-5m`` (back in time) into seconds: the one grammar of
    durations in lab files, scenarios, the control API and every ``mrasim`` command (docs/cli.md)."""
    match = _STEP.match(text.strip())
    if not match:
        raise ValueError(f"clock step {text!r}: expected a signed number and a unit s, m, h or d, "
                         "e.g. +61m, -5m, 2d")
    return (-1 if match.group(1) == "-" else 1) * int(match.group(2)) * _UNIT[match.group(3)]
