"""The analyzer's fast paths (issue 12, item 5), and the switch that turns them off.

A diagnostic bundle is hundreds of MB of clean Expressway lines; the aim is an analyzer at least a third as fast as
reading the files and splitting them into records. Each fast path here is an exact shortcut of a general path, never
a different reading: it either gives what the general path gives or declines, and the general path runs.

* :func:`read_clean_expressway` reads a file made only of clean Expressway records (what every Expressway writes) in
  one pass over its lines: the records are cut and their headers read together, the field names of each distinct
  header shape are read once. Anything else — a syslog prefix, a folded block, a damaged line, a Jabber or CUCM line —
  makes it decline the whole file, which then goes through ``split_records``, the format definitions, ``normalize``
  and ``tolerant`` exactly as before.
* :mod:`analyzer.facts` answers a text search from one joined text of the notable records (``str.find`` at memory
  speed) and runs a signature's test only on the records that hold one of its literals.

``with fastpath.disabled():`` runs the general paths only; ``tests/analyzer/test_analyzer_fastpath.py`` diagnoses the
lab's scenario logs and the real excerpts both ways and requires the same events, sessions, ladders and findings, so
a shortcut can never drop a finding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from common.logformats.expressway import BLOCK_TAGS, _sipmsg_body

ENABLED = True

# Everything ``str.splitlines`` cuts at besides "\n": a file holding one of these is read by the general path.
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d")
_PROCESS = re.compile(r"([A-Za-z_][\w.-]*+)(?:\[\d+\])?:?")
_FIRST_NAME = re.compile(r"([A-Za-z][\w.-]*+)=")
_NEXT_NAME = re.compile(r":? {1,2}([A-Za-z][\w.-]*+)=")
_HOST = re.compile(r"\S+")
_TAGS = frozenset(BLOCK_TAGS)
_DIGITS = frozenset("0123456789")

ExpresswayRecord = tuple[int, str, str, str, dict[str, str], str | None]
"""``(line, record text, host, process, fields, block)``: what ``split_records`` + ``parse_fast`` give."""


@contextmanager
def disabled() -> Iterator[None]:
    """Run the general paths only (the reference the fast paths are tested against)."""
    global ENABLED
    before, ENABLED = ENABLED, False
    try:
        yield
    finally:
        ENABLED = before


_PROCESSES: dict[str, str | None] = {}
_HOSTS: dict[str, bool] = {}
_SHAPES: dict[tuple[str, ...], tuple[str, ...] | None] = {}


def _process(text: str) -> str | None:
    """``traffic_server[16087]:`` → ``traffic_server``; ``None`` when it is not a process as the format writes one.
    Cached: a log holds a handful of these."""
    found = _PROCESSES.get(text, False)
    if found is False:
        match = _PROCESS.fullmatch(text)
        found = match.group(1) if match else None
        if len(_PROCESSES) < 10_000:
            _PROCESSES[text] = found
    return found  # type: ignore[return-value]


def _host(text: str) -> bool:
    """Whether ``text`` is a host as the format reads one (no white space of any kind); cached."""
    found = _HOSTS.get(text)
    if found is None:
        found = _HOST.fullmatch(text) is not None
        if len(_HOSTS) < 10_000:
            _HOSTS[text] = found
    return found


def _names(shape: tuple[str, ...]) -> tuple[str, ...] | None:
    """The field names of a header cut at its quotes (``('UTCTime=', ' Module=', …)``), or ``None`` when the first
    piece is not ``Name=`` or another not ``[":"]" "[" "]Name=`` (the header is not clean). Read once per shape: a log
    has a few dozen."""
    names = _SHAPES.get(shape, False)
    if names is False:
        matches = [_FIRST_NAME.fullmatch(shape[0])] + [_NEXT_NAME.fullmatch(piece) for piece in shape[1:]]
        names = None if None in matches else tuple(m.group(1) for m in matches)  # type: ignore[union-attr]
        if len(_SHAPES) < 10_000:
            _SHAPES[shape] = names
    return names  # type: ignore[return-value]


def read_clean_expressway(text: str, first_line: int = 1) -> list[ExpresswayRecord] | None:
    """Every record of ``text`` as ``split_records`` cuts it and ``parse_fast`` reads it, numbered as
    ``normalize.lines_of`` numbers them; ``None`` when any record is not a clean Expressway record (or the text has
    something the general splitter treats specially: a SIP continuation, two blocks on one record, a line break other
    than "\\n"). Records come back only when all of them are read, so a file is read wholly one way or the other.

    It works on positions in the text, not on its lines: a block is found with one ``str.find`` for its closing
    ``|``, so the Python work is per record, not per line."""
    if "sipio-" in text or any(mark in text for mark in _OTHER_BREAKS):
        return None
    out: list[ExpresswayRecord] = []
    append, time_match, find, size = out.append, _TIME.match, text.find, len(text)
    number, at = first_line, 0
    while at < size:
        newline = find("\n", at)
        if newline < 0:
            newline = size
        head = text[at:newline]
        if not head.strip():
            at = newline + 1
            continue  # a blank line ends a record and starts none
        if time_match(head) is None or head[29:30] != " ":
            return None
        parts = head[30:].split(" ", 2)
        if len(parts) < 3:
            return None
        host, process_text, fields_text = parts
        process = _process(process_text)
        if process is None or not _host(host):
            return None
        pieces = fields_text.split('"')
        if len(pieces) < 3 or not len(pieces) % 2 or pieces[-1] not in ("", ":"):
            return None
        names = _names(tuple(pieces[0:-1:2]))
        if names is None:
            return None
        fields = dict(zip(names, pieces[1::2]))
        block = None
        end = newline
        tag = ""
        if newline + 1 < size and text[newline + 1] not in _DIGITS:  # a header opens with a digit, a tag never
            tag_end = find("\n", newline + 1)
            tag = text[newline + 1:tag_end if tag_end >= 0 else size]
        if tag.endswith(":") and tag.strip()[:-1] in _TAGS:
            body_start = newline + len(tag) + 2
            if body_start >= size:  # the tag is the last line: no body
                end, body = min(body_start - 1, size), ""
            else:
                # the body runs to the first line that ends with "|" (a lone "|" as its first line does not close it)
                close = find("|\n", body_start)
                if close == body_start:
                    close = find("|\n", body_start + 1)
                if close < 0 and text.endswith("|") and size - 1 > body_start:
                    close = size - 1
                if close >= 0:
                    end = close + 1
                else:  # never closed: the record runs to the end of the text
                    end = size - 1 if text.endswith("\n") else size
                body = text[body_start:end]
            if end < size:
                after_end = find("\n", end + 1)
                after = text[end + 1:after_end if after_end >= 0 else size]
                if after.endswith(":") and after.strip()[:-1] in _TAGS:
                    return None  # a second block on the same record: the general path
            if tag == " SIPMSG:":
                block = _sipmsg_body(body)
            else:
                block = body[1:-1] if body.startswith("|") and body.endswith("|") else body
            record = text[at:end]
            append((number, record, host, process, fields, block))
            number += record.count("\n") + 1
        else:
            append((number, head, host, process, fields, block))
            number += 1
        at = end + 1
    return out
