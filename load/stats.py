"""Latency figures for the benchmarks and the storm: percentiles, per-step summaries, text histograms, memory.

Percentiles are nearest-rank on the sorted samples (no interpolation), so a p99 is a latency that really happened.
Memory is read from ``/proc`` (``VmRSS``, ``VmHWM``) rather than from a third-party package, so the figures need no
extra dependency; on a system without ``/proc`` they read 0.
"""

from __future__ import annotations

import math
import resource
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ``samples`` (0 when there are none)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Summary:
    count: int
    median: float
    p90: float
    p99: float
    maximum: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        return cls(len(samples), percentile(samples, 50), percentile(samples, 90), percentile(samples, 99),
                   max(samples, default=0.0))


def histogram(samples: Iterable[float], buckets: Sequence[float] = BUCKETS_MS) -> list[tuple[str, int]]:
    """Counts per latency bucket, labelled ``<1 ms``, ``1-2 ms`` … ``>5000 ms``; empty buckets at the ends dropped."""
    counts = [0] * (len(buckets) + 1)
    for value in samples:
        index = next((i for i, edge in enumerate(buckets) if value < edge), len(buckets))
        counts[index] += 1
    labels = [f"<{buckets[0]} ms"] + [f"{low}-{high} ms" for low, high in zip(buckets, buckets[1:])]
    labels.append(f">{buckets[-1]} ms")
    rows = list(zip(labels, counts))
    while rows and rows[-1][1] == 0:
        rows.pop()
    while rows and rows[0][1] == 0:
        rows.pop(0)
    return rows


def render_histograms(per_step: Mapping[str, Sequence[float]], width: int = 40) -> str:
    """One block per step: its percentiles, then a bar per bucket scaled to the fullest bucket of that step."""
    lines = []
    for name, samples in per_step.items():
        s = Summary.of(samples)
        lines.append(f"{name}: n={s.count} p50={s.median:.1f} p90={s.p90:.1f} p99={s.p99:.1f} max={s.maximum:.1f} ms")
        rows = histogram(samples)
        top = max((count for _, count in rows), default=0)
        for label, count in rows:
            bar = "#" * (round(width * count / top) if top else 0)
            lines.append(f"  {label:>12} {count:>7} {bar}")
    return "\n".join(lines)


def proc_memory(pid: int | str = "self") -> tuple[int, int]:
    """(current, peak) resident set size in bytes of a process, from ``/proc/<pid>/status``."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0, 0
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found.get("VmRSS", 0), found.get("VmHWM", 0)


def self_peak() -> int:
    """This process's peak resident set size in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mib(size: float) -> str:
    return f"{size / 2**20:.0f} MiB"
