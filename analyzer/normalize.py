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
