"""Issue 12: real log excerpts, copied as published from Cisco TAC documents and guides (``real_logs/<case>/``, each
with the source, cause, fix and keyword regexes in ``case.json``), are read and named.

Judged as ``../shared/tools/real_logs_check.py`` judges them: the logs are copied to a neutral folder (the case name
cannot help), and a keyword counts only in the diagnosis's own words — output lines that merely quote the input back
are left out.
"""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from analyzer.diagnose import analyze, render_text

CASES = Path(__file__).resolve().parent / "real_logs"


def _quotes_input(line: str, source: str, width: int = 40) -> bool:
    return len(line) >= width and any(line[i:i + width] in source for i in range(0, len(line) - width + 1, 8))


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "case.json").exists())


def test_there_are_real_excerpts_from_many_documents() -> None:
    sources = {json.loads((case / "case.json").read_text())["source"] for case in _cases()}
    assert len(_cases()) >= 20 and len(sources) >= 6


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_a_real_excerpt_is_read_and_its_cause_named(case: Path, tmp_path: Path) -> None:
    spec = json.loads((case / "case.json").read_text())
    assert {"source", "title", "root_cause", "fix", "keywords"} <= spec.keys()
    logs = [Path(shutil.copy(p, tmp_path / p.name)) for p in sorted(case.glob("*.log"))]
    report = analyze(logs)
    assert report.corpus.events, report.corpus.problems
    assert not any("no line in a known log format" in problem for problem in report.corpus.problems)
    source = " ".join(p.read_text(errors="replace") for p in logs).lower()
    text = render_text(report)
    own = "\n".join(line for line in text.lower().splitlines() if not _quotes_input(line, source))
    assert "traceback" not in own
    missing = [k for k in spec["keywords"] if not re.search(k, own)]
    assert len(missing) < len(spec["keywords"]), f"{case.name}: none of {spec['keywords']} in\n{text}"
    assert report.root_cause is not None, text


def test_every_real_excerpt_puts_a_field_entry_or_the_lab_entry_first() -> None:
    """The first Issue's own text carries a keyword: the root cause is named first, not only somewhere below."""
    for case in _cases():
        spec = json.loads((case / "case.json").read_text())
        report = analyze(sorted(case.glob("*.log")))
        root = report.root_cause
        assert root is not None, case.name
        own = f"{root.title}\n{root.root_cause}\n{root.fix}".lower()
        assert any(re.search(k, own) for k in spec["keywords"]), f"{case.name}: {root.id}: {own}"


def test_when_nothing_fits_the_answer_says_how_far_it_got_and_what_the_first_error_means(tmp_path: Path) -> None:
    log = tmp_path / "csf-unified.log"
    log.write_text("2024-01-01 10:00:00,100 INFO [0x00001234] [src\\d.cpp(1)] [csf.dns] [csf::dns::q] - *-----* DNS "
                   "query _collab-edge._tls.example.com. has succeeded.\n"
                   "2024-01-01 10:00:01,123 ERROR [0x00001234] [src\\foo.cpp(12)] [csf.foo] [csf::Foo::bar] - Something "
                   "broke talking to https://expe.example.com:8443/x: connection timed out\n")
    report = analyze([log])
    root = report.root_cause
    assert root is not None and root.id == "nothing-fits"
    assert "service discovery" in root.root_cause and "timed out" in root.root_cause
    assert "Expressway-E and Expressway-C log" in root.fix
    assert "no issue found" not in render_text(report)


def test_a_log_without_errors_is_not_given_an_invented_issue(tmp_path: Path) -> None:
    log = tmp_path / "csf-unified.log"
    log.write_text("INFO [0x00001234] [src\\d.cpp(1)] [csf.dns] [csf::dns::q] - *-----* DNS query "
                   "_collab-edge._tls.example.com. has succeeded.\n")
    report = analyze([log])
    assert report.corpus.events and not report.issues


_SYSLOG_PREFIX = re.compile(r"^(?:Line \d+: )?\d{4}-\d\d-\d\dT[\d:.+-]+ \S+ (?:tvcs|traffic_server\[\d+\]|edgeconfigprovisioning):? ?",
                            re.M)


def _wrapped(text: str, width: int) -> str:
    """As a mail client sends it: every line cut at the last space before ``width`` (a longer word kept whole)."""
    return "\n".join(piece for line in text.splitlines()
                     for piece in textwrap.wrap(line, width, break_long_words=False, break_on_hyphens=False) or [""])


_PASTED_AS = {
    "crlf": lambda text: text.replace("\n", "\r\n"),
    "one line": lambda text: " ".join(line.strip() for line in text.splitlines() if line.strip()),
    "no syslog prefix": lambda text: _SYSLOG_PREFIX.sub("", text),
    "mail wrapped at 76": lambda text: _wrapped(text, 76),
    "quoted reply wrapped at 72": lambda text: "\n".join("> " + line for line in _wrapped(text, 72).splitlines()),
    "numbered lines": lambda text: "\n".join(f"{n}: {line}" for n, line in enumerate(text.splitlines(), 1)),
}


@pytest.mark.parametrize("shape", sorted(_PASTED_AS))
def test_every_real_excerpt_is_still_named_first_when_pasted_in_another_shape(shape: str, tmp_path: Path) -> None:
    """Signatures match the message, not the excerpt: Windows line endings, the records run together on one line (a web
    page or PDF), the log viewer's lines without the syslog timestamp and host, lines a mail client wrapped (and
    quoted with ``>`` in a reply), or an editor's numbered lines all name the same cause first."""
    missed = []
    for case in _cases():
        spec = json.loads((case / "case.json").read_text())
        for log in sorted(case.glob("*.log")):
            pasted = tmp_path / f"{case.name}.log"
            pasted.write_text(_PASTED_AS[shape](log.read_text(encoding="utf-8")), encoding="utf-8")
            root = analyze([pasted]).root_cause
            own = f"{root.title}\n{root.root_cause}\n{root.fix}".lower() if root else ""
            if not any(re.search(k, own) for k in spec["keywords"]):
                missed.append(f"{case.name}: {root.id if root else None}")
    assert not missed, missed
