"""The XML bodies Expressway-C writes and Jabber reads: ``SSOResult`` and ``getEdgeConfigResponse``.

Both are defined here once, as dataclasses that render to and parse from XML with lxml (mra-facts section 4; the
``SSOResult`` shape is from the seed article, the ``getEdgeConfigResponse`` shape from public captures).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


class XmlError(ValueError):
    """A body that is not the XML the other side expects."""


def parse_xml(body: bytes | str, root: str) -> etree._Element:
    try:
        element = etree.fromstring(body.encode() if isinstance(body, str) else body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise XmlError(f"not XML: {exc}") from exc
    if element.tag != root:
        raise XmlError(f"expected <{root}>, got <{element.tag}>")
    return element


def to_bytes(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class SSOResult:
    """Answer to ``get_edge_sso``: is SAML SSO on for this user, and may the client reuse OAuth tokens."""

    sso_enabled: bool
    token_reuse: bool

    def to_xml(self) -> bytes:
        """The ``get_edge_sso`` body; four possible answers, so each is built once (:func:`_sso_xml`)."""
        return _sso_xml(self.sso_enabled, self.token_reuse)

    def _build_xml(self) -> bytes:
        root = etree.Element("SSOResult", version="1.0")
        sso = etree.SubElement(etree.SubElement(root, "Response"), "SingleSignOn")
        etree.SubElement(sso, "Status", enabled=_bool(self.sso_enabled))
        etree.SubElement(sso, "Token", reuse=_bool(self.token_reuse))
        return to_bytes(root)

    @classmethod
    def from_xml(cls, body: bytes | str) -> SSOResult:
        return cls._read(parse_xml(body, "SSOResult").find("Response"))

    def to_status_xml(self) -> bytes:
        """CUCM's own answer to ``GET /ssosp/ws/public/singleSignOn``: the same ``Response`` without the envelope."""
        root = etree.Element("Response")
        sso = etree.SubElement(root, "SingleSignOn")
        etree.SubElement(sso, "Status", enabled=_bool(self.sso_enabled))
        etree.SubElement(sso, "Token", reuse=_bool(self.token_reuse))
        return etree.tostring(root)

    @classmethod
    def from_status_xml(cls, body: bytes | str) -> SSOResult:
        return cls._read(parse_xml(body, "Response"))

    @classmethod
    def _read(cls, response: etree._Element | None) -> SSOResult:
        status = response.find("SingleSignOn/Status") if response is not None else None
        token = response.find("SingleSignOn/Token") if response is not None else None
        if status is None:
            raise XmlError("no Response/SingleSignOn/Status")
        return cls(status.get("enabled") == "true", token is not None and token.get("reuse") == "true")


@dataclass(frozen=True)
class Server:
    address: str
    port: int
    priority: int = 1
    weight: int = 1


@dataclass(frozen=True)
class Service:
    """One ``serviceConfig/service``: its servers, or the error that stands in for them."""

    name: str
    servers: tuple[Server, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class EdgeConfig:
    """``getEdgeConfigResponse``: internal services by name, and the edge servers that reach them."""

    services: tuple[Service, ...]
    sip_edge: tuple[Server, ...]
    sip_route: str
    xmpp_edge: tuple[Server, ...]
    http_edge: tuple[Server, ...]
    user_uds: tuple[Server, ...]
    turn_edge: tuple[Server, ...] = field(default=())

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def to_xml(self) -> bytes:
        root = etree.Element("getEdgeConfigResponse", version="1.0")
        config = etree.SubElement(root, "serviceConfig")
        for service in self.services:
            node = etree.SubElement(config, "service")
            etree.SubElement(node, "name").text = service.name
            if service.error is not None:
                etree.SubElement(node, "error").text = service.error
            for server in service.servers:
                entry = etree.SubElement(node, "server")
                for tag, value in (("priority", server.priority), ("weight", server.weight),
                                   ("port", server.port), ("address", server.address)):
                    etree.SubElement(entry, tag).text = str(value)
        edge = etree.SubElement(root, "edgeConfig")
        _edge_servers(edge, "sipEdgeServer", self.sip_edge)
        etree.SubElement(etree.SubElement(edge, "sipRequest"), "route").text = self.sip_route
        _edge_servers(edge, "xmppEdgeServer", self.xmpp_edge)
        _edge_servers(edge, "httpEdgeServer", self.http_edge)
        _edge_servers(edge, "turnEdgeServer", self.turn_edge)
        _edge_servers(edge, "userUdsServer", self.user_uds)
        return to_bytes(root)

    @classmethod
    def from_xml(cls, body: bytes | str) -> EdgeConfig:
        root = parse_xml(body, "getEdgeConfigResponse")
        services = []
        for node in root.findall("serviceConfig/service"):
            servers = tuple(
                Server(s.findtext("address", ""), _int(s.findtext("port")), _int(s.findtext("priority"), 1),
                       _int(s.findtext("weight"), 1))
                for s in node.findall("server")
            )
            services.append(Service(node.findtext("name", ""), servers, node.findtext("error")))
        return cls(
            services=tuple(services),
            sip_edge=_read_edge(root, "sipEdgeServer"),
            sip_route=root.findtext("edgeConfig/sipRequest/route", ""),
            xmpp_edge=_read_edge(root, "xmppEdgeServer"),
            http_edge=_read_edge(root, "httpEdgeServer"),
            user_uds=_read_edge(root, "userUdsServer"),
            turn_edge=_read_edge(root, "turnEdgeServer"),
        )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _edge_servers(parent: etree._Element, tag: str, servers: tuple[Server, ...]) -> None:
    node = etree.SubElement(parent, tag)
    for server in servers:
        entry = etree.SubElement(node, "server")
        etree.SubElement(entry, "address").text = server.address
        etree.SubElement(entry, "tlsPort").text = str(server.port)


def _read_edge(root: etree._Element, tag: str) -> tuple[Server, ...]:
    return tuple(
        Server(s.findtext("address", ""), _int(s.findtext("tlsPort")))
        for s in root.findall(f"edgeConfig/{tag}/server")
    )


@lru_cache(maxsize=4)
def _sso_xml(sso_enabled: bool, token_reuse: bool) -> bytes:
    """:meth:`SSOResult.to_xml` depends on two booleans only; bytes are immutable, so sharing them is safe."""
    return SSOResult(sso_enabled, token_reuse)._build_xml()
