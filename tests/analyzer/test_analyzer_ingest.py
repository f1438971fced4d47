"""Reading real-world captures: formats and nodes by content, copy-paste damage, missing DEBUG, other field orders,
unknown modules, and clocks in other zones."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from analyzer.diagnose import analyze
from analyzer.ingest import load
from analyzer.model import CORE, CUCM, EDGE, JABBER, MISSING


def test_nodes_are_recognised_by_content_not_by_file_name(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    for i, log in enumerate(sorted(lab_logs["healthy-login"].iterdir())):
        shutil.copy(log, tmp_path / f"attachment{i}.txt")
    corpus = load([tmp_path])
    assert {EDGE, CORE, JABBER, CUCM} <= corpus.nodes()
    assert corpus.hosts == {"expe": EDGE, "expc": CORE}


def test_the_seed_hosts_and_the_multiline_xcp_detail(seed_text: str) -> None:
    corpus = load([Path("/work/shared/reference/seed-understanding-oauth-and-mra.txt")])
    assert corpus.hosts == {"labucexpye01": EDGE, "labucexpyc01": CORE, "labucexpwyc01": CORE,
                            "labucexpwye01": EDGE}
    result = next(e for e in corpus.events if e.fmt == "xcp" and "type='result'" in e.text)
    assert re.findall(r"<mechanism>([^<]+)</mechanism>", result.get("Detail")) == [
        "PLAIN", "CISCO-VTG-TOKEN", "OAUTHBEARER"]
    navigate = next(e for e in corpus.events if "NavigateTo" in e.text)
    assert navigate.message.endswith("email=aokanlawon@lab.com&state=1771145038"), "wrapped URL joined back"


def _paste(text: str) -> str:
    """What a case note or a web page does to a log: wrap at 90 columns with blank lines, NBSPs, two lines joined."""
    out = []
    for line in text.splitlines():
        pieces = [line[i:i + 90] for i in range(0, len(line), 90)] or [""]
        out.append("\n\n".join(pieces).replace(" ", "\xa0", 1))
    joined = "\n".join(out)
    return joined.replace("\n2026-", " 2026-", 3)


def test_wrapped_and_joined_copy_paste_gives_the_same_diagnosis(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    clean = analyze([lab_logs["wrong-password-oauth"]])
    pasted = tmp_path / "pasted.txt"
    pasted.write_text("+++ from the customer's email +++\n" + "\n".join(
        _paste(p.read_text()) for p in sorted(lab_logs["wrong-password-oauth"].iterdir())), encoding="utf-8")
    report = analyze([pasted])
    assert report.root_cause is not None and report.root_cause.id == "wrong-password-oauth"
    assert [(s.outcome, s.stopped_at, s.status) for s in report.sessions] == \
        [(s.outcome, s.stopped_at, s.status) for s in clean.sessions]


def test_without_debug_lines_sessions_remain_and_the_gap_is_reported(tmp_path: Path,
                                                                    lab_logs: dict[str, Path]) -> None:
    for log in lab_logs["user-not-found"].iterdir():
        kept, skip = [], False
        for line in log.read_text().splitlines():
            if re.match(r"\d{4}-\d\d-\d\d", line):
                skip = 'Level="DEBUG"' in line or " DEBUG " in line[:30]
            if not skip:
                kept.append(line)
        (tmp_path / log.name).write_text("\n".join(kept) + "\n")
    report = analyze([tmp_path])
    assert report.root_cause is not None and report.root_cause.id == "user-not-found"
    assert report.sessions[0].stopped_at == "localauthentication" and report.sessions[0].status == 401
    assert any(f.group == MISSING and f.id == "debug-missing" for f in report.findings)


def test_other_field_orders_parse_the_same(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    log = (lab_logs["healthy-login"] / "expressway-e.log").read_text()
    swapped = re.sub(r'(Detail="[^"]*") (Txn-id="\d+")', r"\2 \1", log)
    assert swapped != log
    (tmp_path / "e.log").write_text(swapped)
    shutil.copy(lab_logs["healthy-login"] / "expressway-c.log", tmp_path / "c.log")
    report = analyze([tmp_path])
    assert [s.outcome for s in report.sessions] == ["succeeded"] and not report.issues


def test_unknown_modules_and_processes_are_counted_not_fatal(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    shutil.copytree(lab_logs["healthy-login"], tmp_path / "logs")
    with (tmp_path / "logs" / "expressway-c.log").open("a") as log:
        for n in range(3):
            log.write(f'2026-11-27T18:44:33.00{n}-06:00 expc XCP_JABBERD[28071]: UTCTime="2026-11-28 00:44:33,00{n}" '
                      f'ThreadID="1" Module="Jabber.sm" Level="INFO" CodeLocation="sm.c:1" Detail="session {n}"\n')
            log.write(f'2026-11-27T18:44:33.00{n}-06:00 expc tomcat[9]: UTCTime="2026-11-28 00:44:33,00{n}" '
                      f'Module="network.ldap" Level="INFO" Detail="bind"\n')
    (tmp_path / "logs" / "imp.log").write_text(
        "2026-11-27 18:44:33,001 INFO  [c2s-1] xcp.c2s - client stream 1 from 127.0.0.1\n"
        "2026-11-27 18:44:33,002 INFO  [presence] presence.Engine - published\n")
    report = analyze([tmp_path / "logs"])
    assert report.corpus.unknown_modules == {"Expressway Jabber.sm": 3, "Expressway network.ldap": 3,
                                             "log4j presence.Engine": 1}
    assert not report.issues and any(f.id == "unknown-modules" for f in report.findings)
    assert "IM&P" in report.corpus.nodes()


def test_cucm_local_time_is_moved_onto_utc(lab_logs: dict[str, Path]) -> None:
    corpus = load([lab_logs["healthy-login"]])
    c_times = [e.time for e in corpus.events if e.node == CORE and e.time]
    cucm = [e.time for e in corpus.events if e.node == CUCM and e.time]
    # Within a minute of C's window: a local time left unconverted is hours off; CUCM's start-up lines precede C's
    # first line by the lab's start-up, which on a loaded machine took more than a second.
    assert cucm and min(c_times) - 60 <= min(cucm) and max(cucm) <= max(c_times) + 60
