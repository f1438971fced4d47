"""The XCP packets of the MRA XMPP path: Expressway-E's connection manager, Expressway-C's router, IM&P's auth component.

Cisco's XCP routes ``xdb`` queries between components named ``<component>-<n>.<host with dashes>``. The seed shows
Expressway-C asking the IM&P auth component which SASL mechanisms it supports for a user, and the answer::

    <route type='redirect' to='auth-1.lab2-imp-lab-com' from='sdns_plugin-1.labucexpwyc01-lab-com'><xdb
      from='connect-auth-1.labucexpwyc01-lab-com' id='conauth765380-jtx_10392' ns='http://jabber.com/protocol/sasl'
      to='lab.com' type='get'><jid>ntanborgeson@lab.com</jid></xdb></route>
    <xdb from='lab.com' id='conauth765380-jtx_10392' ns='http://jabber.com/protocol/sasl'
      to='connect-auth-1.labucexpwyc01-lab-com' type='result'><jid>…</jid><mechanisms><mechanism>PLAIN</mechanism>…
      <hostname xmlns='urn:xmpp:domain-based-name:0'>lab1-imp.lab.com</hostname></mechanisms></xdb>

then the client's ``<auth>`` carried as an ``xdb`` of type ``set`` from E's ``cm-1_jsmcp-1`` component. Those shapes are
the seed's. *Modelled* (no capture exists): the ``get`` E sends C (the seed's ``jtx_…`` id before C prefixes
``conauth…-``), the ``result`` C sends back to E, the ``result`` carrying ``<success/>`` or ``<failure/>``, and the link
header (``<stream:stream xmlns='http://jabber.com/protocol/xcp'>``). See ``docs/xmpp.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from common.xmpp.sasl import SUCCESS, Auth, SaslFailure, hidden
from common.xmpp.stream import header
from common.xmpp.xml import DOMAIN_NAME, SASL, XCP, XCP_SASL, element, render

DELIVER_ROUTE = 8
DELIVER_XDB = 1
DELIVER_AT = "deliver.c:1171"
BUFFER_AT = "MIOByteSource.cpp:93"


def component_host(fqdn: str) -> str:
    """``labucexpwyc01.lab.com`` → ``labucexpwyc01-lab-com``, as XCP names a node's components."""
    return fqdn.lower().replace(".", "-")


@dataclass(frozen=True)
class Names:
    """The component addresses of one session's path: E's connection manager, C's router, the user's IM&P."""

    edge: str
    core: str
    imp: str = ""

    @property
    def cm(self) -> str:
        return f"cm-1_jsmcp-1.{component_host(self.edge)}"

    @property
    def connect_auth(self) -> str:
        return f"connect-auth-1.{component_host(self.core)}"

    @property
    def sdns(self) -> str:
        return f"sdns_plugin-1.{component_host(self.core)}"

    @property
    def auth(self) -> str:
        return f"auth-1.{component_host(self.imp)}"


