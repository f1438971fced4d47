"""How fast does ``mrasim diagnose`` read a large bundle? MB/s of the whole analyzer against a plain read-and-split.

Real diagnostic bundles reach hundreds of MB (issue 6). This generates a large set of logs from the lab's own
healthy and failing logins (each copy shifted in time, with its own Txn-ids and TrackingIDs, so the analyzer sees
thousands of distinct sessions), then times, in the same run and on the same files:

* **read-and-split** — read the bytes, decode, and cut into records with
  :func:`common.logformats.expressway.split_records`: the least any log reader must do;
* **analyzer** — :func:`analyzer.diagnose.analyze`: ingest through the format definitions, clocks, transactions,
  sessions and every signature.

The aim (issue 6) is an analyzer at least a third as fast as read-and-split. Run::

    .venv/bin/python benchmarks/analyzer.py [--mb 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analyzer.diagnose import analyze  # noqa: E402
from common.config import load_lab  # noqa: E402
from common.logformats.expressway import split_records  # noqa: E402
from lab.running import start_lab  # noqa: E402

_STAMP = re.compile(r"(\d{4}-\d\d-\d\d)([T ])(\d\d:\d\d:\d\d)")
_TXN = re.compile(r'Txn-id="(\d+)"')
_TRACK = re.compile(r"(TrackingID[=:] ?\"?)([0-9a-f]{8})")


async def _unit(out: Path) -> dict[str, str]:
    """One healthy login and one refused login, as the lab logs them: the pattern the generator repeats."""
    running = await start_lab(load_lab().with_ephemeral_ports(), out)
    try:
        await running.jabber().login()
        await running.jabber(password="wrong").login()
    finally:
        await running.stop()
    return {p.name: p.read_text() for p in out.iterdir() if p.stat().st_size}


def _shift(text: str, copy: int) -> str:
    seconds = copy * 120

    def stamp(match: re.Match[str]) -> str:
        when = dt.datetime.strptime(f"{match.group(1)} {match.group(3)}", "%Y-%m-%d %H:%M:%S")
        when += dt.timedelta(seconds=seconds)
        return when.strftime("%Y-%m-%d") + match.group(2) + when.strftime("%H:%M:%S")

    text = _STAMP.sub(stamp, text)
    text = _TXN.sub(lambda m: f'Txn-id="{int(m.group(1)) + copy * 100}"', text)
    return _TRACK.sub(lambda m: f"{m.group(1)}{copy:08x}", text)


def generate(folder: Path, megabytes: float) -> int:
    with tempfile.TemporaryDirectory() as scratch:
        unit = asyncio.run(_unit(Path(scratch)))
    size_per_copy = sum(len(t) for t in unit.values())
    copies = max(1, int(megabytes * 1e6 / size_per_copy))
    handles = {name: (folder / name).open("w", encoding="utf-8") for name in unit}
    try:
        for copy in range(copies):
            for name, text in unit.items():
                handles[name].write(_shift(text, copy))
    finally:
        for handle in handles.values():
            handle.close()
    return sum(p.stat().st_size for p in folder.iterdir())


def read_and_split(folder: Path) -> int:
    records = 0
    for path in sorted(folder.iterdir()):
        text = path.read_bytes().decode("utf-8", "replace")
        records += sum(1 for _ in split_records(text))
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=100.0, help="size of the generated logs in MB (%(default)s)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mrasim-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        size = generate(folder, args.mb)
        mb = size / 1e6
        started = time.perf_counter()
        records = read_and_split(folder)
        split_s = time.perf_counter() - started
        started = time.perf_counter()
        report = analyze([folder])
        analyze_s = time.perf_counter() - started
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    ratio = (mb / analyze_s) / (mb / split_s)
    print(f"logs: {mb:.1f} MB, {records} records, {len(report.sessions)} sessions, "
          f"{len(report.findings)} findings (root cause: {report.root_cause.id if report.root_cause else 'none'})")
    print(f"read-and-split: {mb / split_s:8.1f} MB/s  ({split_s:.2f} s)")
    print(f"analyzer:       {mb / analyze_s:8.1f} MB/s  ({analyze_s:.2f} s)")
    print(f"analyzer / read-and-split = {ratio:.2f} (aim: >= 0.33)")
    print("aim met" if ratio >= 1 / 3 else "aim NOT met: see docs/analyzer.md, Speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
