"""The identity provider's ``idp-process.log``, in the Shibboleth IdP's logback layout::

    2026-12-01 11:36:18,124 - 127.0.0.1 - INFO [net.shibboleth.idp.authn.impl.ValidateUsernamePasswordAgainstLDAP:152] - Profile Action ValidateUsernamePasswordAgainstLDAP: Login by 'aokanlawon' succeeded

(pattern ``%date{ISO8601} - %mdc{idp.remote_addr} - %level [%logger:%line] - %msg``, Shibboleth IdP v4
``logback.xml``). The lab's IdP is modelled on Shibboleth because its log is public and plain text; an AD FS IdP
writes to the Windows event log instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - (?P<remote>\S*) - (?P<level>[A-Z]+) "
    r"\[(?P<logger>[^:\]]+):(?P<line>\d+)\] - (?P<message>.*)$"
)


@dataclass(frozen=True)
class ShibbolethLine:
    time: str
    remote: str
    level: str
    logger: str
    line: int
    message: str

    def render(self) -> str:
        return f"{self.time} - {self.remote} - {self.level} [{self.logger}:{self.line}] - {self.message}"

    @classmethod
    def build(cls, when: dt.datetime, remote: str, level: str, logger: str, line: int, message: str,
              utc_offset: dt.timedelta) -> ShibbolethLine:
        local = when.astimezone(dt.timezone(utc_offset))
        stamp = local.strftime("%Y-%m-%d %H:%M:%S,") + f"{local.microsecond // 1000:03d}"
        return cls(stamp, remote, level, logger, line, message)

    @classmethod
    def parse(cls, text: str) -> ShibbolethLine:
        match = _LINE.match(text)
        if not match:
            raise ValueError(f"not an idp-process.log line: {text[:120]!r}")
        fields = match.groupdict()
        return cls(fields["time"], fields["remote"], fields["level"], fields["logger"], int(fields["line"]),
                   fields["message"])


def parse_log(text: str) -> list[ShibbolethLine]:
    return [ShibbolethLine.parse(line) for line in text.splitlines() if line.strip()]