@dataclass(frozen=True)
class Xdb:
    """An ``xdb`` packet in the ``http://jabber.com/protocol/sasl`` namespace (query, answer, or carried ``<auth>``)."""

    from_: str
    id: str
    to: str
    type: str
    jid: str = ""
    mechanisms: tuple[str, ...] | None = None
    hostnames: tuple[str, ...] = ()
    auth: Auth | None = None
    success: bool = False
    failure: SaslFailure | None = None

    def element(self, conceal: bool = False) -> etree._Element:
        node = element("xdb", {"from": self.from_, "id": self.id, "ns": XCP_SASL, "to": self.to, "type": self.type},
                       ns=XCP)
        if self.jid:
            node.append(element("jid", None, self.jid, ns=XCP))
        if self.mechanisms is not None:
            node.append(element("mechanisms", None,
                                *(element("mechanism", None, m, ns=XCP) for m in self.mechanisms),
                                *(element("hostname", None, h, ns=DOMAIN_NAME) for h in self.hostnames), ns=XCP))
        if self.auth is not None:
            node.append(self.auth.element(hidden=conceal))
        if self.success:
            node.append(etree.fromstring(SUCCESS))
        if self.failure is not None:
            node.append(self.failure.element())
        return node

    def text(self, conceal: bool = False) -> str:
        return render(self.element(conceal), parent_ns=XCP)

    def answer(self, **content: object) -> Xdb:
        """The ``result`` to this packet: addresses swapped, same id."""
        return Xdb(self.to, self.id, self.from_, "result", self.jid, **content)  # type: ignore[arg-type]

    @classmethod
    def from_element(cls, node: etree._Element) -> Xdb:
        if etree.QName(node).localname != "xdb" or node.get("ns") != XCP_SASL:
            raise ValueError(f"not an xdb sasl packet: <{etree.QName(node).localname}>")
        own = etree.QName(node).namespace or ""
        mechanisms: tuple[str, ...] | None = None
        hostnames: tuple[str, ...] = ()
        holder = node.find(f"{{{own}}}mechanisms")
        if holder is not None:
            mechanisms = tuple((m.text or "").strip() for m in holder.iterfind(f"{{{own}}}mechanism"))
            hostnames = tuple((h.text or "").strip() for h in holder.iterfind(f"{{{DOMAIN_NAME}}}hostname"))
        auth_node = node.find(f"{{{SASL}}}auth")
        failure_node = node.find(f"{{{SASL}}}failure")
        return cls(
            from_=node.get("from", ""), id=node.get("id", ""), to=node.get("to", ""), type=node.get("type", ""),
            jid=(node.findtext(f"{{{own}}}jid") or "").strip(), mechanisms=mechanisms, hostnames=hostnames,
            auth=Auth.from_element(auth_node) if auth_node is not None else None,
            success=node.find(f"{{{SASL}}}success") is not None,
            failure=SaslFailure.from_element(failure_node) if failure_node is not None else None,
        )


@dataclass(frozen=True)
class Route:
    """``<route type='redirect' to='…' from='…'>`` around a packet for another component."""

    to: str
    from_: str
    packet: Xdb
    type: str = "redirect"

    def element(self, conceal: bool = False) -> etree._Element:
        return element("route", {"type": self.type, "to": self.to, "from": self.from_},
                       self.packet.element(conceal), ns=XCP)

    def text(self, conceal: bool = False) -> str:
        return render(self.element(conceal), parent_ns=XCP)

    @classmethod
    def from_element(cls, node: etree._Element) -> Route:
        inner = node.find(f"{{{etree.QName(node).namespace or ''}}}xdb")
        if etree.QName(node).localname != "route" or inner is None:
            raise ValueError("not a route around an xdb packet")
        return cls(node.get("to", ""), node.get("from", ""), Xdb.from_element(inner), node.get("type", "redirect"))


def read_packet(node: etree._Element) -> Route | Xdb:
    """A packet read off an XCP link; anything else is a ``ValueError`` the link turns into a stream error."""
    local = etree.QName(node).localname
    return Route.from_element(node) if local == "route" else Xdb.from_element(node)


def link_header(to: str, from_: str, stream_id: str = "") -> bytes:
    """The opening of an XCP link between two nodes (modelled)."""
    return header(to, from_, stream_id, ns=XCP).encode()


def wire(packet: Route | Xdb) -> bytes:
    return packet.text().encode()


def concealed(packet: Route | Xdb) -> str:
    """The packet as a log shows it: ``<auth>`` payloads as ``XXXXXXX``."""
    return render(hidden(packet.element()), parent_ns=XCP)


def deliver_detail(kind: int, host: str, packet: Route | Xdb) -> str:
    return f"DELIVER: type:{kind}, host:{host}, packet:{concealed(packet)}"


def buffer_detail(size: int, packet: Route | Xdb) -> str:
    return f"Got Buffer ({size}) {concealed(packet)}"
