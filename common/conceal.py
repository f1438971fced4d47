"""Keep secrets out of the logs, the way the real products do: by showing only what is known to be safe.

Expressway prints credentials, authorization codes and tokens as ``<CONCEALED>`` (seed article, every leg), the
OAuthvalidator body as ``{"token": "<concealed>"}``, the redirect it sends as ``/OAuthcb#code=<CONCEALED>`` and its own
event lines as ``code=Hidden``. Token values in a JSON body are shortened to a head and a tail, as the seed shows them,
which identifies a token to a reader without letting anyone replay it.

Concealment works from allow lists (issue 13): a header, a query or form parameter, a JSON member, an XML element or
attribute, a multipart field is shown only when its *name* is on the list of names known to carry no credential, and
even then a value shaped like a JWT is concealed. Everything else — a parameter nobody expected (``?bearer=<token>``),
a body whose type we do not read (``text/plain``, ``multipart/form-data`` parts that are not on the list, binary) —
is ``<CONCEALED>``. A deny list of "secret names" shows whatever a client thinks of next; an allow list cannot.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from common.concealpath import conceal_path

CONCEALED = "<CONCEALED>"

SAFE_HEADERS = frozenset({
    "accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges", "age", "allow",
    "cache-control", "connection", "content-disposition", "content-encoding", "content-language", "content-length",
    "content-type", "date", "etag", "expect", "expires", "host", "if-modified-since", "if-none-match",
    "keep-alive", "last-modified", "location", "origin", "pragma", "referer", "retry-after", "server",
    "strict-transport-security", "te", "trackingid", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
    "www-authenticate", "x-content-type-options", "x-forwarded-for", "x-forwarded-proto", "x-frame-options",
})
"""Headers whose value is shown; ``Location`` and ``Referer`` still have their parameters concealed."""

SAFE_PARAMS = frozenset({
    "response_type", "realm", "client_id", "device_id", "email", "state", "grant_type", "service_name", "reqtype",
    "user_id", "expires_in", "scope", "error", "error_description", "token_type", "refresh_token_expires_in",
})
"""Query, fragment, form and multipart names whose value is shown (``username`` is concealed, as in the seed)."""

NAMES_SHOWN = SAFE_PARAMS | frozenset({
    "username", "password", "code", "client_secret", "token", "access_token", "refresh_token", "id_token", "bearer",
    "redirect_uri", "nonce", "assertion", "SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature",
    "j_username", "j_password", "execution", "_eventId_proceed", "secret", "key", "apikey", "api_key", "pin", "otp",
    "passwd", "pwd", "auth", "session", "sessionid", "jsessionid",
})
"""Parameter names shown (with their value concealed unless on :data:`SAFE_PARAMS`): the names MRA and SAML use and
the usual names of credentials. A name not on this list could itself be the secret, so the whole pair is concealed."""

SAFE_JSON = SAFE_PARAMS | frozenset({
    "redirect_uri", "user", "expires", "issuer", "reason", "command", "output", "ok", "stale", "status", "valid",
    "cluster", "kid", "signing_kid", "encryption_kid", "signing_public_key",
})
_TOKEN_FIELDS = frozenset({"access_token", "refresh_token", "id_token"})

SAFE_XML = frozenset({
    # getEdgeConfigResponse (mra-facts section 4); containers are left out: text directly in them is concealed
    "name", "error", "server", "priority", "weight", "port", "address", "tlsPort", "route", "udsPort", "hostname",
    "tftpServer",
    # UDS
    "homeCluster", "userName", "firstName", "lastName", "middleName", "email", "id", "displayName", "phoneNumber",
    "directoryUri", "model", "type", "description", "protocol", "errorMessage", "message", "mraEnabled",
    # EPAS SOAP (common/xmpp/epas.py)
    "faultcode", "faultstring", "username", "client-type", "client-version", "success", "primary-server",
    "presence-domain",
})
"""XML elements whose text is shown (``password``, ``session-key`` and anything unknown are concealed)."""
SAFE_XML_ATTRS = frozenset({
    "version", "uri", "serversUri", "found", "enabled", "reuse", "xmlns", "type", "name", "code", "mechanism",
})

_URL_ATTRS = frozenset({"uri", "serversUri"})
"""Attributes holding a URL (UDS): shown with their path and query concealed as any URL in a log."""

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_.-]*")
_FRAGMENT_CODE = "#code="


def _unsafe_value(value: str) -> bool:
    return "eyJ" in value and _JWT.search(value) is not None


def conceal_header(name: str, value: str) -> str:
    key = name.lower()
    if key not in SAFE_HEADERS:
        return CONCEALED
    if key in ("location", "referer"):
        return conceal_location(value)
    return CONCEALED if _unsafe_value(value) else value


def _conceal_pairs(text: str) -> str:
    """``a=1&b=2;c=3`` with every value not on :data:`SAFE_PARAMS` concealed; an item without ``=`` is a value."""
    out = []
    for item in re.split(r"([&;])", text):
        if item in ("&", ";") or not item:
            out.append(item)
            continue
        key, sep, value = item.partition("=")
        if not sep:
            out.append(item if key in SAFE_PARAMS else CONCEALED)
        elif key in SAFE_PARAMS and not _unsafe_value(value):
            out.append(item)
        elif key not in NAMES_SHOWN:
            out.append(CONCEALED)
        else:
            out.append(f"{key}={CONCEALED}" if value else item)
    return "".join(out)


def conceal_params(text: str) -> str:
    """Conceal every query, fragment or form value whose name is not known to be safe.

    ``text`` is a form body (``a=1&b=2``), a URL, or a request line (``GET //host:8443/path?query``); the path before
    ``?`` is concealed segment by segment (:mod:`common.concealpath`), the query and fragment pair by pair.
    """
    head, qmark, rest = text.partition("?")
    if not qmark and "#" not in head and ("=" in head and "/" not in head.split("=", 1)[0]):
        return _conceal_pairs(text)  # a form body
    if not qmark:
        head, hash_, fragment = head.partition("#")
        return _path(head) + (hash_ + _conceal_pairs(fragment) if hash_ else "")
    query, hash_, fragment = rest.partition("#")
    tail, space, version = query.rpartition(" HTTP/") if " HTTP/" in query else (query, "", "")
    shown = _conceal_pairs(tail) + space + version
    return f"{_path(head)}?{shown}" + (hash_ + _conceal_pairs(fragment) if hash_ else "")


def _path(path: str) -> str:
    """The part of a URL or request line before its query, each path segment by allow list
    (:mod:`common.concealpath`); a request line's ``HTTP/1.1`` is kept."""
    head, space, version = path.rpartition(" HTTP/") if " HTTP/" in path else (path, "", "")
    return conceal_path(head) + space + version


def conceal_location(location: str) -> str:
    """``/OAuthcb#code=<code>&state=…`` → ``/OAuthcb#code=<CONCEALED>``: the whole fragment after ``code=`` goes."""
    head, sep, _ = location.partition(_FRAGMENT_CODE)
    return f"{conceal_params(head)}{_FRAGMENT_CODE}{CONCEALED}" if sep else conceal_params(location)


def hide_location(location: str) -> str:
    """The form Expressway-C's event lines use: ``Redirect="/OAuthcb#code=Hidden"``."""
    head, sep, _ = location.partition(_FRAGMENT_CODE)
    return f"{head}#code=Hidden" if sep else conceal_params(location)


def shorten_token(token: str) -> str:
    if len(token) <= 40:
        return CONCEALED
    return f"{token[:18]}--------{token[-8:]}"


_FORM = re.compile(r"[^\s=&;]*=[^\s&;]*(?:[&;][^\s=&;]*(?:=[^\s&;]*)?)*")


MEMO_BODY_LIMIT = 8192
"""Bodies up to this many characters have their concealed text remembered (:func:`conceal_body`)."""


def conceal_body(body: str, content_type: str = "", *, response: bool = False) -> str:
    """Conceal a request or response body for a ``HTTPMSG``/``MSGBODY`` block, whatever its type.

    JSON, XML, forms and multipart bodies are concealed member by member, whatever ``Content-Type`` claims; HTML pages
    (ours: the login form, ``/OAuthcb``, failure pages) have their form values concealed. Any other body is concealed
    whole, except, in a ``response``, a short line of plain words (``Unauthorized: no credentials``).

    The text is a pure function of its three arguments, and with DEBUG on many bodies recur from one login to the
    next whoever logs in (CUCM's ``/cucm-uds/servers`` answer, the edge configuration of a cluster, the
    OAuthvalidator's request, the login page): in a storm of different users, 54 % of Expressway-C's and 33 % of
    Expressway-E's bodies were one already concealed (issue 18, fourth round). So the result for a body of up to
    :data:`MEMO_BODY_LIMIT` characters is remembered, a few hundred at most, least recently used first out; the text
    is the same either way.
    """
    if not body:
        return body
    if len(body) <= MEMO_BODY_LIMIT:
        return _remembered(body, content_type, response)
    return _conceal_body(body, content_type, response)


@lru_cache(maxsize=256)
def _remembered(body: str, content_type: str, response: bool) -> str:
    return _conceal_body(body, content_type, response)


def _conceal_body(body: str, content_type: str, response: bool) -> str:
    kind = content_type.lower()
    stripped = body.strip()
    if "multipart/" in kind or stripped.startswith("--"):
        return _conceal_multipart(body, content_type)
    if "json" in kind or stripped[:1] in ("{", "["):
        try:
            data = json.loads(body)
        except ValueError:
            return _conceal_pairs(body) if "=" in body else CONCEALED
        if isinstance(data, (dict, list)):
            compact = bool(_COMPACT.match(body))
            return json.dumps(_conceal_json(data), separators=(",", ":") if compact else None)
        return body if isinstance(data, (bool, int, float)) or data is None else CONCEALED
    if stripped.startswith("<"):
        lowered = stripped[:5].lower()
        return _conceal_html(body) if "html" in kind or lowered in ("<!doc", "<html") else _conceal_xml(body)
    if "x-www-form-urlencoded" in kind or _FORM.fullmatch(stripped):
        return _conceal_pairs(body)
    if response and _PLAIN.fullmatch(stripped) and not _unsafe_value(stripped):
        return body
    return CONCEALED


_COMPACT = re.compile(r'\s*[\[{]\s*"(?:[^"\\]|\\.)*":\S')
_PLAIN = re.compile(r"[A-Za-z0-9 ,.:'\"()/_+\-!?\n]{0,240}")
"""Short plain text our nodes answer with (``Unauthorized: no credentials``); anything with ``=``, long runs, or a
token shape is concealed. A secret that is a plain word inside such text cannot be told from the message."""


def _conceal_json(data: object, key: str = "") -> object:
    if isinstance(data, dict):
        out: dict[str, object] = {}
        for name, value in data.items():
            name = str(name)
            if name == "token" and isinstance(value, str):
                out[name] = CONCEALED.lower()
            elif name in _TOKEN_FIELDS and isinstance(value, str):
                out[name] = shorten_token(value)
            elif name == "redirect_uri" and isinstance(value, str):
                out[name] = conceal_params(value)
            elif name in SAFE_JSON:
                out[name] = _safe_json(value)
            else:
                out[name] = _conceal_json(value, name)
        return out
    if isinstance(data, list):
        return [_conceal_json(item, key) for item in data]
    if isinstance(data, bool) or data is None:
        return data
    if isinstance(data, (int, float)) and key == "":
        return data
    return CONCEALED


def _safe_json(value: object) -> object:
    if isinstance(value, str):
        return CONCEALED if _unsafe_value(value) else value
    if isinstance(value, list):
        return [_safe_json(item) for item in value]
    if isinstance(value, dict):
        return _conceal_json(value)
    return value


_XML_TOKEN = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<[^<>]*>|[^<]+|<", re.S)
_XML_ATTR = re.compile(r"""(?P<name>[\w.:-]+)(?P<eq>\s*=\s*)(?P<q>["'])(?P<value>.*?)(?P=q)""", re.S)
_XML_OPEN = re.compile(r"<(?P<tag>[\w.:-]+)(?P<attrs>.*?)(?P<end>/?)>", re.S)


def _conceal_attrs(attrs: str) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group("name")
        local = name.rpartition(":")[2]
        if local in _URL_ATTRS and not _unsafe_value(match.group("value")):
            shown = conceal_params(match.group("value"))
            return f"{name}{match.group('eq')}{match.group('q')}{shown}{match.group('q')}"
        if (name.startswith("xmlns") or local in SAFE_XML_ATTRS) and not _unsafe_value(match.group("value")):
            return match.group(0)
        return f"{name}{match.group('eq')}{match.group('q')}{CONCEALED}{match.group('q')}"

    return _XML_ATTR.sub(repl, attrs) if "=" in attrs else attrs


def _conceal_xml(body: str) -> str:
    """Element text and attribute values are shown for names on :data:`SAFE_XML` / :data:`SAFE_XML_ATTRS` only;
    comments, CDATA under an unknown element and text outside any element are concealed."""
    out: list[str] = []
    stack: list[str] = []
    for token in _XML_TOKEN.findall(body):
        if token.startswith("<![CDATA["):
            safe = bool(stack) and stack[-1] in SAFE_XML and not _unsafe_value(token)
            out.append(token if safe else f"<![CDATA[{CONCEALED}]]>")
        elif token.startswith("<!--"):
            out.append(f"<!--{CONCEALED}-->")
        elif token.startswith("</"):
            if stack:
                stack.pop()
            out.append(token)
        elif token.startswith("<?") or token.startswith("<!"):
            out.append(token if not _unsafe_value(token) and "SYSTEM" not in token else CONCEALED)
        elif token.startswith("<") and (opened := _XML_OPEN.fullmatch(token)) is not None:
            out.append(f"<{opened.group('tag')}{_conceal_attrs(opened.group('attrs'))}{opened.group('end')}>")
            if not opened.group("end"):
                stack.append(opened.group("tag").rpartition(":")[2])
        elif not token.strip():
            out.append(token)
        elif stack and stack[-1] in SAFE_XML and not token.startswith("<") and not _unsafe_value(token):
            out.append(token)
        else:
            out.append(CONCEALED)
    return "".join(out)


_HTML_VALUE = re.compile(r"""(<input\b[^<>]*?\bname=(?P<q1>["'])(?P<name>[^"']*)(?P=q1)[^<>]*?\bvalue=)(?P<q2>["'])"""
                         r"""(?P<value>[^"']*)(?P=q2)""", re.I)


def _conceal_html(body: str) -> str:
    """Our pages: a form's ``<input name=… value=…>`` is concealed unless its name is safe."""

    def repl(match: re.Match[str]) -> str:
        if match.group("name") in SAFE_PARAMS and not _unsafe_value(match.group("value")):
            return match.group(0)
        return f"{match.group(1)}{match.group('q2')}{CONCEALED}{match.group('q2')}"

    shown = _HTML_VALUE.sub(repl, body) if "<input" in body.lower() else body
    return _JWT.sub(CONCEALED, shown) if "eyJ" in shown else shown


def _conceal_multipart(body: str, content_type: str) -> str:
    """Each part keeps its headers; its content is shown only for a field name on :data:`SAFE_PARAMS`."""
    match = re.search(r'boundary="?([^";\s]+)"?', content_type, re.I)
    if match is None and body.lstrip().startswith("--"):
        match = re.match(r"\s*--(\S+)", body)
    if match is None:
        return CONCEALED
    delimiter = f"--{match.group(1)}"
    parts = body.split(delimiter)
    out = [parts[0] and CONCEALED]
    for part in parts[1:]:
        if part.startswith("--"):
            out.append(part if not part[2:].strip() else "--" + CONCEALED)
            continue
        head, sep, content = part.partition("\r\n\r\n") if "\r\n\r\n" in part else part.partition("\n\n")
        name = re.search(r'\bname="([^"]*)"', head, re.I)
        safe = name is not None and name.group(1) in SAFE_PARAMS and not _unsafe_value(content)
        head = _conceal_part_headers(head)
        if not sep:
            out.append(CONCEALED if part.strip() else part)
        elif safe or not content.strip():
            out.append(f"{head}{sep}{content}")
        else:
            ending = content[len(content.rstrip("\r\n")):]
            out.append(f"{head}{sep}{CONCEALED}{ending}")
    return delimiter.join(out)


def _conceal_part_headers(head: str) -> str:
    lines = []
    for line in head.split("\n"):
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() not in ("content-disposition", "content-type"):
            end = "\r" if value.endswith("\r") else ""
            line = f"{name}: {CONCEALED}{end}"
        lines.append(line)
    return "\n".join(lines)
