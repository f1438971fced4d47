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


# The look of Cisco's web sign-in pages (Expressway and Unified CM administration, Jabber's embedded sign-in):
# the Cisco bridge mark and wordmark over the product name, a white panel on grey, "Username", "Password" and a
# blue "Sign In" button, the copyright line below. Modelled: no public capture of E's own page exists (docs/flow.md).
LOGIN_STYLE = """
body{margin:0;background:#f2f2f2;font:14px/1.4 "CiscoSans","Helvetica Neue",Helvetica,Arial,sans-serif;color:#39393b}
main{max-width:360px;margin:64px auto 16px;background:#fff;border-top:4px solid #049fd9;
box-shadow:0 1px 4px rgba(0,0,0,.18);padding:28px 32px 24px}
.brand{display:flex;align-items:flex-end;gap:8px;color:#049fd9}
.bridge{display:inline-flex;align-items:center;gap:3px;height:28px}
.bridge i{display:inline-block;width:3px;background:#049fd9;border-radius:2px}
.bridge i:nth-child(1),.bridge i:nth-child(9){height:8px}.bridge i:nth-child(2),.bridge i:nth-child(8){height:14px}
.bridge i:nth-child(3),.bridge i:nth-child(7){height:22px}.bridge i:nth-child(4),.bridge i:nth-child(6){height:14px}
.bridge i:nth-child(5){height:8px}
.wordmark{font-size:20px;font-weight:700;letter-spacing:1px;text-transform:lowercase}
h1{font-size:22px;font-weight:300;margin:18px 0 2px;color:#39393b}
.prompt{margin:0 0 18px;color:#6b6b6b}
.error{background:#fdecea;border-left:3px solid #cf2030;color:#a0141f;padding:6px 10px;margin:0 0 14px}
label{display:block;font-weight:600;margin:10px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;border:1px solid #b6b6b6;
border-radius:2px;font:inherit}
input:focus{outline:2px solid #049fd9;border-color:#049fd9}
button{margin-top:20px;width:100%;padding:9px;background:#049fd9;color:#fff;border:0;border-radius:2px;
font:inherit;font-weight:600;cursor:pointer}
button:hover{background:#0a84b8}
footer{max-width:424px;margin:0 auto;color:#8a8a8a;font-size:12px;text-align:center}
"""


def _build_login_form(segment: str, pairs: list[tuple[str, str]], who: str, message: str) -> bytes:
    hidden = [E.input(type="hidden", name=name, value=value) for name, value in pairs]
    form = E.form(
        E.label("Username", {"for": "username"}),
        E.input(type="text", id="username", name="username", autocomplete="username", autofocus="autofocus"),
        E.label("Password", {"for": "password"}),
        E.input(type="password", id="password", name="password", autocomplete="current-password"),
        *hidden,
        E.button("Sign In", type="submit"),
        method="POST", action=f"/{segment}/localauthentication", id="loginForm",
    )
    brand = E.div(E.span(*(E.i() for _ in range(9)), {"class": "bridge", "aria-hidden": "true"}),
                  E.span("Cisco", {"class": "wordmark"}), {"class": "brand"})
    body = [brand, E.h1("Cisco Expressway"), E.p(f"Sign in to {who}", {"class": "prompt"})]
    if message:
        body.append(E.p(message, {"class": "error", "role": "alert"}))
    page = E.html(
        E.head(E.meta(charset="utf-8"), E.meta(name="viewport", content="width=device-width, initial-scale=1"),
               E.title("Cisco Expressway - Sign In"), E.style(LOGIN_STYLE)),
        E.body(E.main(*body, form), E.footer("© Cisco Systems, Inc. All rights reserved.")),
        lang="en",
    )
    return etree.tostring(page, method="html", doctype="<!DOCTYPE html>")


@cache
def oauthcb_page() -> bytes:
    """The same bytes every time (no input), so built once: E answers ``/OAuthcb`` in every login."""
    page = E.html(E.head(E.title("Authorization Complete"), E.script(OAUTHCB_SCRIPT, language="javascript")),
                  E.body())
    return etree.tostring(page, method="html")
