"""The phone registration on the ladder: Jabber's sipio records as arrows after the login's get_edge_config."""

from __future__ import annotations

from analyzer.diagnose import analyze
from analyzer.ladder import render_text
from tests.catalogue import CataloguePlays


async def test_registration_arrows_join_the_login_session(catalogue_plays: CataloguePlays) -> None:
    result, logs = await catalogue_plays.play("healthy-sip-register")
    assert result.passed, result.problems
    report = analyze([logs])
    login = next(s for s in report.sessions if any(m.step == "get_edge_config" for m in s.messages))
    sip = [(m.label, m.status) for m in login.messages if m.step == "sip register"]
    assert sip[:4] == [("REGISTER", None), ('407 Proxy Authentication Required (Bearer realm="ccmsipline")', None),
                       ("REGISTER + Bearer token", None), ("200 OK", 200)]
    text = render_text(login)
    assert "REGISTER + Bearer token" in text and "GET CSFAOKANLAWON.cnf.xml" in text
