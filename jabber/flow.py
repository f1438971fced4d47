"""Jabber's MRA login as a generator of HTTP steps, free of sockets (STYLE: httpx auth flows, h11).

:func:`login` yields a :class:`Step` for each request Jabber makes and receives the :class:`Reply`; it returns a
:class:`Outcome`. The same flow is driven by the real client over loopback (:mod:`jabber.client`), by tests with
canned replies, and later by a load runner.

The order is the seed article's: ``get_edge_sso`` → (``Token reuse="true"``) ``authorize`` in the embedded browser →
``localauthentication`` → ``302 /OAuthcb#code=…`` → ``OAuthcb`` → token request → ``get_edge_config`` with
``Authorization: Bearer`` → UDS through the edge. With ``Token reuse="false"`` Jabber uses the credential path:
``get_edge_config`` with Basic credentials, then the ``X-Auth`` cookie. With ``Status enabled="true"`` as well, the
embedded browser follows ``authorize`` to the IdP, signs in on the IdP's page, and carries the IdP's ``Response``
back through the edge (``samlauthz``) to the same ``/OAuthcb#code=…`` (docs/sso.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urljoin, urlsplit

import lxml.etree
import lxml.html
from multidict import CIMultiDict, CIMultiDictProxy

from common.basic import basic_header
from common.domain import ProxyDescriptor, encode_segment
from common.edgexml import EdgeConfig, SSOResult, XmlError, parse_xml
from common.nodelog import CsfLog
from jabber import points

AUTHENTICATOR = 1001
SERVICES = ("_cisco-uds", "_cuplogin")
BROWSER = {
    "Accept": "image/gif, image/jpeg, image/pjpeg, application/x-ms-application, application/xaml+xml, "
              "application/x-ms-xbap, */*",
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
}


@dataclass(frozen=True)
class Settings:
    domain: str
    edge_origin: str
    userid: str
    password: str
    client_id: str
    client_secret: str
    device_id: str
    version: str
    state: str

    @property
    def user_agent(self) -> str:
        return f"Jabber/{self.version} (Windows;)"


@dataclass(frozen=True)
class Step:
    name: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    form: list[tuple[str, str]] | None = None


@dataclass(frozen=True)
class Reply:
    status: int
    reason: str
    headers: CIMultiDictProxy[str] | CIMultiDict[str]
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    path: str
    failed_step: str | None = None
    reason: str = ""
    access_token: str = ""
    refresh_token: str = ""
    expires_in: int = 0
    edge_config: EdgeConfig | None = None
    devices: tuple[str, ...] = ()
    status: int = 0


Flow = Generator[Step, Reply, Outcome]


def login(s: Settings, log: CsfLog) -> Flow:
    segment = encode_segment(s.domain)
    base = {"Accept": "*/*", "User-Agent": s.user_agent}
    reply = yield Step("get_edge_sso", "GET", f"{s.edge_origin}/{segment}/get_edge_sso?email={s.userid}@{s.domain}", base)
    if reply.status != 200:
        return _fail(log, "get_edge_sso", reply, "oauth")
    try:
        sso = SSOResult.from_xml(reply.body)
    except XmlError as exc:
        return _fail(log, "get_edge_sso", reply, "oauth", str(exc))

    if sso.token_reuse:
        log.write("INFO", points.TOKEN_REUSE, f"TokenReuse enabled for {AUTHENTICATOR}")
        log.write("DEBUG", points.AUTH_MODE, "")
        log.write("INFO", points.CREDENTIALS, f"for authenticator: {AUTHENTICATOR}")
        log.write("DEBUG", points.NEEDS_AUTH, f"creds->getSecureOAuthToken().empty() for service: {AUTHENTICATOR}")
        path = "sso" if sso.sso_enabled else "oauth"
        if sso.sso_enabled:
            log.write("INFO", points.SSO_MODE, f"SSO enabled for {AUTHENTICATOR}: sign-in through the IdP")
        tokens = yield from (_sso(s, segment, base, log) if sso.sso_enabled else _oauth(s, segment, base, log))
        if isinstance(tokens, Outcome):
            return tokens
        access, refresh, expires_in = tokens
        auth = {"Authorization": f"Bearer {access}"}
    else:
        log.write("INFO", points.TOKEN_REUSE, f"TokenReuse disabled for {AUTHENTICATOR}")
        access = refresh = ""
        expires_in = 0
        auth = {"Authorization": basic_header(s.userid, s.password)}
        path = "credentials"

    query = urlencode([("service_name", name) for name in SERVICES])
    reply = yield Step("get_edge_config", "GET", f"{s.edge_origin}/{segment}/get_edge_config?{query}", {**base, **auth})
    if reply.status != 200:
        return _fail(log, "get_edge_config", reply, path)
    try:
        config = EdgeConfig.from_xml(reply.body)
    except XmlError as exc:
        return _fail(log, "get_edge_config", reply, path, str(exc))
    if not config.user_uds or not config.user_uds[0].address:
        return _fail(log, "get_edge_config", reply, path, "XML didn't contain UDS server address")
    uds = config.user_uds[0]
    log.write("INFO", points.EDGE_CONFIG, f"Edge config received: UDS server {uds.address}:{uds.port}")
    cookie, cookie_domain = _xauth_cookie(reply.headers)
    if cookie:
        edge_host = urlsplit(s.edge_origin).hostname or ""
        if cookie_domain and not _domain_match(edge_host, cookie_domain):
            return _fail(log, "get_edge_config", reply, path, "XAuth Cookie expiration time is invalid")
        auth = {"Cookie": f"X-Auth={cookie}"}

    descriptor = ProxyDescriptor(s.domain, "https" if uds.port == 8443 else "http", uds.address, uds.port).encode()
    uds_base = f"{s.edge_origin}/{descriptor}/cucm-uds/user/{quote(s.userid)}"
    reply = yield Step("uds_user", "GET", uds_base, {**base, **auth})
    if reply.status != 200:
        return _fail(log, "uds_user", reply, path)
    log.write("INFO", points.UDS, f"UDS user {s.userid}: {reply.status}")
    reply = yield Step("uds_devices", "GET", f"{uds_base}/devices", {**base, **auth})
    if reply.status != 200:
        return _fail(log, "uds_devices", reply, path)
    try:
        devices = tuple(str(n) for n in parse_xml(reply.body, "devices").xpath("device/name/text()"))
    except XmlError as exc:
        return _fail(log, "uds_devices", reply, path, str(exc))
    log.write("INFO", points.UDS, f"UDS devices for {s.userid}: {', '.join(devices) or 'none'}")
    return Outcome(True, path, access_token=access, refresh_token=refresh, expires_in=expires_in, edge_config=config,
                   devices=devices)


def refresh(s: Settings, refresh_token: str, log: CsfLog) -> Flow:
    """The refresh grant through the edge (RFC 6749 §6): a new access token without asking the user again."""
    segment = encode_segment(s.domain)
    log.write("INFO", points.REFRESH, "Refreshing the access token with the refresh token")
    form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", s.client_id)]
    reply = yield Step("refresh_token", "POST", f"{s.edge_origin}/{segment}/access_token",
                       {"Accept": "*/*", "User-Agent": s.user_agent,
                        "Authorization": basic_header(s.client_id, s.client_secret)}, form)
    try:
        tokens = json.loads(reply.body) if reply.status == 200 else {}
        access = tokens["access_token"] if reply.status == 200 else ""
    except (ValueError, KeyError):
        access = ""
    if not access:
        reason = _oauth_error(reply)
        log.write("ERROR", points.REFRESH_FAILURE,
                  f"handleRefreshTokenFailure: refresh failed ({reason}); clearing tokens, full authorization needed")
        return Outcome(False, "refresh", failed_step="refresh_token", reason=reason, status=reply.status)
    log.write("INFO", points.TOKENS, f"Access token refreshed, expires_in={tokens.get('expires_in')}")
    return Outcome(True, "refresh", access_token=access, refresh_token=tokens.get("refresh_token", refresh_token),
                   expires_in=int(tokens.get("expires_in", 0)))


def edge_config(s: Settings, access_token: str, log: CsfLog) -> Flow:
    """``get_edge_config`` with the current access token, as Jabber repeats it on reconnect."""
    segment = encode_segment(s.domain)
    query = urlencode([("service_name", name) for name in SERVICES])
    reply = yield Step("get_edge_config", "GET", f"{s.edge_origin}/{segment}/get_edge_config?{query}",
                       {"Accept": "*/*", "User-Agent": s.user_agent, "Authorization": f"Bearer {access_token}"})
    if reply.status != 200:
        return _fail(log, "get_edge_config", reply, "oauth")
    return Outcome(True, "oauth", access_token=access_token, edge_config=EdgeConfig.from_xml(reply.body))


def _oauth_error(reply: Reply) -> str:
    try:
        body = json.loads(reply.body)
        return f"{body.get('error', reply.status)}: {body.get('error_description', '')}".rstrip(": ")
    except (ValueError, AttributeError):
        return f"HTTP {reply.status} {reply.reason}".strip()


def _oauth(s: Settings, segment: str, base: dict[str, str],
           log: CsfLog) -> Generator[Step, Reply, Outcome | tuple[str, str, int]]:
    query = urlencode([("response_type", "code"), ("realm", "local"), ("client_id", s.client_id),
                       ("device_id", s.device_id), ("email", f"{s.userid}@{s.domain}"), ("state", s.state)],
                      safe="@")
    url = f"{s.edge_origin}/{segment}/authorize?{query}"
    log.write("DEBUG", points.NAVIGATE, f"Enter - url = {url}")
    reply = yield Step("authorize", "GET", url, BROWSER)
    if reply.status != 200:
        return _fail(log, "authorize", reply, "oauth")
    try:
        action, fields = _login_form(reply.body)
    except ValueError as exc:
        return _fail(log, "authorize", reply, "oauth", str(exc))
    fields.update({"username": s.userid, "password": s.password})
    headers = {**BROWSER, "Referer": url}
    reply = yield Step("localauthentication", "POST", f"{s.edge_origin}{action}", headers, list(fields.items()))
    location = reply.headers.get("Location", "")
    if reply.status != 302 or "#" not in location:
        return _fail(log, "localauthentication", reply, "oauth")
    return (yield from _code_to_tokens(s, segment, base, log, location, headers, "oauth"))


def _sso(s: Settings, segment: str, base: dict[str, str],
         log: CsfLog) -> Generator[Step, Reply, Outcome | tuple[str, str, int]]:
    """The embedded browser's SAML SSO: ``authorize`` → 302 to the IdP → the IdP's form → the HTTP-POST page →
    ``samlauthz`` on the edge → ``302 /OAuthcb#code=…``; then the same token request as the local login."""
    query = urlencode([("response_type", "code"), ("client_id", s.client_id), ("device_id", s.device_id),
                       ("email", f"{s.userid}@{s.domain}"), ("state", s.state)], safe="@")
    url = f"{s.edge_origin}/{segment}/authorize?{query}"
    log.write("DEBUG", points.NAVIGATE, f"Enter - url = {url}")
    reply = yield Step("authorize", "GET", url, BROWSER)
    idp_url = reply.headers.get("Location", "")
    if reply.status != 302 or not idp_url.startswith(("http://", "https://")):
        return _fail(log, "authorize", reply, "sso", _page_error(reply))
    log.write("INFO", points.BROWSER_NAV, f"url = {urlsplit(idp_url)._replace(query='').geturl()} (IdP)")
    reply = yield Step("idp_sso", "GET", idp_url, BROWSER)
    if reply.status != 200:
        return _browser_fail(log, "idp_sso", reply, _page_error(reply))
    try:
        action, fields = _form(reply.body, ("j_username", "j_password"))
    except ValueError as exc:
        return _browser_fail(log, "idp_sso", reply, str(exc))
    fields.update({"j_username": s.userid, "j_password": s.password})
    form_url = urljoin(idp_url, action)
    reply = yield Step("idp_login", "POST", form_url, {**BROWSER, "Referer": idp_url}, list(fields.items()))
    try:
        acs, posted = _form(reply.body, ("SAMLResponse",)) if reply.status == 200 else ("", {})
    except ValueError:
        acs, posted = "", {}
    if not acs:
        return _browser_fail(log, "idp_login", reply, _page_error(reply) or "the IdP did not sign the user in")
    log.write("INFO", points.BROWSER_NAV, f"url = {acs} (SAML response to the edge)")
    reply = yield Step("samlauthz", "POST", urljoin(form_url, acs), {**BROWSER, "Referer": form_url},
                       list(posted.items()))
    location = reply.headers.get("Location", "")
    if reply.status != 302 or "#" not in location:
        return _fail(log, "samlauthz", reply, "sso", _page_error(reply))
    return (yield from _code_to_tokens(s, segment, base, log, location, BROWSER, "sso"))


