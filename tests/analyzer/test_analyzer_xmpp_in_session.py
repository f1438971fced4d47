"""The XMPP sign-in belongs to the login that fetched the edge config: its steps are arrows of that session's ladder
(Jabber ↔ E, E ↔ C, C ↔ IM&P) in every rendering, and an XMPP failure is where that session stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.diagnose import analyze
from analyzer.ladder import render_html, render_mermaid, render_text
from analyzer.model import CORE, EDGE, IMP, JABBER, Session
from tests.catalogue import CataloguePlays

NAMES = ("oauthlocal-off", "xmpp-bind-conflict")


@pytest.fixture(scope="module")
def xmpp_logs(catalogue_plays: CataloguePlays) -> dict[str, Path]:
    return catalogue_plays.logs(NAMES)


def _logins(path: Path) -> list[Session]:
    report = analyze([path])
    assert not [s for s in report.sessions if s.kind == "xmpp"], [s.summary() for s in report.sessions]
    return [s for s in report.sessions if s.kind == "login"]


def _arrows(session: Session) -> list[tuple[str, str, str]]:
    return [(m.src, m.dst, m.label) for m in session.messages if not m.note]


def test_healthy_xmpp_sign_in_is_part_of_the_login_with_every_hop_as_an_arrow(xmpp_logs: dict[str, Path]) -> None:
    """xmpp-bind-conflict's first login signs in cleanly (its second one meets the conflict)."""
    login = _logins(xmpp_logs["xmpp-bind-conflict"])[0]
    assert login.ok and login.client and login.user
    arrows = _arrows(login)
    expected = [(JABBER, EDGE, "open XMPP stream"), (EDGE, CORE, "xdb get: SASL mechanisms?"),
                (CORE, IMP, "xdb get: SASL mechanisms?"), (JABBER, EDGE, "SASL auth OAUTHBEARER"),
                (EDGE, CORE, "xdb set: SASL auth OAUTHBEARER"), (CORE, IMP, "xdb set: SASL auth OAUTHBEARER"),
                (CORE, EDGE, "SASL success"), (EDGE, JABBER, "SASL success"), (JABBER, EDGE, "bind resource")]
    for arrow in expected:
        assert arrow in arrows, arrow
    assert any(src == EDGE and dst == JABBER and label.startswith("bound ") for src, dst, label in arrows)
    gec = max(i for i, m in enumerate(login.messages) if m.step == "get_edge_config")
    assert min(i for i, m in enumerate(login.messages) if m.step.startswith("xmpp")) > gec
    text, mermaid, page = render_text(login), render_mermaid(login), render_html(login)
    assert "SASL auth OAUTHBEARER" in text and "bind resource" in text and "IM&P" in text
    assert "J->>E: " in mermaid and "SASL auth OAUTHBEARER" in mermaid.split("J->>E: ", 1)[1]
    assert "C->>P: " in mermaid and "E-->>J: " in mermaid and "bound " in mermaid
    assert "xdb set: SASL auth OAUTHBEARER" in page and "bind resource" in page


def test_oauthlocal_off_login_stops_at_xmpp_sasl(xmpp_logs: dict[str, Path]) -> None:
    logins = _logins(xmpp_logs["oauthlocal-off"])
    failed = [s for s in logins if s.outcome == "failed"]
    assert failed and failed[0].stopped_at == "xmpp sasl", [s.summary() for s in logins]
    assert (EDGE, JABBER, "stream:features [CISCO-VTG-TOKEN]") in _arrows(failed[0])
    assert "failed at xmpp sasl" in render_text(failed[0])
    assert analyze([xmpp_logs["oauthlocal-off"]]).root_cause.id == "oauthlocal-off"


def test_bind_conflict_is_a_failed_arrow_of_the_login_and_its_stop(xmpp_logs: dict[str, Path]) -> None:
    logins = _logins(xmpp_logs["xmpp-bind-conflict"])
    failed = next(s for s in logins if s.outcome == "failed")
    assert failed.stopped_at == "xmpp bind" and failed.status == 409
    refused = next(m for m in failed.messages if m.label == "bind refused: 409 conflict")
    assert refused.src == EDGE and refused.dst == JABBER and refused.failed
    assert "bind refused: 409 conflict ✗" in render_mermaid(failed)
    assert 'class="msg fail"' in render_html(failed)
