"""Clocks: every Jabber and CUCM file moved onto the Expressways' UTC (docs/analyzer.md, "Clocks")."""

from __future__ import annotations

import bisect
import re

from analyzer.model import CORE, Corpus, Event


def align(corpus: Corpus) -> None:
    """Move each Jabber and CUCM file (local time, no offset in the line) onto UTC, each product of a file apart.

    The offset is the one, among zero and the offsets the Expressways print, that puts most of the file's events within
    three seconds of an Expressway-C event — the node every Jabber and CUCM request passes through.
    """
    core: list[float] = []
    expressway: list[float] = []
    offsets, seen = {0.0}, set()
    by_file: dict[tuple[str, str, str], list[Event]] = {}
    for event in corpus.events:  # one pass: anchors, printed offsets, and the files to move
        fmt, when = event.fmt, event.time
        if fmt == "expressway":
            if when is not None:
                (core if event.node == CORE else expressway).append(when)
            if event.host not in seen:
                seen.add(event.host)
                offsets.add(_offset_seconds(event.text[23:29]))
        elif fmt in ("csf", "log4j") and when is not None:
            # per product within a file: a pasted excerpt holds Jabber (UTC) and CUCM (local) lines side by side
            by_file.setdefault((event.source, fmt, event.node), []).append(event)
        elif fmt == "xcp" and when is not None and event.node == CORE:
            core.append(when)
    anchors = sorted(core) if core else sorted(expressway)
    for events in by_file.values():
        if not anchors:
            continue
        sample = events[:: max(1, len(events) // 200)]

        def score(offset: float) -> int:
            hits = 0
            for e in sample:
                t = e.time - offset  # type: ignore[operator]
                i = bisect.bisect_left(anchors, t - 3)
                hits += i < len(anchors) and anchors[i] <= t + 3
            return hits

        best = max(sorted(offsets), key=lambda offset: (score(offset), offset == 0))
        if best:
            for e in events:
                e.time = e.time - best  # type: ignore[operator]


def _offset_seconds(text: str) -> float:
    match = re.match(r"([+-])(\d\d):(\d\d)", text)
    if not match:
        return 0.0
    value = int(match.group(2)) * 3600 + int(match.group(3)) * 60
    return float(value if match.group(1) == "+" else -value)
