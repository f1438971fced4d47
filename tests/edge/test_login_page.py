"""Expressway-E's sign-in page looks like a Cisco product's, and keeps the fields localauthentication reads."""

from __future__ import annotations

import lxml.html

from common.oauthparams import AuthorizeRequest
from edge.pages import login_form


def test_the_sign_in_page_reads_like_the_product_and_keeps_its_form() -> None:
    request = AuthorizeRequest(response_type="code", client_id="C" + "a" * 64, realm="local", state="42",
                               device_id="dev-1", email="aokanlawon@lab.example")
    page = lxml.html.fromstring(login_form("bGFiLmV4YW1wbGU", request))
    assert page.findtext(".//title") == "Cisco Expressway - Sign In"
    assert page.findtext(".//h1") == "Cisco Expressway"
    labels = {label.get("for"): label.text for label in page.iter("label")}
    assert labels == {"username": "Username", "password": "Password"}
    form = page.forms[0]
    assert form.action == "/bGFiLmV4YW1wbGU/localauthentication" and form.method == "POST"
    assert {"username", "password", *dict(request.pairs())} <= set(form.fields)
    assert page.findtext(".//button") == "Sign In"
    assert "Cisco Systems" in page.findtext(".//footer")
    assert page.findtext(".//p[@class='prompt']") == "Sign in to aokanlawon@lab.example"


def test_an_error_on_the_sign_in_page_is_escaped_and_announced() -> None:
    request = AuthorizeRequest(response_type="code", client_id="C1", realm="local", state="1", device_id="d",
                               email="a@lab.example")
    page = login_form("bGFiLmV4YW1wbGU", request, "<b>Authentication failed</b>")
    assert b"&lt;b&gt;Authentication failed&lt;/b&gt;" in page
    assert lxml.html.fromstring(page).find(".//p[@role='alert']") is not None
