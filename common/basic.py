"""HTTP Basic credentials (RFC 7617), as Expressway-C sends and receives them."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def parse_basic(value: str | None, *, form_encoded: bool = False) -> tuple[str, str] | None:
    """``Basic base64(user:password)`` → ``(user, password)``; anything malformed → None, never an exception.

    ``form_encoded`` applies RFC 6749 §2.3.1: an OAuth client's id and secret are form-urlencoded before they go
    into the Basic credentials, so they are decoded after splitting. Other Basic credentials (RFC 7617) are not.
    """
    if not value:
        return None
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        return None
    if form_encoded:
        return unquote_plus(user), unquote_plus(password)
    return user, password
