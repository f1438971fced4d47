"""The XMPP stream reader, sans-IO (RFC 6120 §4), and the stream errors that end a stream (§4.9).

Theory of operation, h11 style: a node hands :meth:`StreamReader.feed` whatever bytes arrived and gets back events —
:class:`StreamOpened` for the ``<stream:stream>`` header, :class:`Stanza` for each complete first-level child,
:class:`StreamClosed` for ``</stream:stream>``. Sockets live in the nodes. Every way a peer can break the stream raises
a :class:`StreamError` that renders its own wire form (``<stream:error>`` plus the closing tag, §4.9.1), so the node's
shell only writes ``error.wire()`` and closes:

* bytes that are not well-formed XML → ``not-well-formed`` (§4.9.3.13);
* comments, processing instructions, a DTD, or an entity reference other than the five predefined ones and
  character references → ``restricted-xml`` (§11.1, §4.9.3.18) — libxml2 stops producing events after an undefined
  entity without raising, which left a stream open and silent (issue 13 item 3), so references are checked here;
* an element whose prefix is bound to no namespace → ``bad-namespace-prefix`` (§4.9.3.2);
* a first element that is not ``stream`` in ``http://etherx.jabber.org/streams`` → ``invalid-namespace`` (§4.9.3.10);
* a stanza larger than the reader's limit → ``policy-violation`` (§4.9.3.14, §13.12 item 4);
* anything after ``</stream:stream>`` → ``not-well-formed``.

After SASL success both sides restart the stream (§6.4.6) and the reader is :meth:`StreamReader.reset`.

A reader made with ``release_idle=True`` lets its parser go whenever a read ends exactly between two stanzas, and makes
a new one, primed with the stream's opening tag, when the next bytes come. libxml2's push parser costs about 10 KiB
a stream; a signed-in Jabber sends a ping a minute, so Expressway-E and IM&P, which read every client's stream, held
20,000 parsers for nothing (issue 18, round 4). The events are the same either way (``tests/common/test_stream_release``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from common.xmpp.xml import CLIENT, STREAM_ERRORS, STREAMS, escape_attr, escape_text, qname

MAX_STANZA = 65536
_SLICE = 4096
_STREAM_TAG = qname(STREAMS, "stream")
_BAD_TAG_OPEN = re.compile(rb"<(?=[^A-Za-z_:/?!\x80-\xff])")
_BAD_REFERENCE = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});)")
_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.S)
_LONGEST_REFERENCE = 11  # "&#x10FFFF;" and one more: a shorter "&…" at the end of a read may still be completed
# The last markup of a read, when it is a whole end tag or a whole empty-element tag (attribute values quoted, no "<"
# inside them, XML 1.0 §3.1): libxml2 has then parsed every byte it was given, and nothing of a stanza is pending.
_WHOLE_LAST_TAG = re.compile(rb"</[^\s<>]+\s*>|<[^\s<>/!?]+(?:\s+[^\s=<>/]+\s*=\s*(?:'[^'<]*'|\"[^\"<]*\"))*\s*/>")


class StreamError(Exception):
    """A stream-level error (RFC 6120 §4.9.3): ``condition`` is the defined condition element's name."""

    def __init__(self, condition: str, text: str = "") -> None:
        super().__init__(f"{condition}: {text}" if text else condition)
        self.condition = condition
        self.text = text

    def element(self) -> str:
        text = f"<text xmlns='{STREAM_ERRORS}'>{escape_text(self.text)}</text>" if self.text else ""
        return f"<stream:error><{self.condition} xmlns='{STREAM_ERRORS}'/>{text}</stream:error>"

    def wire(self, opened: bool = True) -> bytes:
        """The error and the closing tag; ``opened`` False when our own header has not been sent yet (§4.9.1.1)."""
        head = "" if opened else header("", "", "")
        return f"{head}{self.element()}</stream:stream>".encode()


@dataclass(frozen=True)
class StreamOpened:
    attrs: Mapping[str, str]
    default_ns: str

    def get(self, key: str) -> str:
        return self.attrs.get(key, "")


@dataclass(frozen=True)
class Stanza:
    element: etree._Element
    size: int = 0

    @property
    def local(self) -> str:
        return etree.QName(self.element).localname

    @property
    def namespace(self) -> str:
        return etree.QName(self.element).namespace or ""


@dataclass(frozen=True)
class StreamClosed:
    pass


Event = StreamOpened | Stanza | StreamClosed


