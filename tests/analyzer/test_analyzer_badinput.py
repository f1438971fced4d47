"""Bad input (issue 6): a clear message, a partial result where one is possible, never a traceback."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from analyzer.diagnose import analyze
from cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return code, out.out, out.err


def test_binary_garbage_is_skipped_with_a_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "core.dump"
    garbage.write_bytes(os.urandom(50_000) + b"\x00" * 100)
    code, _, err = _run(capsys, "diagnose", str(garbage))
    assert code == 2 and "binary data, not a log" in err and "no log records" in err


def test_binary_beside_real_logs_still_gives_the_diagnosis(tmp_path: Path, lab_logs: dict[str, Path],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "case"
    shutil.copytree(lab_logs["user-not-found"], folder)
    (folder / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4000))
    code, out, err = _run(capsys, "diagnose", str(folder))
    assert code == 1 and "[user-not-found]" in out.split("== Issues Found ==")[1].splitlines()[1]
    assert "screenshot.png: binary data" in err


def test_a_truncated_log_gives_the_sessions_before_the_cut(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    folder = tmp_path / "cut"
    shutil.copytree(lab_logs["wrong-password-oauth"], folder)
    log = folder / "expressway-c.log"
    text = log.read_text()
    cut = text.index("HTTPMSG:", text.index("authorize_proxy")) + 30
    log.write_text(text[:cut])
    report = analyze([folder])
    assert report.sessions and report.root_cause is not None
    assert report.root_cause.id == "wrong-password-oauth", "Expressway-E, Jabber and CUCM still tell the story"
    assert any("truncated" in p for p in report.corpus.problems)


def test_an_empty_folder_says_it_is_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = _run(capsys, "diagnose", str(tmp_path / "empty"))
    assert code == 2 and "the folder is empty" in err


def test_a_missing_path_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "ladder", str(tmp_path / "nothing-here.log"))
    assert code == 2 and "nothing-here.log: no such file or folder" in err


def _bundle(path: Path, members: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> Path:  # type: ignore[assignment]
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info)
    return path


def test_a_bundle_with_unexpected_members_reads_the_logs_and_lists_the_rest(tmp_path: Path,
                                                                            lab_logs: dict[str, Path]) -> None:
    logs = {f"diag/{p.name}": p.read_bytes() for p in lab_logs["refresh-disabled-on-cucm"].iterdir()}
    link = tarfile.TarInfo("diag/current")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    fifo = tarfile.TarInfo("diag/pipe")
    fifo.type = tarfile.FIFOTYPE
    bundle = _bundle(tmp_path / "b.tar.gz", {**logs, "diag/notes.txt": b"customer says: it fails since Monday\n",
                                             "diag/firmware.bin": os.urandom(3000) + b"\x00",
                                             "../escape.log": b"nothing\n"}, [link, fifo])
    report = analyze([bundle])
    assert report.root_cause is not None and report.root_cause.id == "refresh-disabled-on-cucm"
    problems = " ".join(report.corpus.problems)
    assert "diag/current: not a regular file" in problems and "diag/pipe: not a regular file" in problems
    assert "firmware.bin: binary data" in problems and "notes.txt: no line in a known log format" in problems
    assert not (tmp_path.parent / "escape.log").exists(), "members are read, never extracted"


def test_a_truncated_bundle_keeps_the_members_before_the_damage(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    logs = {p.name: p.read_bytes() for p in sorted(lab_logs["mra-disabled-in-profile"].iterdir())}
    whole = _bundle(tmp_path / "whole.tar.gz", logs).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    report = analyze([cut])
    assert any("bundle damaged" in p for p in report.corpus.problems)
    assert report.corpus.events, "a partial result"


def test_garbage_named_like_a_bundle_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "diagnostic_logs.tar.gz"
    fake.write_bytes(b"\x1f\x8b" + os.urandom(500))
    report = analyze([fake])
    assert report.corpus.problems and not report.corpus.events


def test_absurdly_long_lines_are_cut_and_the_rest_is_read(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    folder = tmp_path / "long"
    shutil.copytree(lab_logs["user-not-found"], folder)
    with (folder / "expressway-e.log").open("a") as log:
        log.write("A" * 3_000_000 + "\n")
        log.write('2026-11-27T18:44:32.115-06:00 expe traffic_server[16087]: UTCTime="2026-11-28 00:44:32,115" '
                  'Module="network.http.trafficserver" Level="INFO": Detail="' + "x" * 2_000_000 + '"\n')
    report = analyze([folder])
    assert report.root_cause is not None and report.root_cause.id == "user-not-found"
    assert any("lines longer than" in p for p in report.corpus.problems)


def test_ladder_asks_for_a_session_that_does_not_exist(lab_logs: dict[str, Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "ladder", str(lab_logs["healthy-login"]), "--session", "9")
    assert code == 2 and "no session 9" in err and "sessions: 1" in err


def test_a_truncated_gzip_log_is_read_up_to_the_cut(tmp_path: Path, lab_logs: dict[str, Path],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import gzip
    packed = gzip.compress((lab_logs["user-not-found"] / "expressway-c.log").read_bytes())
    cut = tmp_path / "expressway-c.log.gz"
    cut.write_bytes(packed[: len(packed) * 2 // 3])
    report = analyze([cut])
    assert report.corpus.events
    assert any("gzip file is truncated" in p for p in report.corpus.problems)
    assert main(["diagnose", str(cut)]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err


def test_utf16_and_mixed_encodings_are_read(tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    text = (lab_logs["user-not-found"] / "expressway-c.log").read_text()
    (tmp_path / "expressway-c.log").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    lines = (lab_logs["user-not-found"] / "jabber.log").read_text().splitlines()
    mixed = "\n".join(lines).encode("utf-8") + "\nINFO [0x00000001] [x.cpp(1)] [csf.x] [f] - Zürich café\n".encode(
        "latin-1")
    (tmp_path / "jabber.log").write_bytes(mixed)
    report = analyze([tmp_path])
    assert report.root_cause is not None and report.root_cause.id == "user-not-found"


def test_a_large_file_is_streamed_in_pieces_with_the_same_diagnosis(tmp_path: Path, lab_logs: dict[str, Path],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer import ingest
    whole = analyze([lab_logs["user-not-found"]])
    for log in lab_logs["user-not-found"].iterdir():
        (tmp_path / log.name).write_bytes(log.read_bytes())
    monkeypatch.setattr(ingest, "STREAM_AT", 1000)
    monkeypatch.setattr(ingest, "STREAM_CHUNK", 4000)
    streamed = analyze([tmp_path])
    assert streamed.root_cause is not None and streamed.root_cause.id == whole.root_cause.id
    assert len(streamed.corpus.events) == len(whole.corpus.events)
    assert [e.line for e in streamed.corpus.events if e.node == "Expressway-C"][-1] == \
        [e.line for e in whole.corpus.events if e.node == "Expressway-C"][-1]


def test_past_the_memory_bound_only_records_above_debug_are_kept(tmp_path: Path, lab_logs: dict[str, Path],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from analyzer import ingest
    monkeypatch.setattr(ingest, "KEEP_ALL", 10)
    report = analyze([lab_logs["user-not-found"]])
    assert report.corpus.events and not any(e.level == "DEBUG" for e in report.corpus.events)
    assert any("memory stays bounded" in p for p in report.corpus.problems)


def test_a_large_input_is_announced_on_stderr_before_the_read(lab_logs: dict[str, Path],
                                                              capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from cli import analyzer as analyzercli

    monkeypatch.setattr(analyzercli, "LARGE_INPUT", 1)
    code, out, err = _run(capsys, "diagnose", str(lab_logs["healthy-login"]), "--json")
    assert code == 0 and out.startswith("{")
    assert "mrasim: reading" in err and "MB in" in err and "mrasim: read in" in err
