"""Jabber's login flow without sockets: canned replies in, the requests it makes out."""

from __future__ import annotations

import json

import pytest
from multidict import CIMultiDict

from common.clock import LabClock
from common.edgexml import EdgeConfig, Server, SSOResult
from common.logformats.csf import parse_log
from common.nodelog import CsfLog, LineSink
from jabber.flow import Outcome, Reply, Settings, login

SETTINGS = Settings("lab.example", "http://expe.lab.example:8443", "u1", "pw", "C" + "a" * 64, "secret",
                    "dev-1", "12.8.0.51920", "1771145038")
FORM = (b'<html><body><form method="POST" action="/bGFiLmV4YW1wbGU/localauthentication">'
        b'<input name="username"><input name="password" type="password">'
        b'<input type="hidden" name="state" value="1771145038"></form></body></html>')
CONFIG = EdgeConfig((), (), "", (), (), (Server("cucm.lab.example", 8443),))
DEVICES = b'<devices><device><name>CSFU1</name></device></devices>'


def reply(status: int = 200, body: bytes = b"", **headers: str) -> Reply:
    return Reply(status, "", CIMultiDict(headers), body)


def drive(replies: dict[str, Reply]) -> tuple[Outcome, list, LineSink]:  # type: ignore[type-arg]
    sink = LineSink()
    flow = login(SETTINGS, CsfLog(LabClock(), sink))
    steps = []
    try:
        step = next(flow)
        while True:
            steps.append(step)
            step = flow.send(replies[step.name])
    except StopIteration as done:
        return done.value, steps, sink


OAUTH_REPLIES = {
    "get_edge_sso": reply(body=SSOResult(False, True).to_xml()),
    "authorize": reply(body=FORM),
    "localauthentication": reply(302, Location="/OAuthcb#code=abc&expires_in=299&realm=local&state=1771145038"),
    "OAuthcb": reply(body=b"<html>Authorization Complete</html>"),
    "access_token": reply(body=json.dumps({"access_token": "AT", "refresh_token": "RT", "expires_in": 3600}).encode()),
    "get_edge_config": reply(body=CONFIG.to_xml()),
    "uds_user": reply(body=b"<user/>"),
    "uds_devices": reply(body=DEVICES),
}


def test_oauth_login_makes_the_seed_requests_in_order() -> None:
    outcome, steps, sink = drive(OAUTH_REPLIES)
    assert outcome.ok and outcome.access_token == "AT" and outcome.devices == ("CSFU1",)
    assert [s.name for s in steps] == list(OAUTH_REPLIES)
    token = next(s for s in steps if s.name == "access_token")
    assert ("code", "abc") in (token.form or []) and token.headers["Authorization"].startswith("Basic ")
    assert steps[5].headers["Authorization"] == "Bearer AT"
    assert steps[6].url.startswith("http://expe.lab.example:8443/bGFiLmV4YW1wbGUvaHR0cHMvY3VjbS5sYWIuZXhhbXBsZS84NDQz/")
    lines = parse_log(sink.text())
    assert lines[0].message == "TokenReuse enabled for 1001"
    assert lines[0].location == r"rvices\impl\system\SingleSignOn.cpp(206)"


def test_token_reuse_false_takes_the_credential_path_with_the_x_auth_cookie() -> None:
    replies = dict(OAUTH_REPLIES)
    replies["get_edge_sso"] = reply(body=SSOResult(False, False).to_xml())
    replies["get_edge_config"] = reply(body=CONFIG.to_xml(), **{"Set-Cookie": "X-Auth=xyz; Path=/"})
    outcome, steps, _ = drive(replies)
    assert outcome.ok and outcome.path == "credentials"
    assert [s.name for s in steps] == ["get_edge_sso", "get_edge_config", "uds_user", "uds_devices"]
    assert steps[1].headers["Authorization"].startswith("Basic ")
    assert steps[2].headers["Cookie"] == "X-Auth=xyz"