@dataclass
class StreamReader:
    """Incremental reader of one direction of an XMPP stream (lxml's pull parser underneath)."""

    max_stanza: int = MAX_STANZA
    release_idle: bool = False
    _parser: etree.XMLPullParser | None = field(init=False, repr=False, default=None)
    _depth: int = field(init=False, default=0)
    _pending: int = field(init=False, default=0)
    _closed: bool = field(init=False, default=False)
    _held: bytes = field(init=False, default=b"")
    _opening: bytes = field(init=False, repr=False, default=b"")
    opened: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start afresh, as after SASL success (RFC 6120 §6.4.6) or resource binding on a new stream."""
        self._parser = _new_parser()
        self._depth = self._pending = 0
        self._closed = self.opened = False
        self._held = self._opening = b""

    @property
    def resting(self) -> bool:
        """Whether the reader holds no parser now (between stanzas, ``release_idle``)."""
        return self._parser is None

    def _parse(self, part: bytes) -> None:
        if self._parser is None:  # wake up inside the stream, as the released parser was
            self._parser = _new_parser()
            self._parser.feed(self._opening)
            for _ in self._parser.read_events():
                pass
        self._parser.feed(part)

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if self._held or b"&" in data:
            data = self._check_references(self._held + data)
        for start in range(0, len(data), _SLICE):
            piece = data[start:start + _SLICE]
            if self._closed:
                if piece.strip():
                    raise StreamError("not-well-formed", "data after the end of the stream")
                continue
            if _BAD_TAG_OPEN.search(piece):
                raise StreamError("not-well-formed", "'<' that opens no tag")
            if self.opened and b"<?" in piece:
                raise StreamError("restricted-xml", "processing instructions are not allowed in XMPP (RFC 6120 11.1)")
            if b"<!" in piece and b"<![CDATA[" not in piece:
                raise StreamError("restricted-xml", "DTDs and comments are not allowed in XMPP (RFC 6120 11.1)")
            try:
                for i, part in enumerate(piece.split(b"<![CDATA[")):
                    if i:
                        if self._depth <= 1:  # CDATA between stanzas would swallow the stream in silence
                            raise StreamError("not-well-formed", "character data outside a stanza")
                        part = b"<![CDATA[" + part
                    self._parse(part)
                    events.extend(self._drain())
            except etree.XMLSyntaxError as exc:
                raise StreamError("not-well-formed", str(exc).split(", line")[0]) from None
            self._pending += len(piece)
            if self._pending > self.max_stanza:
                raise StreamError("policy-violation", f"stanza larger than {self.max_stanza} bytes")
            if self._depth <= 1:
                self._pending = 0
        if self.release_idle and self._between_stanzas(data):
            self._parser = None
        return events

    def _between_stanzas(self, data: bytes) -> bool:
        if self._depth != 1 or self._closed or self._held or not self._opening:
            return False
        tail = data.rstrip()
        return tail.endswith(b">") and _WHOLE_LAST_TAG.fullmatch(tail, tail.rfind(b"<")) is not None

    def _check_references(self, data: bytes) -> bytes:
        """``data`` less an unfinished reference at its end (kept for the next read); an undefined entity,
        or an ``&`` that starts no reference, is a stream error."""
        amp = data.rfind(b"&")
        self._held = b""
        if amp >= 0 and b";" not in data[amp:] and len(data) - amp < _LONGEST_REFERENCE:
            data, self._held = data[:amp], data[amp:]
            if len(self._held) > 1 and not re.fullmatch(rb"&(?:[a-z]{1,4}|#[0-9]{0,7}|#x[0-9A-Fa-f]{0,6})",
                                                        self._held):
                raise StreamError("restricted-xml", "entity references other than the predefined ones are not "
                                                    "allowed in XMPP (RFC 6120 11.1)")
        checked = _CDATA.sub(b"", data) if b"<![CDATA[" in data else data
        if _BAD_REFERENCE.search(checked) is not None:
            raise StreamError("restricted-xml", "entity references other than the predefined ones are not allowed "
                                                "in XMPP (RFC 6120 11.1)")
        return data

    def _drain(self) -> list[Event]:
        events: list[Event] = []
        assert self._parser is not None
        for kind, node in self._parser.read_events():
            if kind in ("comment", "pi"):
                raise StreamError("restricted-xml", "comments and processing instructions are not allowed")
            if kind == "start":
                self._depth += 1
                if node.tag[:1] != "{" and ":" in node.tag:
                    raise StreamError("bad-namespace-prefix", f"prefix of <{node.tag}> is bound to no namespace")
                if self._depth == 1:
                    if node.tag != _STREAM_TAG:
                        raise StreamError("invalid-namespace", f"expected <stream:stream>, got <{node.tag}>")
                    self.opened = True
                    self._opening = _opening_tag(node)
                    events.append(StreamOpened(dict(node.attrib), node.nsmap.get(None, "")))
                continue
            self._depth -= 1
            if self._depth == 1:
                parent = node.getparent()
                if parent is not None:
                    parent.remove(node)
                node.tail = None
                events.append(Stanza(node, len(etree.tostring(node))))
            elif self._depth == 0:
                self._closed = True
                events.append(StreamClosed())
        return events


def _new_parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(events=("start", "end", "comment", "pi"), resolve_entities=False, no_network=True,
                               load_dtd=False, huge_tree=False)


def _opening_tag(root: etree._Element) -> bytes:
    """The stream's opening tag with its namespace declarations: what a new parser needs to read the stanzas that
    follow exactly as the first one did (their namespaces are the stream's, RFC 6120 §4.8)."""
    tag = f"{root.prefix}:stream" if root.prefix else "stream"
    declared = " ".join(f"xmlns:{prefix}='{escape_attr(uri)}'" if prefix else f"xmlns='{escape_attr(uri)}'"
                        for prefix, uri in root.nsmap.items())
    return f"<{tag} {declared}>".encode()


def header(to: str, from_: str, stream_id: str, ns: str = CLIENT, version: str = "1.0") -> str:
    """The opening tag (RFC 6120 §4.7); empty attributes are left out, as §4.7.1 allows for ``to`` and ``from``."""
    attrs = [("xmlns", ns), ("xmlns:stream", STREAMS), ("id", stream_id), ("to", to), ("from", from_),
             ("version", version)]
    shown = " ".join(f"{k}='{escape_attr(v)}'" for k, v in attrs if v)
    return f"<?xml version='1.0'?><stream:stream {shown}>"


CLOSE = b"</stream:stream>"
