"""Put copy-pasted log text back into records before it is parsed.

Logs reach an engineer pasted into cases, chats and web pages (the seed article is one): long lines wrapped, often
mid-token, with blank paragraphs between the pieces; several records joined on one line; ``+++`` commentary around
them; U+00A0 for spaces; ``HTTPMSG`` blocks that lose their closing ``|``. Files written by the products themselves
never need this, so :mod:`analyzer.ingest` only comes here when :func:`common.logformats.expressway.split_records`
leaves records the format definitions cannot read.

The rules, from the seed's own damage:

* a record starts where one of the three formats' headers starts (after any leading noise such as ``+++``);
* a line holding two headers is cut before the second;
* a line that is not a header continues the current header when we are inside a quoted value (joined with nothing:
  wrapping cuts mid-word), when it opens with ``Name="`` or ``[`` (joined with a space), or when it has no white
  space at all and follows a message (a wrapped URL); anything else is commentary and is counted, not kept;
* ``HTTPMSG:``/``MSGBODY:`` opens a block that ends at a line ending in ``|`` or at the next header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from common.logformats.expressway import BLOCK_TAGS

PASTED_BLOCK_TAGS = (*BLOCK_TAGS, "SIPMSG")  # the SIP proxy's block (tvcs), which our own nodes do not write

EXPRESSWAY_HEAD = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d \S+ [A-Za-z_][\w.-]*(?:\[\d+\])?:? [A-Za-z]"
CSF_HEAD = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \[0x[0-9a-fA-F]{8}\]"
LOG4J_HEAD = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ +\[[^\]]+\] \S+ - "
_ANY_HEAD = f"(?:{EXPRESSWAY_HEAD}|{CSF_HEAD}|{LOG4J_HEAD})"
_HEAD_AT_START = re.compile(rf"^[^\w\"<|]{{0,8}}(?={_ANY_HEAD})")
_EMBEDDED_HEAD = re.compile(rf"(?<=[\s\"|>\]])(?={_ANY_HEAD})")
_FIELD_START = re.compile(r"^[A-Za-z][\w.-]*=\"")
_WRAPPED = re.compile(r"[&=/%?]|^[0-9a-fA-F-]+$")


@dataclass
class Repaired:
    """Records rebuilt from damaged text, each with the 1-based line it started on, and the lines dropped."""

    records: list[tuple[int, str]]
    dropped: int
    left: list[tuple[int, str]]


def _split_joined(line: str) -> list[str]:
    cuts = [m.start() for m in _EMBEDDED_HEAD.finditer(line)]
    if not cuts:
        return [line]
    pieces, start = [], 0
    for cut in cuts:
        pieces.append(line[start:cut].rstrip())
        start = cut
    pieces.append(line[start:])
    return [p for p in pieces if p]


class _Builder:
    def __init__(self) -> None:
        self.records: list[tuple[int, str]] = []
        self.head: str | None = None
        self.start = 0
        self.tag: str | None = None
        self.block: list[str] | None = None
        self.dropped = 0
        self.last_len = 0
        self.left: list[tuple[int, str]] = []
        self.number = 0

    def drop(self, line: str) -> None:
        self.dropped += 1
        self.left.append((self.number, line))

    def flush(self) -> None:
        if self.head is not None:
            text = self.head
            if self.tag is not None:
                body = "\n".join(self.block or [])
                if not body.startswith("|"):
                    body = "|" + body
                if not body.endswith("|") or body == "|":
                    body += "|"
                text += f"\n{self.tag}:\n{body}"
            self.records.append((self.start, text))
        self.head, self.tag, self.block = None, None, None

    def begin(self, number: int, text: str) -> None:
        self.flush()
        self.head, self.start, self.last_len = text, number, len(text)

    def continue_head(self, line: str, raw: str | None = None) -> None:
        head = self.head
        if head is None:
            self.drop(raw if raw is not None else line)
            return
        if head.count('"') % 2 == 1:
            self.head = head + (raw if raw is not None else line)
        elif _FIELD_START.match(line) or line.startswith("["):
            self.head = head + " " + line
        elif not any(c.isspace() for c in line) and not head.endswith(" ") and " - " in head \
                and self.last_len >= 60 and _WRAPPED.search(line):
            self.head = head + line
        else:
            self.drop(raw if raw is not None else line)
            return
        self.last_len = len(line)


def repair(text: str) -> Repaired:
    """Rebuild records from pasted text (see the module docstring for the rules)."""
    out = _Builder()
    text = text.replace("\xa0", " ")
    for number, raw in enumerate(text.splitlines(), 1):
        out.number = number
        stripped = raw.strip()
        if not stripped:
            continue
        found = _HEAD_AT_START.match(stripped)
        if found is not None:
            for piece in _split_joined(stripped[found.end():]):
                out.begin(number, piece)
            continue
        if out.block is not None and stripped.startswith("++"):
            out.flush()
            out.drop(raw)
            continue
        if out.block is not None:
            out.block.append(raw.rstrip())
            if stripped.endswith("|") and not (len(out.block) == 1 and stripped == "|"):
                out.flush()
            continue
        if out.head is not None and stripped.endswith(":") and stripped[:-1] in PASTED_BLOCK_TAGS:
            out.tag, out.block = stripped[:-1], []
            continue
        if out.head is not None and _EMBEDDED_HEAD.search(stripped):
            first, *rest = _split_joined(stripped)
            out.continue_head(first)
            for piece in rest:
                out.begin(number, piece)
            continue
        out.continue_head(stripped, raw)
    out.flush()
    return Repaired(out.records, out.dropped, out.left)


def lines_of(records: list[str], first: int = 1) -> Iterator[tuple[int, str]]:
    """Number records from a clean split by the line each starts on (``first`` for a piece of a large file)."""
    number = first
    for record in records:
        yield number, record
        number += record.count("\n") + 1


# What a mail client, a chat or a ticket does to pasted lines, undone before any format is tried (:func:`unpaste`).
_QUOTE = re.compile(r"^[ \t]*(?:>[ \t]?)+", re.M)
_NUMBERED = re.compile(r"^[ \t]*\d{1,6}[.:][ \t]", re.M)
# A continuation cannot be a line that opens a record (a time, an SDL sequence number, a level and thread) or a
# header/field line of a SIP or HTTP message (``Via:``, ``Content-Length:``), a block marker or an indented line.
_OPENS = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\d{8}\.\d{3} +\||(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL) +\[|\s"
                    r"|SIP/2\.0 |HTTP/1\.[01] |[A-Z]+ \S+ (?:SIP/2\.0|HTTP/1\.[01])|(?:Via|From|To|Call-ID|CSeq|Contact|"
                    r"Content-(?:Type|Length|Disposition|Encoding)|Max-Forwards|Expires|Allow|Supported|Require|User-Agent|"
                    r"Server|Date|Host|Accept|Cookie|Set-Cookie|Authorization|WWW-Authenticate|Proxy-Authenticate|"
                    r"Proxy-Authorization|Record-Route|Route|Warning|Reason|Retry-After|Session-Expires|Mime-Version|"
                    r"P-Asserted-Identity|Remote-Party-ID|Location|Connection|Cache-Control|Transfer-Encoding|Event|"
                    r"Subscription-State|Refer-To|Referred-By|Call-Info|Diversion|TrackingID|Client-ip|X-[\w-]+): ")
WRAP_MAX = 100      # mail clients wrap at 72-80 columns; a product's own log always has longer lines than this


def unpaste(text: str) -> str:
    """The text as the product wrote it, from a paste that a mail client or chat reshaped (issue: field pastes).

    * every line quoted with ``>`` (a reply) or numbered ``12:``/``12.`` (a pastebin or an editor's copy): the marks
      are taken off, when they stand before nearly every line;
    * lines wrapped at a fixed width (72-80 columns; no line with a space longer than :data:`WRAP_MAX`): a line is
      joined to the one before by the space the wrap took when its first word would not have fitted after it,
      unless it opens a record or is a header line of a SIP/HTTP message.

    Only a text whose every line is short can have been wrapped, so a product's own file (Expressway, Jabber and CUCM
    lines run past 100 characters) is returned as it is after one look at its first lines."""
    head = text[:20000]
    lines = [line for line in head.split("\n") if line.strip()]
    if not lines:
        return text
    quoted = sum(1 for line in lines if line.lstrip().startswith(">"))
    if quoted >= 0.8 * len(lines):
        text = _QUOTE.sub("", text)
        lines = [line for line in text[:20000].split("\n") if line.strip()]
    numbered = sum(1 for line in lines if _NUMBERED.match(line))
    if numbered >= 0.8 * len(lines) and len(lines) >= 2:
        text = _NUMBERED.sub("", text)
        lines = [line for line in text[:20000].split("\n") if line.strip()]
    # a word longer than the width (a URL, a Java class name) stays whole on a line of its own: not a measure
    width = max((len(line.rstrip()) for line in lines if " " in line.strip()), default=0)
    if width > WRAP_MAX or width < 50 or len(lines) < 2:
        return text
    if sum(1 for line in lines if len(line.rstrip()) >= width - 24) < 0.3 * len(lines):
        return text
    out: list[str] = []
    previous = 0    # length of the last physical line, 0 after a blank one
    for line in text.split("\n"):
        body = line.rstrip()
        first_word = len(body.split(None, 1)[0]) if body.strip() else 0
        # the wrap moved this line's first word down because it did not fit after the previous line
        if previous and body and previous + 1 + first_word > width - 2 and not _OPENS.match(body):
            out[-1] += " " + body
        else:
            out.append(body)
        previous = len(body)
    return "\n".join(out)
