"""The OAuth parameters Jabber sends to the edge, checked the same way wherever they arrive.

RFC 6749 section 3.1: "Request and response parameters MUST NOT be included more than once", and a request missing a
required parameter is an ``invalid_request``. :func:`single_values` enforces both and says which parameter is wrong.
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


def parse_form(body: str | bytes) -> list[tuple[str, str]]:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return parse_qsl(text, keep_blank_values=True)


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
