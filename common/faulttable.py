"""A fault as lab-file, scenario-file or control-API data (``kind``, ``node``, ``path``, ``first`` …), checked into a
:class:`common.faults.Fault`: one reader for ``[[faults]]`` in a scenario and ``POST /faults`` on a running lab.
"""

from __future__ import annotations

import re
from typing import Any

from common.faults import CONNECTION_KINDS, HTTP_KINDS, Count, Fault, Match
from common.tomltable import ConfigError, TomlTable


def lab_node(t: TomlTable, key: str, nodes: set[str], default: Any = None) -> str | None:
    value = t.str(key, default) if default is not None or key in t.data else None
    if value and value not in nodes:
        raise ConfigError(f"{t.where(key)}: unknown node {value!r}; the lab has {', '.join(sorted(nodes))}")
    return value or None


def parse_fault(data: dict[str, Any], nodes: set[str], source: str = "<fault>") -> Fault:
    """A fault from lab-file keys (``kind``, ``node``, ``path``, ``first`` …), validated as in a scenario file."""
    return fault_from_table(TomlTable(source, "fault", data), nodes)


def fault_from_table(t: TomlTable, nodes: set[str]) -> Fault:
    kind = t.str("kind")
    if kind not in HTTP_KINDS + CONNECTION_KINDS:
        raise ConfigError(f"{t.where('kind')}: unknown fault kind {kind!r}; expected one of "
                          f"{', '.join(HTTP_KINDS + CONNECTION_KINDS)}")
    path = t.str("path", "") or None
    if path is not None:
        try:
            re.compile(path)
        except re.error as exc:
            raise ConfigError(f"{t.where('path')}: not a regular expression: {exc}") from None
    match = Match(lab_node(t, "node", nodes), lab_node(t, "source", nodes), t.str("method", "") or None, path,
                  t.str("user", "") or None)
    count = Count(t.int("first", None) if "first" in t.data else None,
                  t.int("after", None) if "after" in t.data else None,
                  t.int("every", None) if "every" in t.data else None)
    if count.first is not None and count.after is not None and count.first <= count.after:
        raise ConfigError(f"{t.where('first')}: first = {count.first} with after = {count.after} can never match")
    if any(v is not None and v < 1 for v in (count.first, count.every)) or (count.after or 0) < 0:
        raise ConfigError(f"{t.where('first')}: counts must be positive")
    try:
        fault = Fault(kind, match, count, t.float("probability", 1.0, low=0.0, high=1.0), t.int("status", 503),
                      t.str("body", ""), t.float("seconds", 1.0, low=0.0))
    except ValueError as exc:
        raise ConfigError(f"{t.where('kind')}: {exc}") from None
    if fault.probability == 0.0:
        raise ConfigError(f"{t.where('probability')}: a fault with probability 0 can never happen")
    t.done()
    return fault
