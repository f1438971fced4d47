"""Issue 12, item 4: ladders in causal order, one numbering, start-up apart, and an HTML ladder that shows everything."""

from __future__ import annotations

import re
from pathlib import Path

from analyzer.diagnose import analyze
from analyzer.ladder import render_html, render_text, step_numbers, token_kind
from analyzer.model import CORE, CUCM


def _login(lab_logs: dict[str, Path]):
    report = analyze([lab_logs["healthy-login"]])
    return report, next(s for s in report.sessions if s.kind == "login")


def test_every_answer_follows_its_request_and_notes_sit_inside_the_call(lab_logs: dict[str, Path]) -> None:
    _, session = _login(lab_logs)
    messages = session.messages
    for i, message in enumerate(messages):
        if message.status is not None and not message.note and message.src != message.dst:
            assert any(m.src == message.dst and m.dst == message.src and m.status is None
                       for m in messages[:i]), f"answer {i + 1} ({message.label}) before its request"
    issued = next(i for i, m in enumerate(messages) if m.note and "Authorization code issued" in m.label)
    assert messages[issued - 1].src == CORE and messages[issued - 1].dst == CUCM
    assert "authorize_proxy" in messages[issued - 1].label
    assert messages[issued + 1].src == CUCM and messages[issued + 1].dst == CORE


def test_one_numbering_with_mrasim_run(lab_logs: dict[str, Path]) -> None:
    _, session = _login(lab_logs)
    tags = [t for t in step_numbers(session) if t]
    assert tags[:9] == ["{1: get_edge_sso}", "{2: authorize}", "{3: localauthentication}",
                        "{4: edgeconfigprovision}", "{5: authorize_proxy}", "{6: OAuthcb}", "{7: access_token}",
                        "{8: OAuthvalidator}", "{9: get_edge_config}"]
    assert "{1: get_edge_sso} GET get_edge_sso" in render_text(session)


def test_startup_key_exports_are_not_a_session_and_the_default_ladder_is_the_first_login(
        lab_logs: dict[str, Path], capsys) -> None:
    report, session = _login(lab_logs)
    assert all(s.kind != "start-up" for s in report.sessions)
    assert not any("AuthZ keys exported" in m.label for s in report.sessions for m in s.messages)
    if report.corpus.startup is not None:
        assert all(m.step == "authz_keys" or "AuthZ keys" in m.label for m in report.corpus.startup.messages)
    from cli.main import main
    assert main(["ladder", str(lab_logs["healthy-login"])]) == 0
    assert capsys.readouterr().out.splitlines()[0] == session.summary()


def test_html_ladder_shows_whole_notes_both_tokens_a_legend_and_fits_1280_pixels(lab_logs: dict[str, Path]) -> None:
    _, session = _login(lab_logs)
    page = render_html(session)
    width = int(re.search(r'<svg [^>]*width="(\d+)"', page).group(1))
    assert width <= 760, "every lane beside the message panel on a 1280-pixel screen"
    assert 'id="legend"' in page and "access token" in page and "refresh token" in page
    note = next(m for m in session.messages if m.note and len(m.label) > 60)
    words = [w for w in note.label.split() if len(w) < 12]
    assert all(w in page for w in words[-3:]), "the end of a long note is on the page"
    kinds = {token_kind(m) for m in session.messages}
    assert {"access", "refresh"} <= kinds
    assert 'class="msg refresh' in page or ' refresh"' in page
