"""Jabber's ``csf-unified.log`` line (mra-facts section 8, seed article)::

    2020-03-24 22:31:00,442 INFO [0x00002b04] [rvices\\impl\\system\\SingleSignOn.cpp(206)] [Single-Sign-On-Logger] [CSFUnified::SingleSignOn::Impl::isAuthenticatorTokenReuseEnabled] - TokenReuse enabled for 1001

The source location is the last 40 characters of ``<path>(<line>)``, which is why the seed's paths start mid-word.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

LOCATION_WIDTH = 40
_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<level>[A-Z]+) \[(?P<thread>0x[0-9a-f]{8})\] "
    r"\[(?P<location>[^\]]*)\] \[(?P<logger>[^\]]*)\] \[(?P<function>[^\]]*)\] -(?: (?P<message>.*))?$"
)


@dataclass(frozen=True)
class LogPoint:
    """Where in Jabber's source a line comes from: the file, the line, the logger and the function."""

    path: str
    line: int
    logger: str
    function: str

    @property
    def location(self) -> str:
        return f"{self.path}({self.line})"[-LOCATION_WIDTH:]


@dataclass(frozen=True)
class CsfLine:
    time: str
    level: str
    thread: str
    location: str
    logger: str
    function: str
    message: str

    def render(self) -> str:
        head = f"{self.time} {self.level} [{self.thread}] [{self.location}] [{self.logger}] [{self.function}] -"
        return f"{head} {self.message}" if self.message else head

    @classmethod
    def build(cls, when: dt.datetime, level: str, thread: int, point: LogPoint, message: str) -> CsfLine:
        return cls(format_time(when), level, f"0x{thread:08x}", point.location, point.logger, point.function, message)

    @classmethod
    def parse(cls, text: str) -> CsfLine:
        match = _LINE.match(text)
        if not match:
            raise ValueError(f"not a csf-unified line: {text[:120]!r}")
        fields = match.groupdict()
        fields["message"] = fields["message"] or ""
        return cls(**fields)


def format_time(when: dt.datetime) -> str:
    when = when.astimezone(dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"


def parse_log(text: str) -> list[CsfLine]:
    return [CsfLine.parse(line) for line in text.splitlines() if line.strip()]
