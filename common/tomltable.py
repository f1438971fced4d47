"""The typed TOML reader behind every validated file in mrasim (lab files, scenario files, live settings).

A :class:`TomlTable` is read key by key with the type and range each key must have; :meth:`TomlTable.done` reports a
key nobody asked for. Every error is a :class:`ConfigError` that names the file, the key and what was expected, so a
typo is a one-line fix, not a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REQUIRED: Any = object()


class ConfigError(ValueError):
    """A lab description that cannot be used; the message says where and what was expected."""


class TomlTable:
    """A TOML table read key by key; unknown keys are reported by :meth:`done`."""

    def __init__(self, source: str, prefix: str, data: Mapping[str, Any]) -> None:
        self.source, self.prefix, self.data = source, prefix, data
        self.seen: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}: {self.prefix}{'.' if self.prefix else ''}{key}"

    def _get(self, key: str, default: Any) -> Any:
        self.seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is REQUIRED:
            raise ConfigError(f"{self.where(key)}: required, but missing")
        return default

    def str(self, key: str, default: Any = REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value and default is REQUIRED:
            raise ConfigError(f"{self.where(key)}: expected a non-empty string, got {value!r}")
        return value

    def int(self, key: str, default: Any = REQUIRED, low: int | None = None, high: int | None = None) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.where(key)}: expected an integer, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(f"{self.where(key)}: expected {low}..{high}, got {value}")
        return value

    def float(self, key: str, default: Any = REQUIRED, low: float | None = None, high: float | None = None) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{self.where(key)}: expected a number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(f"{self.where(key)}: expected {low}..{high}, got {value}")
        return float(value)

    def bool(self, key: str, default: Any = REQUIRED) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where(key)}: expected true or false, got {value!r}")
        return value

    def on_off(self, key: str, default: bool) -> bool:
        """Accept the Expressway spelling ``"On"``/``"Off"`` as well as a TOML boolean."""
        value = self._get(key, default)
        if isinstance(value, str) and value.lower() in ("on", "off"):
            return value.lower() == "on"
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where(key)}: expected \"On\" or \"Off\", got {value!r}")
        return value

    def str_list(self, key: str, default: Any = REQUIRED) -> list[str]:
        value = self._get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.where(key)}: expected a list of strings, got {value!r}")
        return value

    def table(self, key: str) -> TomlTable:
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.where(key)}: expected a table, got {value!r}")
        return TomlTable(self.source, f"{self.prefix}.{key}" if self.prefix else key, value)

    def tables(self, key: str) -> list[TomlTable]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(f"{self.where(key)}: expected an array of tables [[{key}]], got {value!r}")
        name = f"{self.prefix}.{key}" if self.prefix else key
        return [TomlTable(self.source, f"{name}[{i}]", v) for i, v in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(f"{self.where(unknown[0])}: unknown key (known: {', '.join(sorted(self.seen))})")

