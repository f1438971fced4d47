"""Fitting text into a column: the one cut every table and diagram uses (the CLI's tables, the analyzer's ladder).

A cell too long for its column ends with ``…`` after a whole word or path segment, never inside a word, so what is
left still reads (issue 17: "cuts reasons mid-word").
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
_BREAKS = re.compile(r"[\s/?&=,;:.\-_]")


def cut(text: str, room: int) -> str:
    """``text`` shortened to ``room`` characters, ending with ``…`` after a whole word (or path segment)."""
    if len(text) <= room:
        return text
    if room <= 1:
        return ELLIPSIS[:room]
    head = text[:room - 1]
    breaks = [m.end() for m in _BREAKS.finditer(head) if m.end() > room // 3]
    keep = head[:breaks[-1]].rstrip() if breaks else head
    return keep + ELLIPSIS
