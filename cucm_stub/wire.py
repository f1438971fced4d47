"""The neutral request and reply the CUCM logic speaks, and the small parsers every endpoint shares.

The aiohttp adapter (:mod:`cucm_stub.app`) turns a framework request into a :class:`Request` and a :class:`Reply`
back into bytes; nothing between those two points touches a socket or a clock of its own (ARCHITECTURE rule 2).
A reply also carries the log events the decision produced, so the adapter writes them with the request's Tomcat
thread name and the logic stays testable without a sink.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cucm_stub.errors import Refusal

Pairs = tuple[tuple[str, str], ...]
FORM = "application/x-www-form-urlencoded"


class Clock(Protocol):
    """Where the logic reads the time: :class:`common.clock.LabClock` in the lab (ARCHITECTURE rule 4)."""

    def timestamp(self) -> float: ...


@dataclass(frozen=True)
class Request:
    """What the logic may look at: header names are lower-case, query and form keep their order and repeats."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Pairs = ()
    form: Pairs = ()
    content_type: str = ""
    params: Mapping[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class LogEvent:
    """One log4j record to write: level, category (``%c{2}``) and message; the adapter adds time and thread."""

    level: str
    category: str
    message: str


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes
    events: tuple[LogEvent, ...] = ()

    @classmethod
    def refused(cls, refusal: Refusal, category: str, events: Iterable[LogEvent] = ()) -> Reply:
        """The refusal on the wire, with the one line naming its reason appended to ``events``."""
        status, headers, body = refusal.render()
        line = LogEvent(refusal.log_level, category, refusal.log_message())
        return cls(status, headers, body, (*events, line))


class ParameterError(ValueError):
    """A request parameter that is missing (or empty) or sent more than once."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{problem} parameter: {name}")
        self.name = name
        self.problem = problem


def optional_param(pairs: Pairs, name: str) -> str | None:
    """The single value of ``name``, or None.

    RFC 6749 §3.1: parameters sent without a value are treated as omitted, and no parameter may appear twice.
    """
    values = [value for key, value in pairs if key == name and value != ""]
    if len(values) > 1:
        raise ParameterError(name, "duplicated")
    return values[0] if values else None


def required_param(pairs: Pairs, name: str) -> str:
    value = optional_param(pairs, name)
    if value is None:
        raise ParameterError(name, "missing")
    return value


def parse_bearer(value: str | None) -> str | None:
    """``Bearer <token>`` (RFC 6750 §2.1) → the token, or None."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token