def _code_to_tokens(s: Settings, segment: str, base: dict[str, str], log: CsfLog, location: str,
                    headers: dict[str, str], path: str) -> Generator[Step, Reply, Outcome | tuple[str, str, int]]:
    """``/OAuthcb#code=…`` in the browser, then the code for tokens (RFC 6749 §4.1.3)."""
    target = urlsplit(location)
    reply = yield Step("OAuthcb", "GET", f"{s.edge_origin}{target.path}", headers)
    if reply.status != 200:
        return _fail(log, "OAuthcb", reply, path)
    fragment = dict(part.split("=", 1) for part in target.fragment.split("&") if "=" in part)
    code = fragment.get("code", "")
    if fragment.get("state", s.state) != s.state or not code:
        return _fail(log, "OAuthcb", reply, path, "authorization response state mismatch or no code")
    log.write("INFO", points.AUTH_CODE, f"Authorization code received, expires_in={fragment.get('expires_in', '?')}")
    form = [("grant_type", "authorization_code"), ("code", code), ("client_id", s.client_id)]
    reply = yield Step("access_token", "POST", f"{s.edge_origin}/{segment}/access_token",
                       {**base, "Authorization": basic_header(s.client_id, s.client_secret)}, form)
    if reply.status != 200:
        return _fail(log, "access_token", reply, path)
    try:
        tokens = json.loads(reply.body)
        access, refresh = tokens["access_token"], tokens.get("refresh_token", "")
    except (ValueError, KeyError) as exc:
        return _fail(log, "access_token", reply, path, f"unreadable token response: {exc}")
    log.write("INFO", points.TOKENS, f"Access token received, expires_in={tokens.get('expires_in')}, "
                                     f"refresh token {'received' if refresh else 'absent'}")
    return access, refresh, int(tokens.get("expires_in", 0))


