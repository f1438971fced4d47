"""The OAuth parameters Jabber sends to the edge, checked the same way wherever they arrive.

RFC 6749 section 3.1: "Request and response parameters MUST NOT be included more than once", and a request missing a
required parameter is an ``invalid_request``. :func:`single_values` enforces both and says which parameter is wrong.

Parameters come from outside: :func:`parse_query` and :func:`parse_form` decode them strictly (RFC 3986 section 2.5:
UTF-8 octets, percent-encoded) and refuse, with ``invalid_request``, what is not UTF-8 or holds a character XML 1.0
cannot carry (NUL and the other control characters): such a value can be neither shown in a login form nor logged
nor passed on, and a node answers ``400`` for it rather than failing later (issue 13 item 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl

CLIENT_ID = re.compile(r"^C[0-9a-f]{64}$")
AUTHORIZE_PARAMS = ("response_type", "client_id", "realm", "state")


class ParamError(ValueError):
    """A request whose parameters are wrong; carries the HTTP status the edge answers with (400)."""

    status = 400

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def single_values(pairs: Iterable[tuple[str, str]], required: Iterable[str] = ()) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        if key in values:
            raise ParamError("invalid_request", f"parameter {key!r} is repeated")
        values[key] = value
    for key in required:
        if not values.get(key):
            raise ParamError("invalid_request", f"parameter {key!r} is missing")
    return values


_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_text(name: str, value: str) -> str:
    """``value`` when every character can be carried in XML 1.0 (section 2.2, ``Char``); else :class:`ParamError`."""
    if _NOT_XML_CHAR.search(value) is not None:
        where = f"parameter {name!r}" if name else "a parameter name"
        raise ParamError("invalid_request", f"{where} holds a control character or an invalid code point")
    return value


def parse_query(raw: str | bytes) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a raw (still percent-encoded) query string or form body, strictly decoded."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ParamError("invalid_request", "parameters are not UTF-8") from None
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ParamError("invalid_request", "a percent-encoded parameter is not UTF-8") from None
    except ValueError as exc:
        raise ParamError("invalid_request", f"parameters cannot be read: {exc}") from None
    for key, value in pairs:
        check_text("", key)
        check_text(key, value)
    return pairs


def parse_form(body: str | bytes) -> list[tuple[str, str]]:
    return parse_query(body)


@dataclass(frozen=True)
class AuthorizeRequest:
    """``authorize?response_type=code&realm=local&client_id=…&device_id=…&email=…&state=…`` (seed, step 2)."""

    response_type: str
    client_id: str
    realm: str
    state: str
    device_id: str
    email: str

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> AuthorizeRequest:
        values = single_values(pairs, required=("response_type", "client_id"))
        if values["response_type"] != "code":
            raise ParamError("unsupported_response_type", f"response_type {values['response_type']!r}; expected 'code'")
        if not CLIENT_ID.match(values["client_id"]):
            raise ParamError("invalid_request", "client_id is not 'C' followed by 64 hex digits")
        return cls(values["response_type"], values["client_id"], values.get("realm", "local"),
                   values.get("state", ""), values.get("device_id", ""), values.get("email", ""))

    def pairs(self) -> list[tuple[str, str]]:
        return [("response_type", self.response_type), ("realm", self.realm), ("client_id", self.client_id),
                ("device_id", self.device_id), ("email", self.email), ("state", self.state)]
