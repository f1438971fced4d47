"""The path of a URL in a log, by allow list: a segment is shown only when it is known to carry no secret.

A path can carry a secret as well as a query can: a token or a code pasted as a segment (``POST /<b64>/<token>``),
a base64 blob, a value a client percent-encodes so no name gives it away. Naming secrets cannot catch these, so the
lab names what is safe instead (issue 13) and conceals every other segment as ``<CONCEALED>``:

- the segments of the paths the lab's nodes serve and MRA clients use (Expressway's edge operations, CUCM's UDS,
  ssosp and TFTP paths, IM&P's EPAS, Unity Connection's ``vmrest``, the IdP's SAML endpoints, the lab-only
  ``/mrasim/…`` administration) — :data:`SAFE_SEGMENTS`;
- the first segment of an edge URL when it decodes to what Jabber writes there: a domain, or a proxy descriptor
  ``<domain>/<scheme>/<host>/<port>`` (mra-facts section 2; the seed shows these segments in clear) whose domain is
  a dotted name (``lab.example``) — base64 of anything else may be a token;
- a user id where UDS puts one (``/cucm-uds/user/<userid>``, ``…/device/<pkid>``) and a device name where TFTP does
  (``/<device>.cnf.xml``): identifiers, which the analyzer reads back and the products log.

A segment is judged in its percent-decoded form and shown as written. Host names and ports (the authority) are
routing information and are shown, as the products show them, when the host is a host name or an address; user
information (``user:password@``) and anything else there are concealed.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

from common.domain import ProxyDescriptor, SegmentError, dns_shaped, parse_edge_segment

CONCEALED = "<CONCEALED>"

SAFE_SEGMENTS = frozenset({
    # Expressway edge operations (C answers them; E relays them) and the browser's callback
    "get_edge_sso", "get_edge_config", "localauthentication", "access_token", "authorize", "samlauthz", "OAuthcb",
    # Expressway-C's OAuthvalidator and the lab-only administration of every node
    "OAuthvalidator", "mrasim", "cli", "xcommand", "xconfiguration", "metadata", "rollover", "saml", "idp", "renew",
    # CUCM: UDS, ssosp, single sign-on status
    "cucm-uds", "clusterUser", "servers", "user", "users", "device", "devices", "version", "ssosp", "token",
    "authorize_proxy", "authz_keys", "revoke", "ws", "public", "singleSignOn", "oauth",
    # IM&P EPAS, Unity Connection, the IdP (Shibboleth's paths)
    "EPASSoap", "service", "v80", "vmrest", "mailbox", "messages", "profile", "SAML2", "Redirect", "POST", "SSO",
    "shibboleth",
})

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
_DEVICE_FILE = re.compile(r"[A-Za-z0-9_-]{1,15}\.cnf\.xml")  # CUCM device names have at most 15 characters
_URL_HEAD = re.compile(r"(?P<method>[A-Z]{1,20} )?(?:(?P<scheme>(?:[A-Za-z][A-Za-z0-9+.-]*:)?//)"
                       r"(?P<authority>[^/?#\s]*))?")
_PORT = re.compile(r":[0-9]{0,5}")
_HOSTNAME = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.?")


def _jwt_shaped(text: str) -> bool:
    return "eyJ" in text and re.search(r"eyJ[A-Za-z0-9_-]{2,}", text) is not None


def safe_segment(segment: str, previous: str, first: bool) -> bool:
    """Whether one path segment (as written) is known to carry no secret."""
    if segment in ("", ".", ".."):
        return True
    text = unquote(segment)
    if text in SAFE_SEGMENTS:
        return True
    if _jwt_shaped(text):
        return False
    if previous in ("user", "device") and _IDENTIFIER.fullmatch(text):
        return True  # /cucm-uds/user/<userid>[/devices], /cucm-uds/user/<userid>/device/<pkid>
    if _DEVICE_FILE.fullmatch(text):
        return True
    if first:
        try:
            target = parse_edge_segment(text)
        except SegmentError:
            return False
        if isinstance(target, ProxyDescriptor):  # its host passed the descriptor's own check: a host name
            return dns_shaped(target.domain)
        return dns_shaped(target)
    return False


@lru_cache(maxsize=8192)
def conceal_path(text: str) -> str:
    """``text`` — a path, a URL without its query, or a request line's start (``GET //host:8443/path``) — with
    every path segment not known to be safe replaced by ``<CONCEALED>``."""
    head = _URL_HEAD.match(text)
    start = head.end() if head is not None else 0
    shown_head = text[:start]
    if head is not None and head.group("authority"):
        shown_head = text[:head.start("authority")] + _authority(head.group("authority"))
    path = text[start:]
    if not path:
        return shown_head
    segments = path.split("/")
    shown: list[str] = []
    previous, first = "", True
    for index, segment in enumerate(segments):
        if index == 0 and segment == "":
            shown.append(segment)  # the leading slash
            continue
        shown.append(segment if safe_segment(segment, previous, first) else CONCEALED)
        if segment:
            previous, first = unquote(segment), False
    return shown_head + "/".join(shown)


def _authority(authority: str) -> str:
    """``host[:port]`` as it is when the host is a host name or an address (CUCM servers are often named without their
    domain); user information (``user:pass@``) and anything else concealed."""
    userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):  # an IPv6 literal
        host, _, port = hostport[1:].partition("]")
        shown_host = f"[{host}]" if re.fullmatch(r"[0-9A-Fa-f:.]+", host) else CONCEALED
    else:
        host, colon, port = hostport.partition(":")
        port = colon + port
        shown_host = host if _HOSTNAME.fullmatch(host) else CONCEALED
    if port and not _PORT.fullmatch(port):
        port = ":" + CONCEALED
    return (CONCEALED + at if at else "") + shown_host + port
