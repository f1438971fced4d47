"""The session packets of a shared XCP link: many clients' XMPP streams on one connection (*modelled*).

Cisco's XCP routers and connection managers keep one connection between two nodes and carry every client session on
it, each packet naming the session it belongs to; the exact wire format is not public. mrasim's framing
(docs/xmpp.md, "The shared XCP link"):

* before authentication a session is its ``xdb`` packets (:mod:`common.xmpp.xcp`, the seed's shapes, unchanged); their
  ``id`` (E's ``jtx_…`` transaction, unique per connection manager) is the session id, and an answer is matched to
  its question by that id;
* after ``<success/>`` the client's bytes travel as they are, base64 in a ``<route type='session'>`` naming the
  session (``sid``) and the components at either end::

      <route type='session' sid='jtx_10392' to='connect-auth-1.expc-lab-example'
             from='cm-1_jsmcp-1.expe-lab-example'>PHN0cmVhbTpzdHJlYW0g…</route>

  base64 because a chunk of a client's stream is not itself well-formed XML (a stream header, half a stanza);
* ``<route type='session' sid='…' action='end'/>`` ends a session from either side: the client went away, or IM&P
  closed its stream. When the link itself drops, every session on it ends.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from lxml import etree

from common.xmpp.xml import escape_attr

SESSION = "session"


@dataclass(frozen=True)
class SessionPacket:
    """A session's bytes (``data``), or its end (``end`` True) when ``data`` is empty."""

    sid: str
    to: str
    from_: str
    data: bytes = b""
    end: bool = False

    def wire(self) -> bytes:
        head = (f"<route type='session' sid='{escape_attr(self.sid)}' to='{escape_attr(self.to)}' "
                f"from='{escape_attr(self.from_)}'")
        if self.end:
            return f"{head} action='end'/>".encode()
        return f"{head}>".encode() + base64.b64encode(self.data) + b"</route>"

    def readdressed(self, to: str, from_: str) -> SessionPacket:
        return SessionPacket(self.sid, to, from_, self.data, self.end)


def is_session(node: etree._Element) -> bool:
    return etree.QName(node).localname == "route" and node.get("type") == SESSION


def read_session(node: etree._Element) -> SessionPacket:
    """The session packet in ``node`` (checked by :func:`is_session`); bad base64 is a ``ValueError``."""
    sid = node.get("sid", "")
    if not sid:
        raise ValueError("session route without a sid")
    if node.get("action") == "end":
        return SessionPacket(sid, node.get("to", ""), node.get("from", ""), end=True)
    try:
        data = base64.b64decode((node.text or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"session {sid}: data is not base64") from None
    return SessionPacket(sid, node.get("to", ""), node.get("from", ""), data)
