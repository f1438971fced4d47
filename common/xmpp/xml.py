"""Namespaces and the one XML serializer every XMPP node uses to send and to log.

The seed's XCP lines print packets jabberd style — single-quoted attributes, a namespace declared only where it changes
(``<xdb … ns='http://jabber.com/protocol/sasl' …><auth mechanism='CISCO-VTG-TOKEN'
xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>XXXXXXX</auth></xdb>``). :func:`render` writes elements that way, so a packet on
the wire and the same packet in a log are one string. Parsing is lxml's; building is :func:`element`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from lxml import etree

STREAMS = "http://etherx.jabber.org/streams"
CLIENT = "jabber:client"
SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
BIND = "urn:ietf:params:xml:ns:xmpp-bind"
SESSION = "urn:ietf:params:xml:ns:xmpp-session"
TLS = "urn:ietf:params:xml:ns:xmpp-tls"
STREAM_ERRORS = "urn:ietf:params:xml:ns:xmpp-streams"
STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"
XCP_SASL = "http://jabber.com/protocol/sasl"
DOMAIN_NAME = "urn:xmpp:domain-based-name:0"
XCP = "http://jabber.com/protocol/xcp"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_ESCAPES_TEXT = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ESCAPES_ATTR = (*_ESCAPES_TEXT, ("'", "&apos;"))


def qname(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


def element(tag: str, attrs: Mapping[str, str] | None = None, *children: etree._Element | str,
            ns: str = CLIENT) -> etree._Element:
    """``element("mechanism", None, "PLAIN", ns=SASL)``: an lxml element with children or text."""
    node = etree.Element(tag if tag.startswith("{") else qname(ns, tag))
    for key, value in (attrs or {}).items():
        node.set(key, value)
    for child in children:
        if isinstance(child, str):
            if len(node):
                node[-1].tail = (node[-1].tail or "") + child
            else:
                node.text = (node.text or "") + child
        else:
            node.append(child)
    return node


def children(parent: etree._Element, namespace: str, local: str) -> Iterable[etree._Element]:
    return parent.iterfind(qname(namespace, local))


def child(parent: etree._Element, namespace: str, local: str) -> etree._Element | None:
    return parent.find(qname(namespace, local))


def escape_text(text: str) -> str:
    for raw, entity in _ESCAPES_TEXT:
        text = text.replace(raw, entity)
    return text


def escape_attr(text: str) -> str:
    for raw, entity in _ESCAPES_ATTR:
        text = text.replace(raw, entity)
    return text


def render(node: etree._Element, parent_ns: str | None = CLIENT, stream_prefix: bool = True) -> str:
    """Serialize ``node`` jabberd style, as if it sat inside an element whose default namespace is ``parent_ns``.

    Elements in the streams namespace are written with the ``stream:`` prefix the stream header declares.
    """
    name = etree.QName(node)
    namespace = name.namespace or ""
    if namespace == STREAMS and stream_prefix:
        tag, declare, inner_ns = f"stream:{name.localname}", "", parent_ns
    else:
        tag, inner_ns = name.localname, namespace
        declare = "" if namespace == (parent_ns or "") else f" xmlns='{escape_attr(namespace)}'"
    attrs = "".join(f" {_attr_name(k)}='{escape_attr(v)}'" for k, v in node.attrib.items())
    inner = escape_text(node.text or "") + "".join(
        render(kid, inner_ns, stream_prefix) + escape_text(kid.tail or "") for kid in node
        if isinstance(kid.tag, str)
    )
    if not inner:
        return f"<{tag}{attrs}{declare}/>"
    return f"<{tag}{attrs}{declare}>{inner}</{tag}>"


def to_bytes(node: etree._Element, parent_ns: str | None = CLIENT) -> bytes:
    return render(node, parent_ns).encode()


def _attr_name(key: str) -> str:
    return "xml:lang" if key == XML_LANG else key