def test_empty_user_uds_server_fails_as_jabber_reports_it() -> None:
    replies = dict(OAUTH_REPLIES)
    replies["get_edge_config"] = reply(body=EdgeConfig((), (), "", (), (), ()).to_xml())
    outcome, _, sink = drive(replies)
    assert not outcome.ok and outcome.failed_step == "get_edge_config"
    assert outcome.reason == "XML didn't contain UDS server address"
    assert parse_log(sink.text())[-1].level == "ERROR"


def test_a_refused_login_stops_at_localauthentication() -> None:
    replies = dict(OAUTH_REPLIES)
    replies["localauthentication"] = reply(401, b"<html>Authentication failed</html>")
    outcome, steps, _ = drive(replies)
    assert outcome.failed_step == "localauthentication" and steps[-1].name == "localauthentication"


def test_state_mismatch_in_the_redirect_is_refused() -> None:
    replies = dict(OAUTH_REPLIES)
    replies["localauthentication"] = reply(302, Location="/OAuthcb#code=abc&state=999")
    outcome, _, _ = drive(replies)
    assert outcome.failed_step == "OAuthcb"


# --- the login form, read without lxml.html's per-field proxies --------------------------------------------------

def _edge_page(message: str = "", email: str = "u1@lab.example") -> bytes:
    from common.oauthparams import AuthorizeRequest
    from edge.pages import login_form

    request = AuthorizeRequest("code", "C" + "a" * 64, "local", "1771145038", "dev-1", email)
    return login_form("bGFiLmV4YW1wbGU", request, message)


PAGES = [
    FORM,
    b'<!DOCTYPE html><html><body><form action="/a"><input name="username" value="x"><input name="username" value="y">'
    b'<input value="nameless"><INPUT NAME="password" TYPE="PASSWORD"><button name="go" value="1">Go</button>'
    b'<input type="submit" name="s" value="Sign In"><input type="hidden" name="e" value=""></form>'
    b'<form action="/second"><input name="other"></form></body></html>',
    b'<html><body><form action="/a"><input name="username"><input name="password">'
    b'<input type="checkbox" name="keep" value="1" checked><input type="RADIO" name="r" value="a"></form></html>',
    b'<html><body><form action="/a"><input name="username"><input name="password"><select name="s">'
    b'<option value="1">one</option><option value="2" selected>two</option></select>'
    b'<textarea name="t">text</textarea></form></html>',
    b'<form action="/fragment"><input name="username" value="u"><input name="password"></form>',
    b"  \n<html><body><p>no form here</p></body></html>",
    b"<html><body><form><input name='username'><input name='password'></form></body></html>",
]


def test_the_login_form_is_read_as_lxml_html_reads_it() -> None:
    """The fast reader gives exactly lxml.html's ``forms[0].action`` and ``fields`` (None as "") for E's own
    pages and for the cases it hands to lxml.html: repeats, nameless inputs, checkboxes, radios, selects,
    textareas, fragments, no form at all."""
    import lxml.html

    from jabber.flow import _first_form

    pages = [_edge_page(), _edge_page("Authentication failed"), _edge_page(email="o'brien+x@lab.example"), *PAGES]
    for page in pages:
        forms = lxml.html.fromstring(page).forms
        if not forms:
            with pytest.raises(ValueError, match="no login form"):
                _first_form(page)
            continue
        expected = (forms[0].action, {name: value or "" for name, value in forms[0].fields.items()})
        assert _first_form(page) == expected, page
    assert _first_form(_edge_page())[1]["state"] == "1771145038"
    assert _first_form(PAGES[1])[1] == {"username": "x", "password": "", "s": "Sign In", "e": ""}
    assert _first_form(PAGES[2])[1]["keep"] == "1" and _first_form(PAGES[3])[1]["s"] == "2"


def test_a_login_form_without_action_fails_the_authorize_step() -> None:
    replies = dict(OAUTH_REPLIES)
    replies["authorize"] = reply(body=PAGES[-1])
    outcome, steps, _ = drive(replies)
    assert not outcome.ok and outcome.failed_step == "authorize" and "lacks" in outcome.reason
