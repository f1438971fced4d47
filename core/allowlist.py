"""Expressway-C's HTTP allow list: rules of URL (exact path or path prefix) and HTTP methods, sans-IO.

A proxied request (``/<b64("<domain>/<scheme>/<host>/<port>")>/<path>`` on the edge) reaches an internal server only
when a rule matches its host, port, path and method (Cisco *Mobile and Remote Access Through Cisco Expressway
Deployment Guide*, "HTTP allow list"; *Cisco Expressway Administrator Guide*, "Allow List Rules File Reference": a rule
is ``Url`` ``protocol://host[:port][/path]``, ``HttpMethods`` and ``MatchType`` ``exact`` or ``prefix``, prefix by
default). Expressway-C writes *automatic* rules for the servers it discovered, covering only what MRA clients use;
an administrator adds *manual* ones. A user's token on a proxied URL must not reach a server's administrative paths
(issue 13 item 4: CUCM's CLI, ``/ssosp/token/authz_keys``, ``/ssosp/token/revoke``).

The automatic rules below are *modelled* on the guide's list for the paths the lab's clients use:

============================  =====================================  ======  =======================
server                        URL                                    match   methods
============================  =====================================  ======  =======================
each CUCM node                ``http://<node>:6970/``                prefix  GET (TFTP configuration)
each CUCM node                ``https://<node>:6972/``               prefix  GET
each CUCM node                ``https://<node>:8443/cucm-uds/``      prefix  GET (UDS)
each IM&P node                ``https://<imp>:8443/EPASSoap/service/v80``  exact  POST (EPAS login)
Unity Connection              ``https://<unity>:443/vmrest/``        prefix  GET, POST, PUT, DELETE
============================  =====================================  ======  =======================

(plus the same paths on a node's own port when the lab gives it another one). The scheme is shown but not matched:
Expressway-C reaches a known server with the scheme it knows it by (:func:`core.proxy.internal_origin`).

A path is checked as the internal server will read it, so a path that is not in normal form — dot segments, an
encoded ``/`` or ``\\``, an empty segment — never matches: ``/cucm-uds/../ssosp/token/authz_keys`` is refused, not
normalised into a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from common.labmodel import CoreConfig, Lab

ALL_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
_RULE = re.compile(r"^(?:(?P<scheme>https?)://)?(?P<host>[A-Za-z0-9._-]+)(?::(?P<port>\d{1,5}))?(?P<path>/\S*)?"
                   r"(?:\s+(?P<methods>[A-Za-z]+(?:,[A-Za-z]+)*))?(?:\s+(?P<match>exact|prefix))?\s*$", re.I)


class RuleError(ValueError):
    """A manual rule that cannot be read; names the rule and what was expected."""


@dataclass(frozen=True)
class Rule:
    scheme: str
    host: str
    port: int
    path: str = "/"
    match: str = "prefix"
    methods: frozenset[str] = ALL_METHODS
    source: str = "manual"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.path}"

    def matches(self, host: str, port: int, path: str, method: str) -> bool:
        return (host == self.host and port == self.port and method in self.methods
                and (path == self.path if self.match == "exact" else path.startswith(self.path)))

    def render(self, index: int) -> str:
        """One rule as ``xConfiguration`` would list it (modelled)."""
        kind = "Automatic" if self.source == "automatic" else "Manual"
        return (f'*c xConfiguration HTTPAllowList {kind} {index} Url: "{self.url}" MatchType: {self.match} '
                f'HttpMethods: {",".join(sorted(self.methods))}')


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


def parse_rule(text: str, default_ports: Iterable[int] = (8443, 6970)) -> tuple[Rule, ...]:
    """``"host"``, ``"host:port"``, or ``"https://host:port/path [GET,PUT] [exact|prefix]"``.

    A bare host (the lab's older form) allows every path and method on the default ports; a URL without a path allows
    every path on that port.
    """
    match = _RULE.match(text.strip())
    if match is None:
        raise RuleError(f"cannot read HTTP allow list rule {text!r}; expected "
                        "'https://host:port/path GET,POST prefix' or 'host[:port]'")
    scheme = (match.group("scheme") or "https").lower()
    host = match.group("host").lower()
    methods = frozenset(m.upper() for m in match.group("methods").split(",")) if match.group("methods") \
        else ALL_METHODS
    unknown = methods - ALL_METHODS
    if unknown:
        raise RuleError(f"HTTP allow list rule {text!r}: unknown method {sorted(unknown)[0]!r}")
    path = match.group("path") or "/"
    kind = (match.group("match") or "prefix").lower()
    if match.group("port"):
        ports: tuple[int, ...] = (int(match.group("port")),)
    elif match.group("scheme"):
        ports = (443 if scheme == "https" else 80,)
    else:
        ports = tuple(default_ports)
    if any(not 0 < port < 65536 for port in ports):
        raise RuleError(f"HTTP allow list rule {text!r}: port out of range")
    return tuple(Rule(scheme, host, port, path, kind, methods) for port in ports)


def _auto(scheme: str, host: str, port: int, path: str, match: str, *methods: str) -> Rule:
    return Rule(scheme, host, port, path, match, frozenset(methods), "automatic")


def automatic_rules(lab: Lab) -> tuple[Rule, ...]:
    """The rules Expressway-C writes for the servers it discovered (table in the module docstring)."""
    rules: list[Rule] = []
    for cluster in lab.clusters:
        for node in cluster.nodes:
            rules += [_auto("http", node.host, 6970, "/", "prefix", "GET"),
                      _auto("https", node.host, 6972, "/", "prefix", "GET")]
            for port in dict.fromkeys((8443, node.port)):
                rules.append(_auto("https", node.host, port, "/cucm-uds/", "prefix", "GET"))
        for host in cluster.imp_hosts:
            rules.append(_auto("https", host, 8443, "/EPASSoap/service/v80", "exact", "POST"))
    if lab.unity is not None:
        unity = lab.unity.listener
        for port in dict.fromkeys((443, unity.port)):
            rules.append(_auto("https", unity.host, port, "/vmrest/", "prefix", "GET", "POST", "PUT", "DELETE"))
    for imp in lab.imps:
        if imp.epas.port != 8443:
            rules.append(_auto("https", imp.host, imp.epas.port, "/EPASSoap/service/v80", "exact", "POST"))
    return tuple(dict.fromkeys(rules))


def rules_for(lab: Lab, config: CoreConfig) -> tuple[Rule, ...]:
    """Automatic rules (unless "Automatic inbound rules" is Off), then the manual ones, in order."""
    manual = [rule for text in config.http_allow_list for rule in parse_rule(text)]
    return (*(automatic_rules(lab) if config.http_allow_list_auto else ()), *manual)


_ENCODED_SEPARATOR = re.compile(r"%(?:2f|5c|2e|00)", re.I)


def normal_path(raw_path: str, path: str) -> bool:
    """Whether the path is in the normal form the internal server reads: no dot segments, no empty segments, no
    backslash or control character, and no percent-encoded ``/``, ``\\``, ``.`` or NUL in the raw request."""
    if _ENCODED_SEPARATOR.search(raw_path) or "\\" in path or "//" in path:
        return False
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        return False
    return not any(segment in (".", "..") for segment in path.split("/"))


def check(rules: Iterable[Rule], host: str, port: int, path: str, method: str) -> Verdict:
    """Allowed when a rule matches; otherwise the reason names the closest miss (host, path or method)."""
    on_host = [rule for rule in rules if rule.host == host and rule.port == port]
    if not on_host:
        return Verdict(False, "host not on the HTTP allow list")
    paths = [rule for rule in on_host
             if (path == rule.path if rule.match == "exact" else path.startswith(rule.path))]
    if not paths:
        return Verdict(False, "path not on the HTTP allow list")
    if not any(method in rule.methods for rule in paths):
        return Verdict(False, f"method {method} not allowed by the HTTP allow list")
    return Verdict(True)
