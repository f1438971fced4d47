"""CUCM User Data Services bodies that cross a hop: ``clusterUser`` and ``servers`` (mra-facts section 4).

CUCM writes them and Expressway-C reads them to find a user's home cluster; both sides use these definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from common.edgexml import parse_xml

XML_HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


@dataclass(frozen=True)
class ClusterUser:
    """Which cluster a user lives on: ``found``, the user's UDS URI and the home cluster's host."""

    version: str
    uri: str
    found: bool
    user_uri: str = ""
    home_cluster: str = ""
    servers_uri: str = ""

    def to_xml(self) -> bytes:
        root = etree.Element("clusterUser", version=self.version, uri=self.uri)
        if self.found:
            etree.SubElement(root, "result", found="true", uri=self.user_uri, version=self.version)
            etree.SubElement(root, "homeCluster", serversUri=self.servers_uri).text = self.home_cluster
        else:
            etree.SubElement(root, "result", found="false")
        return XML_HEAD + etree.tostring(root, encoding="UTF-8")

    @classmethod
    def from_xml(cls, body: bytes | str) -> ClusterUser:
        root = parse_xml(body, "clusterUser")
        result = root.find("result")
        home = root.find("homeCluster")
        return cls(
            version=root.get("version", ""),
            uri=root.get("uri", ""),
            found=result is not None and result.get("found") == "true",
            user_uri=result.get("uri", "") if result is not None else "",
            home_cluster=(home.text or "").strip() if home is not None else "",
            servers_uri=home.get("serversUri", "") if home is not None else "",
        )


@dataclass(frozen=True)
class Servers:
    version: str
    uri: str
    hosts: tuple[str, ...]

    def to_xml(self) -> bytes:
        root = etree.Element("servers", version=self.version, uri=self.uri)
        for host in self.hosts:
            etree.SubElement(root, "server").text = host
        return XML_HEAD + etree.tostring(root, encoding="UTF-8")

    @classmethod
    def from_xml(cls, body: bytes | str) -> Servers:
        root = parse_xml(body, "servers")
        return cls(root.get("version", ""), root.get("uri", ""),
                   tuple((s.text or "").strip() for s in root.findall("server")))
