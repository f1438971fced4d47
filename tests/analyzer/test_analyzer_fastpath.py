"""Issue 12, item 5: the analyzer's fast paths (:mod:`analyzer.fastpath`) are exact shortcuts — with them and without
them, a mixed corpus (every lab scenario's logs, the real excerpts, the seed) gives the same events, sessions, ladders
and findings, so an optimisation can never drop a finding."""

from __future__ import annotations

import random
from pathlib import Path

from analyzer import fastpath
from analyzer.diagnose import analyze, render_json, render_text
from analyzer.ladder import render_text as ladder_text
from analyzer.normalize import lines_of
from common.logformats.expressway import parse_fast, split_records

REAL_LOGS = Path(__file__).resolve().parent / "real_logs"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference"  # ../shared beside the clone, when there


def _dump(paths: list[Path]) -> list[str]:
    """Everything a diagnosis holds, as text: the report (text and JSON), every event, every session's ladder."""
    report = analyze(paths)
    corpus = report.corpus
    out = [render_text(report), render_json(report), repr((corpus.problems, corpus.files, corpus.unparsed,
                                                           sorted(corpus.unknown_modules.items()), corpus.hosts))]
    out += [repr((e.node, e.host, e.fmt, e.time, e.level, sorted(e.fields.items()), e.text, e.source, e.line, e.block))
            for e in corpus.events]
    out += [ladder_text(session) for session in report.sessions]
    if corpus.startup is not None:
        out.append(ladder_text(corpus.startup))
    return out


def _same_both_ways(paths: list[Path]) -> list[str]:
    fast = _dump(paths)
    with fastpath.disabled():
        general = _dump(paths)
    assert len(fast) == len(general)
    for fast_line, general_line in zip(fast, general):
        assert fast_line == general_line
    return fast


def test_fast_and_general_paths_agree_on_a_mixed_corpus(lab_logs: dict[str, Path]) -> None:
    real = sorted(REAL_LOGS.rglob("*.log")) + sorted((SHARED / "real-logs").rglob("*.log"))
    seed = SHARED / "seed-understanding-oauth-and-mra.txt"
    assert len(real) >= 20
    dump = _same_both_ways([*lab_logs.values(), *real, *([seed] if seed.exists() else [])])
    assert "Root cause:" in dump[0] and len(dump) > 1500


def test_the_fast_reader_reads_every_expressway_log_the_lab_writes(lab_logs: dict[str, Path]) -> None:
    """Else the fast path would silently never run: the lab's Expressway logs are all clean records."""
    for folder in lab_logs.values():
        for log in folder.glob("expressway-*.log"):
            text = log.read_text(encoding="utf-8")
            if text.strip():
                assert fastpath.read_clean_expressway(text) is not None, log


def _general(text: str, first: int) -> list[tuple[object, ...]] | None:
    out: list[tuple[object, ...]] = []
    for number, record in lines_of(list(split_records(text)), first):
        fast = parse_fast(record) if record[10:11] == "T" else None
        if fast is None:
            return None
        out.append((number, record, *fast))
    return out


HEADERS = [
    '2026-12-01T10:11:37.709-06:00 expc traffic_server[12]: UTCTime="2026-12-01 16:11:37,709" Module="m" '
    'Level="DEBUG": Detail="x" Txn-id="1"',
    '2026-12-01T10:11:37.709-06:00 expe tvcs: UTCTime="2026-12-01 16:11:37,709" Module="m" Level="INFO":  Detail="y"',
    '2026-12-01T10:11:37.709-06:00 expe sshd[3]: Level="INFO" Detail="a b" UTCTime="2026-12-01 16:11:37,709"',
]
ODD_LINES = [
    '2026-12-01T10:11:37.709-06:00 expe sshd[3]: Level="INFO"Detail="a b" UTCTime="x"',
    '2026-12-01T10:11:37.709-06:00 expe  sshd[3]: Level="INFO" UTCTime="x"',
    '2026-12-01T10:11:37.709-06:00 ex\tpe sshd[3]: Level="INFO" UTCTime="x"',
    '2026-12-01T10:11:37.709-06:00 expe sshd[3]: Level="IN"FO" UTCTime="x"',
    '2026-12-01T10:11:37.709-06:00 expe sshd[3]: Level="INFO" A="x" A="y":',
    '2026-12-01T10:11:37.709-06:00 expe 9sshd: Level="INFO"',
    '2026-12-01 10:11:37,709 INFO [x] y - z',
    "HTTPMSG:", "MSGBODY:", " SIPMSG:", "  HTTPMSG:", "HTTPMSG: ", "|", "||", "|GET /x|", "|GET /x", "a|", "Host: y",
    "", "   ", "x", " |INVITE", " |", "sipio-1", "|a|b|", "\r", "HTTPMSG", "5|", "\u2028",
]


def test_the_fast_reader_reads_as_split_records_and_parse_fast_or_declines() -> None:
    """Random files of clean headers, block tags, bodies, blank lines and damage: whenever the fast reader answers,
    it answers what ``split_records`` + ``parse_fast`` + ``lines_of`` give."""
    rng = random.Random(12)
    answered = 0
    for _ in range(2000):
        lines = [rng.choice(HEADERS) if rng.random() < 0.5 else rng.choice(HEADERS + ODD_LINES)
                 for _ in range(rng.randint(1, 8))]
        text = "\n".join(lines) + rng.choice(["", "\n", "\n\n"])
        fast = fastpath.read_clean_expressway(text, 3)
        if fast is not None:
            assert fast == _general(text, 3), repr(text)
            answered += 1
    assert answered > 250
