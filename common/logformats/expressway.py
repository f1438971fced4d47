"""Expressway syslog lines, as written to ``/var/log/network_log`` and shown in the seed article.

Shape (mra-facts section 8)::

    <ISO local time, ms, offset> <hostname> <process>[<pid>]: UTCTime="…" Module="…" Level="INFO": Detail="…" Txn-id="…"
    HTTPMSG:
    |<request or response>|

The header varies by process, and this module knows each variant as a :class:`ProcessStyle`:

* ``traffic_server[16087]:`` — pid, colon, and a colon after ``Level="…"``;
* ``edgeconfigprovisioning UTCTime=…`` — no pid, no colon, for lines that carry a ``Module``;
* ``edgeconfigprovisioning:`` and ``credentialmanager:`` — event lines that open with ``Level`` and close with
  ``UTCTime``;
* ``XCP_JABBERD[28071]:`` — pid and colon, plain ``Level``;
* ``tvcs:`` — the traversal zone's events, ``Module="network.ssh"`` / ``"network.xcp"`` (modelled field names);
* ``sshd[…]:`` — Expressway-E's SSH daemon: the OpenSSH sentence in ``Detail`` (``Accepted password for …``).

A line with a ``Module`` field opens with ``UTCTime``; a line without one ends with it. Multi-line bodies follow a
``HTTPMSG:`` or ``MSGBODY:`` tag on their own line and are wrapped in ``|…|``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

BLOCK_TAGS = ("HTTPMSG", "MSGBODY", "SIPMSG")


@dataclass(frozen=True)
class ProcessStyle:
    process: str
    pid: bool
    colon: bool
    level_colon: bool = False
    lead: tuple[str, ...] = ()


TRAFFIC_SERVER = ProcessStyle("traffic_server", pid=True, colon=True, level_colon=True)
EDGECONFIG = ProcessStyle("edgeconfigprovisioning", pid=False, colon=False)
EDGECONFIG_EVENT = ProcessStyle("edgeconfigprovisioning", pid=False, colon=True)
CREDENTIALMANAGER = ProcessStyle("credentialmanager", pid=False, colon=True)
FAIL2BAN = ProcessStyle("fail2ban", pid=False, colon=True)
XCP_JABBERD = ProcessStyle("XCP_JABBERD", pid=True, colon=True, lead=("ThreadID",))
# The traversal zone: Expressway's application (tvcs) logs the zone and tunnel state, E's sshd the tunnel logins.
# tvcs lines have two spaces after ``Level="…":`` (every real network.sip line does), and a ``SIPMSG`` block whose
# lines each start with a space, the first with `` |`` and the last being a lone ``|`` (common/logformats/sip.py).
TVCS = ProcessStyle("tvcs", pid=False, colon=True, level_colon=True)
SSHD = ProcessStyle("sshd", pid=True, colon=True)
TVCS_EVENT = ProcessStyle("tvcs", pid=False, colon=True)


@dataclass(frozen=True)
class ExpresswayLine:
    local_time: str
    host: str
    process: str
    pid: int | None
    colon: bool
    fields: tuple[tuple[str, str], ...]
    level_colon: bool = False
    block_tag: str | None = None
    block: str | None = None

    def get(self, key: str, default: str | None = None) -> str | None:
        for name, value in self.fields:
            if name == key:
                return value
        return default

    @property
    def utc_time(self) -> dt.datetime:
        stamp = self.get("UTCTime")
        if stamp is None:
            raise ValueError("line has no UTCTime")
        return dt.datetime.strptime(stamp, UTC_FORMAT).replace(tzinfo=dt.timezone.utc)

    def render(self) -> str:
        return _render(self.local_time, self.host, self.process, self.pid, self.colon, self.fields, self.level_colon,
                       self.block_tag, self.block)

    @classmethod
    def build(
        cls,
        when: dt.datetime,
        host: str,
        style: ProcessStyle,
        level: str,
        fields: Iterable[tuple[str, str]],
        *,
        module: str | None = None,
        pid: int | None = None,
        utc_offset: dt.timedelta = dt.timedelta(0),
        block_tag: str | None = None,
        block: str | None = None,
    ) -> ExpresswayLine:
        """Lay the fields out in the order the real process writes them."""
        return cls(
            local_time=format_local(when, utc_offset),
            host=host,
            process=style.process,
            pid=pid if style.pid else None,
            colon=style.colon,
            fields=_layout(when, style, level, [(k, str(v)) for k, v in fields], module),
            level_colon=style.level_colon,
            block_tag=block_tag,
            block=block,
        )

    @staticmethod
    def line(
        when: dt.datetime,
        host: str,
        style: ProcessStyle,
        level: str,
        fields: list[tuple[str, str]],
        *,
        module: str | None = None,
        pid: int | None = None,
        utc_offset: dt.timedelta = dt.timedelta(0),
        block_tag: str | None = None,
        block: str | None = None,
    ) -> str:
        """``build(...).render()`` for fields whose values are already strings, without the dataclass in between.

        Every node writes one of these per log line, so the frozen dataclass (nine ``object.__setattr__`` calls) is
        skipped on that path; :meth:`build` and :meth:`render` share :func:`_layout` and :func:`_render` with it, so
        the text is the same by construction.
        """
        utc, local = format_times(when, utc_offset)
        return _render(local, host, style.process, pid if style.pid else None, style.colon,
                       _layout(when, style, level, fields, module, utc), style.level_colon, block_tag, block)

    @classmethod
    def parse(cls, text: str) -> ExpresswayLine:
        first, _, rest = text.partition("\n")
        match = _HEADER.match(first)
        if not match:
            raise ValueError(f"not an Expressway log line: {first[:120]!r}")
        fields_text = match.group("fields")
        fields = tuple(_FIELD.findall(fields_text))
        level_colon = bool(_LEVEL_COLON.search(fields_text))
        block_tag = block = None
        if rest:
            tag, _, body = rest.partition("\n")
            block_tag = tag.strip().rstrip(":")
            if block_tag == "SIPMSG":
                block = _sipmsg_body(body)
            else:
                block = body[1:-1] if body.startswith("|") and body.endswith("|") else body
        pid = match.group("pid")
        return cls(
            local_time=match.group("time"),
            host=match.group("host"),
            process=match.group("process"),
            pid=int(pid) if pid else None,
            colon=bool(match.group("colon")),
            fields=fields,
            level_colon=level_colon,
            block_tag=block_tag,
            block=block,
        )


UTC_FORMAT = "%Y-%m-%d %H:%M:%S,%f"


def _sipmsg_body(body: str) -> str:
    """The SIP message of a ``SIPMSG`` block: each line without its leading space, no ``|`` marks."""
    lines = [line[1:] if line.startswith(" ") else line for line in body.split("\n")]
    if lines and lines[-1] == "|":
        lines.pop()
    elif lines and lines[-1].endswith("|"):
        lines[-1] = lines[-1][:-1]
    if lines and lines[0].startswith("|"):
        lines[0] = lines[0][1:]
    return "\n".join(lines)
_HEADER = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d) (?P<host>\S+) "
    r"(?P<process>[A-Za-z_][\w.-]*)(?:\[(?P<pid>\d+)\])?(?P<colon>:)? (?P<fields>[A-Za-z].*)$"
)
# A name starts at a word boundary and never gives back characters: without both, a long unquoted run in a damaged
# line makes the search quadratic (issue 6, "absurdly long lines").
_FIELD = re.compile(r'(?<![\w.-])([A-Za-z][\w.-]*+)="(.*?)":?(?=\s+[A-Za-z][\w.-]*="|\s*$)')
_LEVEL_COLON = re.compile(r'Level="[^"]*":')


_DIRTY, _NL = '"', "\n"


def _clean(value: str) -> str:
    return value.replace('"', "'").replace("\n", " ")


def _layout(when: dt.datetime, style: ProcessStyle, level: str, body: list[tuple[str, str]],
            module: str | None, utc_text: str | None = None) -> tuple[tuple[str, str], ...]:
    """The fields in the order the real process writes them: ``UTCTime`` first on lines with a ``Module``, else last."""
    utc = ("UTCTime", format_utc(when) if utc_text is None else utc_text)
    if module is None:
        return (("Level", level), *body, utc)
    if not style.lead:
        return (utc, ("Module", module), ("Level", level), *body)
    lead = [(k, v) for k, v in body if k in style.lead]
    rest = [(k, v) for k, v in body if k not in style.lead]
    return (utc, *lead, ("Module", module), ("Level", level), *rest)


def _render(local_time: str, host: str, process: str, pid: int | None, colon: bool,
            fields: tuple[tuple[str, str], ...], level_colon: bool, block_tag: str | None, block: str | None) -> str:
    head = process + (f"[{pid}]" if pid is not None else "") + (":" if colon else "")
    # Comprehensions with the clean check inline: this runs for every line every node writes.
    if level_colon:
        parts = [f'{name}="{_clean(value) if _DIRTY in value or _NL in value else value}"'
                 + (":" if name == "Level" else "") for name, value in fields]
    else:
        parts = [f'{name}="{_clean(value) if _DIRTY in value or _NL in value else value}"' for name, value in fields]
    text = f"{local_time} {host} {head} {' '.join(parts)}"
    if process == "tvcs" and level_colon:
        text = text.replace('": ', '":  ', 1) if '":' in text else text
    if block_tag == "SIPMSG":
        text += "\n SIPMSG:\n |" + (block or "").replace("\n", "\n ") + "\n|"
    elif block_tag is not None:
        text += f"\n{block_tag}:\n|{block or ''}|"
    return text


_UTC = dt.timezone.utc


def format_utc(when: dt.datetime) -> str:
    if when.tzinfo is not _UTC:
        when = when.astimezone(_UTC)
    if when.year < 1000:  # strftime's %Y does not pad; keep its text for the (theoretical) early years
        return when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"
    # The same text as strftime("%Y-%m-%d %H:%M:%S,"), at a third of its cost: every log line has one.
    return (f"{when.year}-{when.month:02d}-{when.day:02d} {when.hour:02d}:{when.minute:02d}:{when.second:02d},"
            f"{when.microsecond // 1000:03d}")


def format_local(when: dt.datetime, offset: dt.timedelta) -> str:
    local = when.astimezone(dt.timezone(offset))
    return local.isoformat(timespec="milliseconds")


_SECONDS: dict[dt.timedelta, tuple[dt.datetime, str, str, str]] = {}


def format_times(when: dt.datetime, offset: dt.timedelta) -> tuple[str, str]:
    """``(format_utc(when), format_local(when, offset))``, the two times on every Expressway line.

    Both differ from the previous line's only in the milliseconds as long as the second is the same, so the text up
    to the second (and the printed offset) is kept per offset and reused; a new second, a time that is not in UTC, or
    an offset that is not whole seconds goes through :func:`format_utc` and :func:`format_local`, which define the text.
    """
    if when.tzinfo is not _UTC or offset.microseconds:
        return format_utc(when), format_local(when, offset)
    second = when.replace(microsecond=0)
    kept = _SECONDS.get(offset)
    if kept is None or kept[0] != second:
        utc_second, local_second = format_utc(second), format_local(second, offset)
        # "2026-11-28 01:47:18,000" and "2026-11-28T02:47:18.000+01:00": cut at the milliseconds
        kept = _SECONDS[offset] = (second, utc_second[:-3], local_second[:20], local_second[23:])
    ms = f"{when.microsecond // 1000:03d}"
    return kept[1] + ms, kept[2] + ms + kept[3]


_HEAD_START = re.compile(r"\d{4}-\d\d-\d\d[ T]")
_SDL_START = re.compile(r"\d{8}\.\d{3} \|")


def split_records(text: str) -> Iterator[str]:
    """Split a log file into records: a header line plus any ``HTTPMSG``/``MSGBODY`` block that follows it."""
    lines = iter(text.splitlines())
    record: list[str] = []
    for line in lines:
        if record and line.endswith(":") and line.strip()[:-1] in BLOCK_TAGS:
            record.append(line)
            first = True
            for body_line in lines:
                record.append(body_line)
                if body_line.endswith("|") and not (first and body_line == "|"):
                    break
                first = False
            continue
        if record and line and not _HEAD_START.match(line) and not _SDL_START.match(line) \
                and ("sipio-" in record[0] or _SDL_START.match(record[0])):
            record.append(line)  # the rest of a SIP message Jabber or CUCM's SDL trace printed after its head line
            continue
        if record:
            yield "\n".join(record)
        record = [line] if line.strip() else []
    if record:
        yield "\n".join(record)


# The analyzer's fast path (issue 6, "Speed"): the same format as ``_HEADER``/``_FIELD``, but only for records whose
# fields are all clean ``Name="value"`` pairs (no quote inside a value; one space, or ``": "``, between pairs) — what
# every Expressway writes. On such a header the general field regex has exactly one reading, so cutting at the quotes
# gives the same fields without its lookahead at every quote; anything else returns ``None`` and is read by
# :meth:`ExpresswayLine.parse`. Possessive quantifiers: a clean header never needs to give characters back.
_CLEAN_FIELDS = r'(?:[A-Za-z][\w.-]*+="[^"]*+":?  ?)*+[A-Za-z][\w.-]*+="[^"]*+":?'
_FAST_HEADER = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (\S+) ([A-Za-z_][\w.-]*+)(?:\[\d+\])?:? (" + _CLEAN_FIELDS + ")"
)

FastRecord = tuple[str, str, dict[str, str], str | None]
"""``(host, process, fields, block)`` as :meth:`ExpresswayLine.parse` reads them, the fields as a dict in which the last
of a repeated name wins (as ``dict(line.fields)`` does)."""


def parse_fast(record: str) -> FastRecord | None:
    """One record as :meth:`ExpresswayLine.parse` reads it, when its fields are clean; ``None`` otherwise.

    About three times faster than ``parse`` on real lines, and it builds no dataclass: the analyzer reads every record
    of bundles of hundreds of MB.
    """
    first, _, rest = record.partition("\n")
    match = _FAST_HEADER.fullmatch(first)
    if match is None:
        return None
    host, process, fields_text = match.groups()
    parts = fields_text.split('"')
    fields = dict(zip([name.strip(" :=") for name in parts[0:-1:2]], parts[1::2]))
    block = None
    if rest:
        tag, _, body = rest.partition("\n")
        if tag == " SIPMSG:":
            block = _sipmsg_body(body)
        else:
            block = body[1:-1] if body.startswith("|") and body.endswith("|") else body
    return host, process, fields, block


def parse_log(text: str) -> list[ExpresswayLine]:
    return [ExpresswayLine.parse(record) for record in split_records(text) if record.strip()]


@dataclass
class HttpMessage:
    """The text of a request or response as traffic_server prints it in a ``HTTPMSG`` block."""

    start_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""

    def render(self, list_values: bool = False) -> str:
        """Raw HTTP (traffic_server), or ``Name: ['value']`` as the Python edgeconfigprovisioning prints headers."""
        lines = [self.start_line]
        for name, value in self.headers:
            if list_values and value != "<CONCEALED>":
                lines.append(f"{name}: ['{value}']")
            else:
                lines.append(f"{name}: {value}")
        if self.body:
            lines.append(self.body)
        return "\n".join(lines)
