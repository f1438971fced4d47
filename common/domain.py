"""The base64 path segments of the Expressway edge URLs (mra-facts section 2).

Jabber names the service domain in every edge URL as ``/<b64(domain)>/<op>`` and reaches internal HTTP servers as
``/<b64("<domain>/<scheme>/<host>/<port>")>/<path>``. Expressway strips the ``=`` padding; so do we.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

_SEGMENT = re.compile(r"^[A-Za-z0-9+/_-]+$")
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
_DOTTED = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
CONCEALED = "<CONCEALED>"


def dns_shaped(name: str) -> bool:
    """A dotted host or domain name (``cucm.lab.example``, ``127.0.0.1``): routing information, shown in logs."""
    return len(name) <= 253 and _DOTTED.fullmatch(name) is not None


def shown(text: str) -> str:
    """A client's segment or its decoded text as a log or an error may show it (issue 13): dotted names, the scheme
    and the port of a descriptor as they are, anything else ``<CONCEALED>`` — a segment may be a pasted token."""
    return "/".join(part if part in ("http", "https") or dns_shaped(part) or (part.isdigit() and len(part) <= 5)
                    else CONCEALED for part in text.split("/"))


class SegmentError(ValueError):
    """A path segment that is not the base64 form Jabber writes."""


def encode_segment(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=")


def decode_segment(segment: str) -> str:
    if not segment or not _SEGMENT.match(segment) or len(segment) % 4 == 1:
        raise SegmentError(f"{shown(segment)!r} is not a base64 segment")
    padded = segment.replace("-", "+").replace("_", "/") + "=" * (-len(segment) % 4)
    try:
        return base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise SegmentError(f"{shown(segment)!r} does not decode to text") from exc


@dataclass(frozen=True)
class ProxyDescriptor:
    """Where a proxied edge request goes: ``<domain>/<scheme>/<host>/<port>``."""

    domain: str
    scheme: str
    host: str
    port: int

    def encode(self) -> str:
        return encode_segment(f"{self.domain}/{self.scheme}/{self.host}/{self.port}")

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@lru_cache(maxsize=4096)
def parse_edge_segment(segment: str) -> str | ProxyDescriptor:
    """Decode the first path segment: a bare domain, or a proxy descriptor.

    Pure, and its answers are immutable, so it is cached: both Expressways decode the same few segments on every
    request of every login. A segment that does not decode raises each time (``lru_cache`` keeps no exceptions).
    """
    text = decode_segment(segment)
    parts = text.split("/")
    if len(parts) == 1:
        if not _HOST.match(text):
            raise SegmentError(f"{shown(text)!r} is not a domain name")
        return text.lower()
    if len(parts) != 4:
        raise SegmentError(f"{shown(text)!r} is neither a domain nor <domain>/<scheme>/<host>/<port>")
    domain, scheme, host, port = parts
    if (scheme not in ("http", "https") or not _HOST.match(host) or not _HOST.match(domain)
            or not re.fullmatch(r"[0-9]{1,5}", port) or not 1 <= int(port) <= 65535):
        raise SegmentError(f"{shown(text)!r} is not a valid <domain>/<scheme>/<host>/<port> descriptor")
    return ProxyDescriptor(domain.lower(), scheme, host.lower(), int(port))


def mra_target(segment: str, mra_domains: tuple[str, ...]) -> str | ProxyDescriptor:
    """The edge segment decoded and checked against the MRA domains; :class:`SegmentError` says why not.

    Both Expressways apply this check: E to refuse early (``403``, ``Server: CE_E``), C because it decides.
    """
    try:
        target = parse_edge_segment(segment)
    except SegmentError as exc:
        raise SegmentError(f"malformed domain segment ({exc})") from None
    domain = target.domain if isinstance(target, ProxyDescriptor) else target
    if domain not in mra_domains:
        raise SegmentError(f"domain {shown(domain)} is not configured for MRA")
    return target
