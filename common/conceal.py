"""Keep secrets out of the logs, the way the real products do.

Expressway prints credentials, authorization codes and tokens as ``<CONCEALED>`` (seed article, every leg), the
OAuthvalidator body as ``{"token": "<concealed>"}``, the redirect it sends as ``/OAuthcb#code=<CONCEALED>`` and its own
event lines as ``code=Hidden``. Token values in a JSON body are shortened to a head and a tail, as the seed shows them,
which identifies a token to a reader without letting anyone replay it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

CONCEALED = "<CONCEALED>"

SECRET_HEADERS = frozenset({"authorization", "x-credentials", "cookie", "set-cookie", "proxy-authorization",
                            "x-traversal-auth"})
SECRET_PARAMS = frozenset(
    {"password", "code", "token", "access_token", "refresh_token", "client_secret", "username", "j_password",
     "encryption_key"}
)
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")
_PARAM = re.compile(r"(?P<key>[A-Za-z_]+)=(?P<value>[^&#\s\"']*)")


def conceal_header(name: str, value: str) -> str:
    return CONCEALED if name.lower() in SECRET_HEADERS else value


def conceal_params(text: str, keys: Iterable[str] = SECRET_PARAMS) -> str:
    """Conceal the values of secret ``key=value`` pairs in a query string, form body or URL."""
    if "=" not in text:  # nothing the pattern could match: most URLs on the traffic_server path
        return text
    secret = frozenset(keys)

    def repl(match: re.Match[str]) -> str:
        if match.group("key") in secret and match.group("value"):
            return f"{match.group('key')}={CONCEALED}"
        return match.group(0)

    return _PARAM.sub(repl, text)


def conceal_location(location: str) -> str:
    """``/OAuthcb#code=<code>&state=…`` → ``/OAuthcb#code=<CONCEALED>``: the whole fragment after ``code=`` goes."""
    head, sep, _ = location.partition("#code=")
    return f"{head}#code={CONCEALED}" if sep else conceal_params(location)


def hide_location(location: str) -> str:
    """The form Expressway-C's event lines use: ``Redirect="/OAuthcb#code=Hidden"``."""
    head, sep, _ = location.partition("#code=")
    return f"{head}#code=Hidden" if sep else location


def shorten_token(token: str) -> str:
    if len(token) <= 40:
        return CONCEALED
    return f"{token[:18]}--------{token[-8:]}"


def conceal_body(body: str, content_type: str = "") -> str:
    """Conceal a request or response body for a ``HTTPMSG``/``MSGBODY`` block."""
    if not body:
        return body
    stripped = body.lstrip()
    if "json" in content_type or stripped.startswith("{"):
        try:
            data = json.loads(body)
        except ValueError:
            return conceal_params(body)
        if isinstance(data, dict):
            return _conceal_json(data, compact=bool(_COMPACT.match(body)))
        return body
    if "x-www-form-urlencoded" in content_type:
        return conceal_params(body)
    if stripped.startswith("<"):
        return _SECRET_XML.sub(lambda m: f"{m.group(1)}{CONCEALED}{m.group(3)}", body)
    return body


_SECRET_XML = re.compile(r"(<(?:[\w.-]+:)?(password|session-key|token)>)[^<]*(</(?:[\w.-]+:)?\2>)")


_COMPACT = re.compile(r'\s*\{\s*"(?:[^"\\]|\\.)*":\S')


def _conceal_json(data: dict[str, object], compact: bool = False) -> str:
    out: dict[str, object] = {}
    for key, value in data.items():
        if key == "token" and isinstance(value, str):
            out[key] = CONCEALED.lower()
        elif key in _TOKEN_FIELDS and isinstance(value, str):
            out[key] = shorten_token(value)
        elif key in SECRET_PARAMS and isinstance(value, str):
            out[key] = CONCEALED
        elif isinstance(value, str) and "code=" in value:
            out[key] = conceal_params(value, ("code",))
        else:
            out[key] = value
    return json.dumps(out, separators=(",", ":") if compact else None)

