"""``mrasim diagnose`` and ``mrasim ladder``: the analyzer's command line, hooked into :mod:`cli.main`.

They read files only — no lab needs to run — and never end in a traceback: unreadable input becomes a message and,
where anything could be read, a partial result (issue 6, "Bad input"). Exit codes: 0 no issue, 1 issues found,
2 nothing could be analysed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from typing import TYPE_CHECKING

from cli.output import command, width

if TYPE_CHECKING:
    from analyzer.diagnose import Report
    from analyzer.model import Session

# The analyzer is imported when one of its commands runs, not with the command line: every other command (and
# 'mrasim up --processes', whose imports are most of its ready time) would pay for its 22 modules.

COMMANDS = ("diagnose", "ladder")


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    diagnose = command(sub, "diagnose", "read logs (files, folders, .tar.gz bundles) → sessions and findings",
                       ["mrasim diagnose logs/latest", "mrasim diagnose diagnostic_logs.tar.gz --json"],
                       description="Read Expressway-E/C, Jabber, CUCM and IM&P logs, group them into login "
                                          "sessions and report Issues Found / Missing Information / Potential "
                                          "Problem with evidence, root cause, fix and source document.")
    diagnose.add_argument("paths", nargs="+", type=Path, help="log files, folders or diagnostic bundles")
    diagnose.add_argument("--json", action="store_true", help="print the report as JSON")
    ladder = command(sub, "ladder", "draw one login session as a ladder diagram",
                     ["mrasim ladder logs/latest", "mrasim ladder logs/latest --format html --out ladder.html"],
                     description="Draw a session found in the logs as numbered arrows between Jabber, E, "
                                        "C, CUCM and IM&P: text for the terminal, Mermaid, or a self-contained HTML "
                                        "page where clicking an arrow shows its HTTPMSG/XML.")
    ladder.add_argument("paths", nargs="+", type=Path, help="log files, folders or diagnostic bundles")
    ladder.add_argument("--session", type=int, help="session number (default: the first login; 0: the nodes' "
                                                     "start-up key exports and fetches)")
    ladder.add_argument("--format", choices=("text", "mermaid", "html"), default="text",
                        help="text for the terminal, mermaid, or a self-contained html page (%(default)s)")
    ladder.add_argument("--out", type=Path, help="write to this file instead of standard output")


# Inputs above this size are announced before the analyzer starts: at about 20 MB/s (docs/analyzer.md) they take
# seconds, and a silent terminal looks hung.
LARGE_INPUT = 20_000_000
ANALYZER_BYTES_PER_SECOND = 20_000_000


def _input_size(paths: list[Path]) -> tuple[int, int]:
    """(files, bytes) under the paths, as far as they can be read."""
    files = [p for path in paths for p in ([path] if path.is_file() else path.rglob("*") if path.is_dir() else [])
             if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def _announce(paths: list[Path]) -> float | None:
    """Say what a long read is about to take (on stderr, so --json output stays clean); None when quick."""
    try:
        count, size = _input_size(paths)
    except OSError:
        return None
    if size < LARGE_INPUT:
        return None
    print(f"mrasim: reading {size / 1e6:.0f} MB in {count} file(s); about {size / ANALYZER_BYTES_PER_SECOND:.0f} s …",
          file=sys.stderr, flush=True)
    return time.perf_counter()


def run(args: argparse.Namespace) -> int:
    from analyzer.diagnose import analyze, render_json, render_text

    started = _announce(args.paths)
    try:
        report = analyze(args.paths)
    except (OSError, MemoryError, RecursionError) as exc:
        print(f"mrasim: cannot read the input: {exc}", file=sys.stderr)
        return 2
    if started is not None:
        print(f"mrasim: read in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    for problem in report.corpus.problems:
        print(f"mrasim: {problem}", file=sys.stderr)
    if not report.corpus.events:
        print("mrasim: no log records found in the input (nothing in a known format)", file=sys.stderr)
        return 2
    if args.action == "diagnose":
        print(render_json(report) if args.json else render_text(report), end="")
        return 1 if report.issues else 0
    return _ladder(report, args)


def _pick(report: Report, number: int | None) -> Session | None:
    """The session asked for; ``0`` is the nodes' start-up work; by default the first login (issue 12)."""
    if number == 0:
        return report.corpus.startup
    if number is not None:
        return next((s for s in report.sessions if s.number == number), None)
    return next((s for s in report.sessions if s.kind == "login"), report.sessions[0] if report.sessions else None)


def _ladder(report: Report, args: argparse.Namespace) -> int:
    from analyzer.ladder import render_html, render_json as render_ladder_json, render_mermaid
    from analyzer.ladder import render_text as ladder_text

    session = _pick(report, args.session)
    if session is None:
        known = ", ".join(str(s.number) for s in report.sessions) or "none"
        print(f"mrasim: no session {args.session if args.session is not None else ''} in the input; sessions: "
              f"{known}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        text = render_ladder_json(session)
    elif args.format == "mermaid":
        text = render_mermaid(session)
    elif args.format == "html":
        text = render_html(session, report.sessions)
    else:
        text = ladder_text(session, room=width() if args.out is None else None)
    if args.out is not None:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"mrasim: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"session #{session.number} written to {args.out}")
    else:
        print(text, end="")
    return 0
