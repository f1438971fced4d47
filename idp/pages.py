"""The IdP's own pages: its login form, the HTTP-POST binding's auto-submitting form, and its error page.

They look like a Shibboleth IdP's (a white card under a dark-red banner, "Web Login Service"), so a trainee watching
the browser can tell the IdP from Expressway's grey "Cisco Expressway" form. lxml builds and escapes every value.
"""

from __future__ import annotations

from lxml import etree
from lxml.builder import E

STYLE = ("body{font-family:sans-serif;background:#f3f1ee;margin:0}header{background:#7a1f1f;color:#fff;"
         "padding:12px 24px}main{background:#fff;max-width:360px;margin:32px auto;padding:24px;border-radius:6px}"
         "label{display:block;margin:8px 0}.error{color:#a00}")


def _page(title: str, *content: etree._Element, script: str = "", onload: str = "") -> bytes:
    head = [E.title(title), E.style(STYLE)]
    body = E.body(E.header(E.h1("Lab Identity Provider — Web Login Service")), E.main(*content))
    if onload:
        body.set("onload", onload)
    if script:
        head.append(E.script(script))
    return etree.tostring(E.html(E.head(*head), body), method="html", doctype="<!DOCTYPE html>")


def login_page(execution: str, service: str, message: str = "", username: str = "") -> bytes:
    """The login form (Shibboleth's ``login.vm`` fields: ``j_username``, ``j_password``, ``_eventId_proceed``)."""
    form = E.form(
        E.label("Username", E.input(type="text", name="j_username", value=username, autocomplete="username")),
        E.label("Password", E.input(type="password", name="j_password", autocomplete="current-password")),
        E.input(type="hidden", name="execution", value=execution),
        E.button("Login", type="submit", name="_eventId_proceed"),
        method="POST", action="/idp/profile/SAML2/Redirect/SSO", id="idpLogin",
    )
    parts = [E.p(f"Login to {service}")]
    if message:
        parts.append(E.p(message, {"class": "error"}))
    return _page("Web Login Service", *parts, form)


def post_page(acs_url: str, saml_response: str, relay_state: str) -> bytes:
    """The HTTP-POST binding (Bindings §3.5.4): a form the browser submits itself, with a button for browsers without
    scripting, as Shibboleth's ``postBinding.vm``."""
    form = E.form(
        E.input(type="hidden", name="RelayState", value=relay_state),
        E.input(type="hidden", name="SAMLResponse", value=saml_response),
        E.noscript(E.button("Continue", type="submit")),
        method="POST", action=acs_url, id="samlPost",
    )
    return _page("Redirecting", E.p("Signing you in…"), form, onload="document.forms[0].submit()")


def error_page(message: str) -> bytes:
    return _page("Web Login Service - Error", E.h2("Web Login Service - Unable to respond"),
                 E.p(message, {"class": "error"}))
