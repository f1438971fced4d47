"""The pages Expressway-E serves itself: the OAuth login form and the ``/OAuthcb`` "Authorization Complete" page.

After ``get_edge_sso`` says ``Token reuse="true"``, Jabber opens ``authorize`` in its embedded browser and Expressway-E
answers with a login form (seed, step 2); the form posts the user's credentials with the OAuth parameters to
``localauthentication``. The final redirect lands on ``/OAuthcb#code=…``, which E answers locally, never forwarding it
(seed, step 6): the fragment, and so the code, never leaves the client.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

from lxml import etree
from lxml.builder import E

from common.oauthparams import AuthorizeRequest

OAUTHCB_SCRIPT = 'document.write("Authorization Complete");'


def login_form(segment: str, request: AuthorizeRequest, message: str = "") -> bytes:
    """The login form (its look is modelled; its fields are what ``localauthentication`` reads).

    E serves it in every login, and lxml's builder was the largest cost of that step. The page lxml writes for
    markers in place of the request's values is kept, cut at the markers, and filled in with the real values when
    each of them is made only of characters that lxml's HTML serializer writes as they are (letters, digits,
    ``._@-``; the segment: letters, digits, ``_-``). Anything else — an error message, a ``+`` or an ``&`` or a
    non-ASCII letter in a value — is built by lxml, which escapes it.
    """
    pairs = request.pairs()
    who = request.email or "your account"
    if not message and _SAFE_SEGMENT.fullmatch(segment) and all(_SAFE_VALUE.fullmatch(v) for _, v in pairs):
        template = _login_template(tuple(name for name, _ in pairs))
        if template is not None:
            order, pieces = template
            values = [segment, *(value for _, value in pairs), who]
            return pieces[0] + b"".join(values[i].encode() + piece for i, piece in zip(order, pieces[1:]))
    return _build_login_form(segment, pairs, who, message)


_SAFE_VALUE = re.compile(r"[A-Za-z0-9._@-]*")
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


@lru_cache(maxsize=8)
def _login_template(names: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[bytes, ...]] | None:
    """lxml's page for these field names, cut where the segment, each value and the "Sign in to" name go: which of
    them comes next in the page (their index in ``[segment, *values, who]``), and the bytes around them."""
    markers = [f"mrasimMARK{i}X".encode() for i in range(len(names) + 2)]
    page = _build_login_form(markers[0].decode(), list(zip(names, (m.decode() for m in markers[1:-1]))),
                             markers[-1].decode(), "")
    if any(page.count(marker) != 1 for marker in markers):
        return None  # a marker written twice or not as it is: no template, lxml builds every page
    order = tuple(sorted(range(len(markers)), key=lambda i: page.index(markers[i])))
    pieces = []
    for i in order:
        head, _, page = page.partition(markers[i])
        pieces.append(head)
    return order, (*pieces, page)


def _build_login_form(segment: str, pairs: list[tuple[str, str]], who: str, message: str) -> bytes:
    hidden = [E.input(type="hidden", name=name, value=value) for name, value in pairs]
    form = E.form(
        E.label("Username", E.input(type="text", name="username", autocomplete="username")),
        E.label("Password", E.input(type="password", name="password", autocomplete="current-password")),
        *hidden,
        E.button("Sign In", type="submit"),
        method="POST", action=f"/{segment}/localauthentication", id="loginForm",
    )
    body = [E.h1("Cisco Expressway"), E.p(f"Sign in to {who}")]
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