def _form(body: bytes, needed: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The first form of a page that has the ``needed`` fields: its action and its fields."""
    try:
        page = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise ValueError(f"unreadable page: {exc}") from None
    for form in page.forms:
        fields = {name: value or "" for name, value in form.fields.items()}
        if all(name in fields for name in needed) and form.action:
            return form.action, fields
    raise ValueError(f"no form with {', '.join(needed)} on the page")


def _page_error(reply: Reply) -> str:
    """What an error page says (its ``class="error"`` paragraph, else its text), for Jabber's failure line."""
    try:
        page = lxml.html.fromstring(reply.body) if reply.body.strip() else None
    except (ValueError, lxml.etree.ParserError):
        page = None
    if page is None:
        return ""
    found = page.xpath('//*[@class="error"]//text()') or page.xpath("//body//p//text()")
    return " ".join(t.strip() for t in found if t.strip())[:300]


def _browser_fail(log: CsfLog, step: str, reply: Reply, reason: str) -> Outcome:
    log.write("ERROR", points.BROWSER_ERROR, f"{step}: HTTP {reply.status}: {reason}")
    return _fail(log, step, reply, "sso", reason)


def _login_form(body: bytes) -> tuple[str, dict[str, str]]:
    action, fields = _first_form(body)
    if "username" not in fields or "password" not in fields or not action:
        raise ValueError("the login form lacks username, password or action")
    return action, fields


_HTML = lxml.etree.HTMLParser()
_WHOLE_DOCUMENT = re.compile(rb"\s*<(?:html|!doctype)", re.IGNORECASE)  # lxml.html's own test (_looks_like_full_html)
_FIRST_FORM = lxml.etree.XPath("(descendant-or-self::form)[1]")
_CONTROLS = ("select", "input", "textarea")


def _first_form(body: bytes) -> tuple[str | None, dict[str, str]]:
    """The action and fields of a page's first form, as ``lxml.html``'s ``page.forms[0]`` gives them
    (``form.action``, ``form.fields`` with ``None`` as ``""``).

    Every login reads Expressway-E's login form, and ``lxml.html`` looks each field up by name among all of the
    form's controls, building a proxy object for each element it touches: the largest cost of the load client's
    parsing. A whole document whose first form holds only plain ``<input>`` elements (no select, textarea, checkbox
    or radio, whose values lxml works out by their own rules) is read here from the plain lxml tree with the same
    rules: names in document order, the first of a repeated name wins, the ``value`` attribute or nothing. Anything
    else goes to ``lxml.html``.
    """
    if not _WHOLE_DOCUMENT.match(body):  # lxml.html reads a fragment by other rules
        return _lxml_form(body)
    root = lxml.etree.fromstring(body, _HTML)
    found = _FIRST_FORM(root) if root is not None else []
    if not found:
        return _lxml_form(body)
    form = found[0]
    fields: dict[str, str] = {}
    for control in form.iter(*_CONTROLS):
        if control.tag != "input" or control.get("type", "text").lower() in ("checkbox", "radio"):
            return _lxml_form(body)
        name = control.get("name")
        if name is not None and name not in fields:
            fields[name] = control.get("value") or ""
    return form.get("action"), fields


def _lxml_form(body: bytes) -> tuple[str | None, dict[str, str]]:
    forms = lxml.html.fromstring(body).forms
    if not forms:
        raise ValueError("the authorize page has no login form")
    return forms[0].action, {name: value or "" for name, value in forms[0].fields.items()}


def _xauth_cookie(headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> tuple[str, str]:
    """The ``X-Auth`` cookie and its ``Domain`` attribute, if C set one."""
    for value in headers.getall("Set-Cookie", []):
        name, _, rest = value.partition("=")
        if name.strip() == "X-Auth":
            attributes = dict(part.strip().partition("=")[::2] for part in rest.split(";")[1:])
            return rest.split(";", 1)[0], attributes.get("Domain", "")
    return "", ""


def _domain_match(host: str, domain: str) -> bool:
    """RFC 6265 section 5.1.3: a cookie for ``.lab.example`` is for hosts in that domain only. Jabber keeps no cookie
    that its edge host would never send back, and reports it as the field does: "XAuth Cookie expiration time is
    invalid" (the message is Jabber's; the check is modelled)."""
    domain = domain.lower().lstrip(".")
    return host.lower() == domain or host.lower().endswith("." + domain)


def _fail(log: CsfLog, step: str, reply: Reply, path: str, reason: str = "") -> Outcome:
    reason = reason or f"HTTP {reply.status} {reply.reason}".strip()
    log.write("ERROR", points.FAILURE, f"{step} failed: {reason}")
    return Outcome(False, path, failed_step=step, reason=reason, status=reply.status)
