"""The device configuration file ``<device>.cnf.xml`` CUCM's TFTP serves on its HTTP port 6970.

Only the parts Jabber reads to register are modelled, with the element names of the capture in Cisco TAC 215572
("Cisco Jabber and SIP OAuth Mode"): ``device/devicePool/callManagerGroup/members/member/callManager`` with ``name``,
``ports/{sipPort, securedSipPort, sipOAuthPort, sipMRAOAuthPort}``, and ``device/sipOAuthMode`` (0 off, 1 on). Jabber
reads ``sipOAuthMode`` to choose Bearer; over MRA the port it would use is ``sipMRAOAuthPort``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from common.edgexml import XmlError, parse_xml, to_bytes


@dataclass(frozen=True)
class DeviceConfig:
    device: str
    model: str
    callmanager: str
    description: str
    sip_port: int
    secured_sip_port: int
    oauth_port: int
    mra_oauth_port: int
    oauth_mode: bool
    security_profile: str
    line: str

    def to_xml(self) -> bytes:
        root = etree.Element("device", ctiid="24")
        etree.SubElement(root, "fullConfig").text = "true"
        etree.SubElement(root, "deviceProtocol").text = "SIP"
        member = etree.SubElement(etree.SubElement(etree.SubElement(etree.SubElement(
            root, "devicePool"), "callManagerGroup"), "members"), "member", priority="0")
        cm = etree.SubElement(member, "callManager")
        etree.SubElement(cm, "name").text = self.callmanager
        etree.SubElement(cm, "description").text = self.description
        ports = etree.SubElement(cm, "ports")
        for tag, value in (("ethernetPhonePort", 2000), ("sipPort", self.sip_port),
                           ("securedSipPort", self.secured_sip_port), ("sipOAuthPort", self.oauth_port),
                           ("sipMRAOAuthPort", self.mra_oauth_port)):
            etree.SubElement(ports, tag).text = str(value)
        etree.SubElement(root, "sipOAuthMode").text = "1" if self.oauth_mode else "0"
        etree.SubElement(root, "deviceSecurityProfile").text = self.security_profile
        etree.SubElement(root, "name").text = self.device
        etree.SubElement(root, "model").text = self.model
        lines = etree.SubElement(etree.SubElement(root, "sipProfile"), "sipLines")
        etree.SubElement(etree.SubElement(lines, "line", button="1"), "name").text = self.line
        return to_bytes(root)

    @classmethod
    def from_xml(cls, body: bytes | str) -> DeviceConfig:
        root = parse_xml(body, "device")
        cm = root.find("devicePool/callManagerGroup/members/member/callManager")
        if cm is None:
            raise XmlError("no devicePool/callManagerGroup/members/member/callManager")

        def port(tag: str, default: int) -> int:
            text = cm.findtext(f"ports/{tag}")
            return int(text) if text and text.isdigit() else default

        return cls(root.findtext("name", ""), root.findtext("model", ""), cm.findtext("name", ""),
                   cm.findtext("description", ""), port("sipPort", 5060), port("securedSipPort", 5061),
                   port("sipOAuthPort", 5090), port("sipMRAOAuthPort", 5091), root.findtext("sipOAuthMode") == "1",
                   root.findtext("deviceSecurityProfile", ""), root.findtext("sipProfile/sipLines/line/name", ""))
