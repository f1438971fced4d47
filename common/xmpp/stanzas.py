"""JIDs, stream features, resource binding, stanza errors, messages and presence (RFC 6120 §4.3, §7, §8; RFC 6121).

A second bind of a full JID that is already bound is refused with ``<error code='409' type='cancel'><conflict/>``,
the shape seen in the field (mra-facts §7: the legacy ``code`` attribute that XEP-0086 maps ``conflict`` to, beside the
RFC 6120 §8.3.3.2 condition). Everything here renders with :func:`common.xmpp.xml.render` and parses with lxml, so the
server and the clients share one definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from common.xmpp.sasl import mechanisms_element
from common.xmpp.xml import BIND, CLIENT, SESSION, STANZA_ERRORS, child, element, render

LEGACY_CODES = {"conflict": "409", "not-authorized": "401", "bad-request": "400", "service-unavailable": "503",
                "item-not-found": "404", "not-allowed": "405", "forbidden": "403"}


@dataclass(frozen=True)
class Jid:
    """``local@domain/resource`` (RFC 7622), compared as given: the lab's user ids are already lower case."""

    local: str
    domain: str
    resource: str = ""

    @classmethod
    def parse(cls, text: str) -> Jid:
        bare, _, resource = text.partition("/")
        local, at, domain = bare.rpartition("@")
        if not at:
            local, domain = "", bare
        if not domain or (at and not local):
            raise ValueError(f"not a JID: {text!r}")
        return cls(local, domain.lower(), resource)

    @property
    def bare(self) -> str:
        return f"{self.local}@{self.domain}" if self.local else self.domain

    def __str__(self) -> str:
        return f"{self.bare}/{self.resource}" if self.resource else self.bare


def features(*items: etree._Element) -> bytes:
    """``<stream:features>`` holding ``items``, written inside a stream whose header declared the prefix."""
    inner = "".join(render(item, CLIENT) for item in items)
    return f"<stream:features>{inner}</stream:features>".encode()


STARTTLS = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
PROCEED = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"


def starttls_features() -> bytes:
    """The first features of a stream that must be secured first (RFC 6120 §5.3.1, ``<required/>``)."""
    return b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" \
           b"</stream:features>"


def sasl_features(mechanisms: tuple[str, ...] | list[str]) -> bytes:
    return features(mechanisms_element(mechanisms))


def bind_features() -> bytes:
    """After SASL: resource binding (RFC 6120 §7.4) and the optional legacy session (RFC 3921, kept by IM&P)."""
    return features(element("bind", None, ns=BIND), element("session", None, element("optional", ns=SESSION),
                                                            ns=SESSION))


def bind_request(iq_id: str, resource: str = "") -> bytes:
    payload = element("bind", None, *([element("resource", None, resource, ns=BIND)] if resource else []), ns=BIND)
    return render(element("iq", {"type": "set", "id": iq_id}, payload)).encode()


def read_bind_request(iq: etree._Element) -> str | None:
    """The requested resource ('' for a server-generated one), or None when the iq is not a bind request."""
    bind = child(iq, BIND, "bind")
    if bind is None or iq.get("type") != "set":
        return None
    return (bind.findtext(f"{{{BIND}}}resource") or "").strip()


def bind_result(iq_id: str, jid: Jid) -> bytes:
    payload = element("bind", None, element("jid", None, str(jid), ns=BIND), ns=BIND)
    return render(element("iq", {"type": "result", "id": iq_id}, payload)).encode()


def read_bound_jid(iq: etree._Element) -> str:
    return (iq.findtext(f"{{{BIND}}}bind/{{{BIND}}}jid") or "").strip()


class StanzaError(Exception):
    """A stanza-level error (RFC 6120 §8.3): its type, condition, and the legacy ``code`` XEP-0086 gives it."""

    def __init__(self, error_type: str, condition: str, text: str = "") -> None:
        super().__init__(condition)
        self.error_type, self.condition, self.text = error_type, condition, text

    def reply(self, stanza: etree._Element) -> bytes:
        """The error reply: the original's name and id, addresses swapped, its payload kept (§8.3.1)."""
        attrs = {"type": "error"}
        for key, swapped in (("id", "id"), ("from", "to"), ("to", "from")):
            if stanza.get(key):
                attrs[swapped] = stanza.get(key, "")
        error = element("error", {"code": LEGACY_CODES.get(self.condition, "500"), "type": self.error_type},
                        element(self.condition, ns=STANZA_ERRORS))
        if self.text:
            error.append(element("text", None, self.text, ns=STANZA_ERRORS))
        reply = element(etree.QName(stanza).localname, attrs, *[_copy(kid) for kid in stanza], error)
        return render(reply).encode()


def read_error(stanza: etree._Element) -> tuple[str, str, str]:
    """``(code, type, condition)`` of a stanza's ``<error>``."""
    error = stanza.find(f"{{{CLIENT}}}error")
    if error is None:
        return "", "", ""
    condition = next((etree.QName(k).localname for k in error if etree.QName(k).namespace == STANZA_ERRORS
                      and etree.QName(k).localname != "text"), "")
    return error.get("code", ""), error.get("type", ""), condition


def message(to: str, body: str, from_: str = "", msg_type: str = "chat", msg_id: str = "") -> bytes:
    attrs = {"to": to, "type": msg_type, **({"from": from_} if from_ else {}), **({"id": msg_id} if msg_id else {})}
    return render(element("message", attrs, element("body", None, body))).encode()


def presence(from_: str = "", to: str = "", show: str = "", status: str = "", presence_type: str = "") -> bytes:
    attrs = {k: v for k, v in (("from", from_), ("to", to), ("type", presence_type)) if v}
    kids = [element(tag, None, text) for tag, text in (("show", show), ("status", status)) if text]
    return render(element("presence", attrs, *kids)).encode()


def with_from(stanza: etree._Element, sender: str) -> etree._Element:
    """A copy of a client's stanza stamped with the sender's full JID, as a server must (RFC 6120 §8.1.2.1)."""
    stamped = _copy(stanza)
    stamped.set("from", sender)
    return stamped


def _copy(node: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(node))
