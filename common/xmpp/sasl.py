"""SASL in XMPP (RFC 6120 §6): the mechanisms feature, ``<auth>``, ``<success>``, ``<failure>``, and the three
mechanisms an MRA login meets.

* ``PLAIN`` (RFC 4616): ``[authzid] NUL authcid NUL passwd``.
* ``OAUTHBEARER`` (RFC 7628 §3.1): a GS2 header ``n,a=<authzid>,`` then ``\\x01``-separated key/value pairs, one of them
  ``auth=Bearer <token>``, ending ``\\x01\\x01``. Jabber presents the access token from the OAuth login (seed article).
* ``CISCO-VTG-TOKEN`` (Cisco, mra-facts §7): ``userid=<user>@<presence domain>\\0token=<one-time password>``, the
  password coming from an EPAS SOAP login (:mod:`common.xmpp.epas`).

Each SASL failure is a :class:`SaslFailure` that renders itself (§6.5); decoding errors of the base64 payload are
``incorrect-encoding`` (§6.5.2), unknown mechanisms ``invalid-mechanism`` (§6.5.6). Secrets never reach a log: the
``<auth>`` payload is printed as ``XXXXXXX``, as the seed's XCP lines print it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from lxml import etree

from common.xmpp.xml import SASL, child, element, render

PLAIN = "PLAIN"
OAUTHBEARER = "OAUTHBEARER"
VTG_TOKEN = "CISCO-VTG-TOKEN"
ALL = (PLAIN, VTG_TOKEN, OAUTHBEARER)
HIDDEN = "XXXXXXX"


class SaslFailure(Exception):
    """A failed exchange (RFC 6120 §6.5): the defined condition and an optional text."""

    def __init__(self, condition: str, text: str = "") -> None:
        super().__init__(f"{condition}: {text}" if text else condition)
        self.condition = condition
        self.text = text

    def element(self) -> etree._Element:
        node = element("failure", None, element(self.condition, ns=SASL), ns=SASL)
        if self.text:
            node.append(element("text", None, self.text, ns=SASL))
        return node

    def wire(self) -> bytes:
        return render(self.element(), parent_ns=None).encode()

    @classmethod
    def from_element(cls, node: etree._Element) -> SaslFailure:
        condition = next((etree.QName(kid).localname for kid in node if etree.QName(kid).localname != "text"),
                         "not-authorized")
        text = node.findtext(f"{{{SASL}}}text") or ""
        return cls(condition, text)


SUCCESS = f"<success xmlns='{SASL}'/>".encode()


def mechanisms_element(names: tuple[str, ...] | list[str]) -> etree._Element:
    """``<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>…</mechanism>…`` (RFC 6120 §6.4.1)."""
    return element("mechanisms", None, *(element("mechanism", None, name, ns=SASL) for name in names), ns=SASL)


def read_mechanisms(features: etree._Element) -> tuple[str, ...]:
    """The mechanism names in a ``<stream:features>`` or a bare ``<mechanisms>`` element."""
    holder = features if etree.QName(features).localname == "mechanisms" else child(features, SASL, "mechanisms")
    if holder is None:
        return ()
    return tuple((m.text or "").strip() for m in holder if etree.QName(m).localname == "mechanism")


@dataclass(frozen=True)
class Auth:
    """``<auth mechanism='…'>base64</auth>``; ``payload`` is the decoded initial response (``=`` means empty)."""

    mechanism: str
    payload: bytes = field(repr=False)

    def element(self, hidden: bool = False) -> etree._Element:
        text = HIDDEN if hidden else (base64.b64encode(self.payload).decode() or "=")
        return element("auth", {"mechanism": self.mechanism}, text, ns=SASL)

    def wire(self) -> bytes:
        return render(self.element(), parent_ns=None).encode()

    @classmethod
    def from_element(cls, node: etree._Element) -> Auth:
        mechanism = node.get("mechanism", "")
        if not mechanism:
            raise SaslFailure("invalid-mechanism", "no mechanism named")
        return cls(mechanism, decode_b64(node.text or ""))


def decode_b64(text: str) -> bytes:
    """RFC 6120 §6.4.2: ``=`` is an empty response; anything that is not strict base64 is ``incorrect-encoding``."""
    text = "".join(text.split())
    if text in ("", "="):
        return b""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SaslFailure("incorrect-encoding", "the initial response is not valid base64") from None


def hidden(node: etree._Element) -> etree._Element:
    """A copy of an element with every ``<auth>`` payload replaced by ``XXXXXXX``, for logs."""
    copy = etree.fromstring(etree.tostring(node))
    for found in copy.iter(f"{{{SASL}}}auth"):
        found.text = HIDDEN
    return copy


def plain_response(authcid: str, password: str, authzid: str = "") -> bytes:
    return f"{authzid}\0{authcid}\0{password}".encode()


def read_plain(payload: bytes) -> tuple[str, str, str]:
    """``(authzid, authcid, password)`` (RFC 4616 §2); malformed → ``malformed-request``."""
    parts = payload.split(b"\0")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise SaslFailure("malformed-request", "PLAIN expects [authzid] NUL authcid NUL passwd")
    try:
        authzid, authcid, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        raise SaslFailure("malformed-request", "PLAIN message is not UTF-8") from None
    return authzid, authcid, password


def oauthbearer_response(authzid: str, token: str, host: str = "", port: int = 0) -> bytes:
    """RFC 7628 §3.1 client initial response."""
    pairs = [f"host={host}"] if host else []
    pairs += [f"port={port}"] if port else []
    pairs.append(f"auth=Bearer {token}")
    return ("n,a=" + _gs2_escape(authzid) + ",\x01" + "\x01".join(pairs) + "\x01\x01").encode()


def read_oauthbearer(payload: bytes) -> tuple[str, str]:
    """``(authzid, token)``; a message that does not follow RFC 7628 §3.1 → ``malformed-request``."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslFailure("malformed-request", "OAUTHBEARER message is not UTF-8") from None
    gs2, sep, rest = text.partition("\x01")
    head = gs2.split(",")
    if not sep or len(head) != 3 or head[0] not in ("n", "y") or not rest.endswith("\x01\x01"):
        raise SaslFailure("malformed-request", "OAUTHBEARER expects 'n,a=<authzid>,^Aauth=Bearer <token>^A^A'")
    authzid = _gs2_unescape(head[1][2:]) if head[1].startswith("a=") else ""
    values = dict(pair.split("=", 1) for pair in rest[:-2].split("\x01") if "=" in pair)
    scheme, _, token = values.get("auth", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SaslFailure("malformed-request", "OAUTHBEARER message without 'auth=Bearer <token>'")
    return authzid, token.strip()


def vtg_response(userid: str, domain: str, otp: str) -> bytes:
    return f"userid={userid}@{domain}\0token={otp}".encode()


def read_vtg(payload: bytes) -> tuple[str, str]:
    """``(user@domain, one-time password)`` from a CISCO-VTG-TOKEN initial response."""
    try:
        fields = dict(part.split("=", 1) for part in payload.decode("utf-8").split("\0"))
    except (UnicodeDecodeError, ValueError):
        raise SaslFailure("malformed-request", "CISCO-VTG-TOKEN expects userid=<jid> NUL token=<otp>") from None
    if not fields.get("userid") or not fields.get("token"):
        raise SaslFailure("malformed-request", "CISCO-VTG-TOKEN expects userid=<jid> NUL token=<otp>")
    return fields["userid"], fields["token"]


def _gs2_escape(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _gs2_unescape(name: str) -> str:
    return name.replace("=2C", ",").replace("=3D", "=")
