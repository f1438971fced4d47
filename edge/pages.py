"""The pages Expressway-E serves itself: the OAuth login form and the ``/OAuthcb`` "Authorization Complete" page.

After ``get_edge_sso`` says ``Token reuse="true"``, Jabber opens ``authorize`` in its embedded browser and Expressway-E
answers with a login form (seed, step 2); the form posts the user's credentials with the OAuth parameters to
``localauthentication``. The final redirect lands on ``/OAuthcb#code=…``, which E answers locally, never forwarding it
(seed, step 6): the fragment, and so the code, never leaves the client.
"""

from __future__ import annotations

from functools import cache

from lxml import etree
from lxml.builder import E

from common.oauthparams import AuthorizeRequest

OAUTHCB_SCRIPT = 'document.write("Authorization Complete");'


def login_form(segment: str, request: AuthorizeRequest, message: str = "") -> bytes:
    """The login form (its look is modelled; its fields are what ``localauthentication`` reads)."""
    hidden = [E.input(type="hidden", name=name, value=value) for name, value in request.pairs()]
    form = E.form(
        E.label("Username", E.input(type="text", name="username", autocomplete="username")),
        E.label("Password", E.input(type="password", name="password", autocomplete="current-password")),
        *hidden,
        E.button("Sign In", type="submit"),
        method="POST", action=f"/{segment}/localauthentication", id="loginForm",
    )
    body = [E.h1("Cisco Expressway"), E.p(f"Sign in to {request.email or 'your account'}")]
    if message:
        body.append(E.p(message, {"class": "error"}))
    page = E.html(E.head(E.title("Login")), E.body(*body, form))
    return etree.tostring(page, method="html", doctype="<!DOCTYPE html>")


@cache
def oauthcb_page() -> bytes:
    """The same bytes every time (no input), so built once: E answers ``/OAuthcb`` in every login."""
    page = E.html(E.head(E.title("Authorization Complete"), E.script(OAUTHCB_SCRIPT, language="javascript")),
                  E.body())
    return etree.tostring(page, method="html")
