"""CUCM's Tomcat/ssosp log4j line (``%d %-5p [%t] %c{2} - %m``), as in the seed's comments::

    2020-05-01 11:36:18,124 DEBUG [http-bio-8443-exec-89] token.TokenV2Manager - TokenV2Manager.createTokens:  Issuing Refresh Token
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (?P<level>[A-Z]+) +\[(?P<thread>[^\]]+)\] "
    r"(?P<category>\S+) - (?P<message>.*)$"
)


@dataclass(frozen=True)
class Log4jLine:
    time: str
    level: str
    thread: str
    category: str
    message: str

    def render(self) -> str:
        return f"{self.time} {self.level:<5} [{self.thread}] {self.category} - {self.message}"

    @classmethod
    def build(
        cls, when: dt.datetime, level: str, thread: str, category: str, message: str, utc_offset: dt.timedelta
    ) -> Log4jLine:
        local = when.astimezone(dt.timezone(utc_offset))
        stamp = local.strftime("%Y-%m-%d %H:%M:%S,") + f"{local.microsecond // 1000:03d}"
        return cls(stamp, level, thread, category, message)

    @classmethod
    def parse(cls, text: str) -> Log4jLine:
        match = _LINE.match(text)
        if not match:
            raise ValueError(f"not a log4j line: {text[:120]!r}")
        return cls(**match.groupdict())


def parse_log(text: str) -> list[Log4jLine]:
    return [Log4jLine.parse(line) for line in text.splitlines() if line.strip()]
