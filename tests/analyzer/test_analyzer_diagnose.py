"""The analyzer's verdicts: the right root cause first for every failure the lab produces, none on a healthy login,
the OAuthLocal/SASL mismatch on the seed's XMPP excerpt, and a signature for every catalogue scenario."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.diagnose import analyze, render_json, render_text
from analyzer.model import ISSUE, MISSING
from analyzer.signatures import CATALOGUE, CATALOGUE_NAMES, FACTS_ONLY
from tests.analyzer.labruns import SITUATIONS


@pytest.mark.parametrize("situation", sorted(SITUATIONS))
def test_diagnose_puts_the_right_root_cause_first(lab_logs: dict[str, Path], situation: str) -> None:
    expected = SITUATIONS[situation][2]
    report = analyze([lab_logs[situation]])
    got = report.root_cause.id if report.root_cause else None
    assert got == expected, render_text(report)
    if expected is not None:
        assert report.root_cause is not None and report.root_cause.evidence, "a finding quotes its evidence"


def test_a_healthy_login_has_no_issue_and_one_successful_session(lab_logs: dict[str, Path]) -> None:
    report = analyze([lab_logs["healthy-login"]])
    assert not report.issues
    assert [s.outcome for s in report.sessions] == ["succeeded"]
    session = report.sessions[0]
    assert session.user == "aokanlawon" and session.kind == "login"
    steps = [m.step for m in session.messages if m.src == "Jabber" and not m.note]
    assert steps == ["get_edge_sso", "authorize", "localauthentication", "OAuthcb", "access_token",
                     "get_edge_config", "uds_user", "uds_devices"]


def test_sessions_split_per_login_and_stop_at_the_failing_step(lab_logs: dict[str, Path]) -> None:
    report = analyze([lab_logs["keys-regenerated-c-not-refreshed"]])
    assert [(s.outcome, s.stopped_at, s.status) for s in report.sessions] == [
        ("succeeded", "uds_devices", None), ("failed", "access_token", 401)]


def test_a_refresh_is_its_own_session_with_the_user_of_the_device(lab_logs: dict[str, Path]) -> None:
    report = analyze([lab_logs["refresh-token-revoked"]])
    refresh = [s for s in report.sessions if s.kind == "refresh"]
    assert refresh and refresh[0].user == "aokanlawon" and refresh[0].stopped_at == "refresh"


def test_e_and_c_transactions_are_joined_by_tracking_id(lab_logs: dict[str, Path]) -> None:
    report = analyze([lab_logs["healthy-login"]])
    forwarded = [m for m in report.sessions[0].messages if m.src == "Expressway-E" and m.dst == "Expressway-C"]
    assert forwarded and all(m.tracking for m in forwarded)
    assert any(m.dst == "CUCM" and "authorize_proxy" in m.label for m in report.sessions[0].messages)


def test_the_seed_xmpp_excerpt_names_the_oauthlocal_sasl_mismatch(seed_text: str, tmp_path: Path) -> None:
    start = seed_text.index("From the Jabber logs, here is what I see")
    end = seed_text.index("+++ Resolution +++")
    excerpt, crlf = tmp_path / "pasted.txt", tmp_path / "pasted-from-windows.txt"
    excerpt.write_text(seed_text[start:end], encoding="utf-8")
    crlf.write_bytes(seed_text[start:end].replace("\n", "\r\n").encode())
    for path in (excerpt, crlf):
        report = analyze([path])
        assert report.root_cause is not None and report.root_cause.id == "oauthlocal-off", render_text(report)
        quoted = " ".join(e.text for e in report.root_cause.evidence)
        assert "OAUTHBEARER" in quoted and "SASL authentication mechanism" in quoted
        assert "OAuthLocal" in report.root_cause.fix


def test_the_whole_seed_article_reads_as_one_oauth_login_and_the_xmpp_failure(seed_text: str) -> None:
    report = analyze([Path("/work/shared/reference/seed-understanding-oauth-and-mra.txt")])
    assert report.root_cause is not None and report.root_cause.id == "oauthlocal-off"
    login = report.sessions[0]
    assert login.user == "aokanlawon" and login.client == "81.157.160.37"
    assert {"get_edge_sso", "localauthentication", "OAuthcb"} <= {m.step for m in login.messages}
    assert any(f.group == MISSING and f.id == "unreadable-input" for f in report.findings), "prose is counted"


def test_every_catalogue_scenario_has_a_signature() -> None:
    ids = {s.id for s in CATALOGUE}
    assert set(CATALOGUE_NAMES) - {"healthy-login"} <= ids
    for signature in CATALOGUE:
        assert signature.root_cause and signature.fix and signature.document and signature.group == ISSUE


def test_json_report_carries_sessions_root_cause_and_evidence(lab_logs: dict[str, Path]) -> None:
    data = json.loads(render_json(analyze([lab_logs["user-not-found"]])))
    assert data["root_cause"] == "user-not-found"
    assert data["sessions"][0]["stopped_at"] == "localauthentication"
    assert data["findings"][0]["evidence"][0]["where"].endswith(tuple(f":{n}" for n in range(1, 10000)))


def test_report_text_groups_findings_and_names_the_source_document(lab_logs: dict[str, Path]) -> None:
    text = render_text(analyze([lab_logs["domain-not-configured"]]))
    assert "== Issues Found ==" in text and "== Missing Information ==" in text
    assert "Root cause: Expressway-E answers 403" in text and "Fix: Add the domain" in text
    assert "Source: Mobile and Remote Access Through Cisco Expressway Deployment Guide" in text


def test_signatures_the_lab_cannot_produce_yet_say_so() -> None:
    facts_only = {s.id for s in CATALOGUE if s.basis == FACTS_ONLY}
    assert facts_only == {"cert-san-missing", "untrusted-ca-c-cucm",
                          # CUCM ssosp's SAML text (issue 14), known by Cisco doc 217268's section names only
                          "cucm-saml-response-not-processed",
                          # Jabber's discovery result codes, named from the documented causes (doc 221845, MRA guide)
                          "jabber-discovery-edge-authentication-failed", "jabber-discovery-ucm-connection-failed"}


def test_the_benchmark_runs_and_reports_both_speeds(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_analyzer", Path("benchmarks/analyzer.py"))
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--mb", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "read-and-split:" in out and "analyzer:" in out and "sessions" in out
