"""SIP authentication: Digest (RFC 3261 §22, RFC 2617, RFC 7616 for SHA-256) and Bearer (RFC 8898).

CUCM's SIP OAuth mode challenges a REGISTER with ``407`` and ``Proxy-Authenticate: Bearer realm="ccmsipline"``; Jabber
answers with ``Proxy-Authorization: Bearer token="<access token>"`` (Cisco TAC 215572; RFC 8898 §2.2 names the
parameter ``token`` too). The traversal zone between the Expressways authenticates Expressway-C with Digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_PARAM = re.compile(r'\s*([A-Za-z][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)\s*(?:,|$)')
CCMSIPLINE = "ccmsipline"


@dataclass(frozen=True)
class Credentials:
    """A challenge or credentials header value: the scheme and its parameters (quotes removed)."""

    scheme: str
    params: dict[str, str]

    @classmethod
    def parse(cls, value: str) -> Credentials:
        scheme, _, rest = value.strip().partition(" ")
        if not scheme:
            raise ValueError("empty authentication header")
        params: dict[str, str] = {}
        position = 0
        rest = rest.strip()
        while position < len(rest):
            match = _PARAM.match(rest, position)
            if match is None:
                raise ValueError(f"malformed auth parameter at {rest[position:position + 30]!r}")
            raw = match.group(2)
            params[match.group(1).lower()] = raw[1:-1].replace('\\"', '"') if raw.startswith('"') else raw
            position = match.end()
        return cls(scheme, params)

    def render(self, unquoted: tuple[str, ...] = ("algorithm", "nc", "qop", "stale")) -> str:
        parts = [f"{k}={v}" if k in unquoted else f'{k}="{v}"' for k, v in self.params.items()]
        return f"{self.scheme} {', '.join(parts)}"

    @property
    def is_bearer(self) -> bool:
        return self.scheme.lower() == "bearer"

    @property
    def is_digest(self) -> bool:
        return self.scheme.lower() == "digest"


def bearer_challenge(realm: str = CCMSIPLINE, error: str | None = None) -> str:
    """RFC 8898 §2.3: a fresh challenge, with ``error="invalid_token"`` when the token was refused (RFC 6750 §3)."""
    params = {"realm": realm}
    if error:
        params["error"] = error
    return Credentials("Bearer", params).render()


def bearer_credentials(token: str) -> str:
    return f'Bearer token="{token}"'


def bearer_token(value: str | None) -> str | None:
    """The token from ``Bearer token="…"`` (Cisco) or ``Bearer <b64token>`` (RFC 6750 style), else None."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not rest.strip():
        return None
    rest = rest.strip()
    if "=" in rest and rest.lower().startswith("token"):
        try:
            return Credentials.parse(value).params.get("token") or None
        except ValueError:
            return None
    return rest if re.fullmatch(r"[A-Za-z0-9\-._~+/]+=*", rest) else None


_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _h(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode()).hexdigest()


def digest_challenge(realm: str, nonce: str, algorithm: str = "MD5", stale: bool = False) -> str:
    params = {"realm": realm, "nonce": nonce, "algorithm": algorithm, "qop": '"auth"'}
    if stale:
        params["stale"] = "TRUE"
    return Credentials("Digest", params).render(unquoted=("algorithm", "qop", "stale"))


def digest_response(username: str, password: str, realm: str, method: str, uri: str, nonce: str,
                    cnonce: str = "", nc: str = "00000001", qop: str = "auth", algorithm: str = "MD5") -> str:
    """The ``response`` value of RFC 2617 §3.2.2.1 (RFC 7616 §3.4.1 for SHA-256)."""
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def digest_credentials(challenge: Credentials, username: str, password: str, method: str, uri: str,
                       cnonce: str) -> str:
    realm, nonce = challenge.params.get("realm", ""), challenge.params.get("nonce", "")
    algorithm = challenge.params.get("algorithm", "MD5").upper()
    qop = "auth" if "auth" in challenge.params.get("qop", "").split(",") else ""
    response = digest_response(username, password, realm, method, uri, nonce, cnonce, "00000001", qop, algorithm)
    params = {"username": username, "realm": realm, "nonce": nonce, "uri": uri, "response": response,
              "algorithm": algorithm}
    if qop:
        params |= {"qop": qop, "nc": "00000001", "cnonce": cnonce}
    return Credentials("Digest", params).render()


def check_digest(value: str | None, method: str, username: str, password: str, nonce: str) -> bool:
    """True when ``value`` is Digest credentials for ``username`` answering ``nonce``; compared in constant time."""
    if not value:
        return False
    try:
        given = Credentials.parse(value)
    except ValueError:
        return False
    p = given.params
    algorithm = p.get("algorithm", "MD5").upper()
    if not given.is_digest or algorithm not in _HASHES or p.get("nonce") != nonce or p.get("username") != username:
        return False
    expected = digest_response(username, password, p.get("realm", ""), method, p.get("uri", ""), nonce,
                               p.get("cnonce", ""), p.get("nc", ""), p.get("qop", ""), algorithm)
    return hmac.compare_digest(expected, p.get("response", ""))
