"""Scenario files: a field failure as data — the deployment, the faults, what the client does, what must be seen.

A scenario (``scenarios/catalog/<name>.toml``) holds

* the story for a trainee: ``symptom``, ``root_cause``, ``recognise`` (how it shows in the logs), ``fix``, ``source``;
* ``[lab]``: overrides deep-merged into the default lab file (users, versions, enterprise parameters, Expressway
  settings, clusters, DNS), validated exactly as a lab file is;
* ``[[faults]]``: faults injected before the first step (:mod:`common.faults`);
* ``[[steps]]``: what happens, in order — the client logs in, refreshes, the lab clock jumps, a node restarts, keys are
  regenerated … — each with what its outcome must be;
* ``[expect]``: the client's final state and log signatures per node that must (or must not) appear.

Everything is checked before anything starts: an unknown key, a wrong type, an unknown node or action, a fault that
can never match or an expectation that contradicts itself is an error naming the file and the key.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.clock import parse_step
from common.config import DEFAULT_LAB, Lab, parse_lab
from common.tomltable import ConfigError, TomlTable
from common.faults import Fault
from common.faulttable import fault_from_table, lab_node
from lab.running import node_names

CATALOG = Path(__file__).resolve().parent / "catalog"
ACTIONS: dict[str, tuple[str, ...]] = {
    "login": (),
    "refresh": (),
    "session": (),
    "edge_config": (),
    "clock": ("step",),
    "restart": ("node",),
    "stop": ("node",),
    "skew": ("node", "seconds"),
    "cucm": ("command",),
    "xcommand": ("command",),
    "revoke": (),
    "unity_mailbox": (),
    "xmpp": (),
    "xconfiguration": ("command",),
    "register": (),
    "unregister": (),
}
SESSION_RESULTS = ("valid", "refreshed", "relogin", "failed")
FINAL_STATES = ("logged_in", "logged_out")


@dataclass(frozen=True)
class Step:
    action: str
    client: str = "jabber"
    user: str | None = None
    password: str | None = None
    step: str = ""
    node: str = ""
    seconds: float = 0.0
    command: str = ""
    client_id: str | None = None
    resource: str = "jabber_1"
    hold: bool = False
    repeat: int = 1
    expect_ok: bool | None = None
    expect_failed_step: str | None = None
    expect_status: int | None = None
    expect_session: str | None = None
    expect_reason: str | None = None


@dataclass(frozen=True)
class LogSignature:
    node: str
    pattern: str
    present: bool = True


@dataclass(frozen=True)
class Scenario:
    name: str
    source_file: str
    symptom: str
    root_cause: str
    recognise: str
    fix: str
    source: str
    lab: Lab
    faults: tuple[Fault, ...]
    steps: tuple[Step, ...]
    final: str | None
    logs: tuple[LogSignature, ...] = field(default=())


def load_scenario(path: str | Path, base: Path = DEFAULT_LAB) -> Scenario:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such scenario file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_scenario(data, str(path), base)


def catalog(directory: Path = CATALOG) -> list[Scenario]:
    return [load_scenario(p) for p in sorted(directory.glob("*.toml"))]


def find(name: str, directory: Path = CATALOG) -> Scenario:
    path = directory / f"{name}.toml"
    if not path.exists():
        known = ", ".join(p.stem for p in sorted(directory.glob("*.toml")))
        raise ConfigError(f"no scenario {name!r}; known: {known}")
    return load_scenario(path)


def parse_scenario(data: dict[str, Any], source: str, base: Path = DEFAULT_LAB) -> Scenario:
    root = TomlTable(source, "", data)
    name = root.str("name")
    if Path(source).suffix == ".toml" and Path(source).stem != name:
        raise ConfigError(f"{root.where('name')}: expected the file's own name {Path(source).stem!r}, got {name!r}")
    texts = {key: root.str(key) for key in ("symptom", "root_cause", "recognise", "fix", "source")}
    overrides = root._get("lab", {})
    if not isinstance(overrides, dict):
        raise ConfigError(f"{root.where('lab')}: expected a table of lab-file overrides")
    merged = _merge(tomllib.loads(base.read_text()), overrides)
    try:
        lab = parse_lab(merged, f"{source} [lab]")
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    nodes = set(node_names(lab))
    faults = tuple(fault_from_table(t, nodes | set(lab.owners())) for t in root.tables("faults"))  # a node or its port
    steps = tuple(_step(t, nodes) for t in root.tables("steps"))
    if not steps:
        raise ConfigError(f"{root.where('steps')}: a scenario needs at least one [[steps]]")
    expect = root.table("expect")
    final = expect.str("final", "") or None
    if final is not None and final not in FINAL_STATES:
        raise ConfigError(f"{expect.where('final')}: expected one of {FINAL_STATES}, got {final!r}")
    logs = tuple(_signature(t, nodes) for t in expect.tables("logs"))
    expect.done()
    root.done()
    return Scenario(name, source, texts["symptom"], texts["root_cause"], texts["recognise"], texts["fix"],
                    texts["source"], lab, faults, steps, final, logs)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; arrays of tables merge element by element; anything else replaces."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = _merge(current, value)
        elif (isinstance(value, list) and isinstance(current, list) and value
              and all(isinstance(v, dict) for v in value + current)):
            merged[key] = [_merge(current[i], v) if i < len(current) else v for i, v in enumerate(value)]
            merged[key] += current[len(value):]
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _step(t: TomlTable, nodes: set[str]) -> Step:
    action = t.str("do")
    if action not in ACTIONS:
        raise ConfigError(f"{t.where('do')}: unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    for key in ACTIONS[action]:
        if key not in t.data:
            raise ConfigError(f"{t.where(key)}: the {action!r} action needs {key!r}")
    expect_ok = t.bool("expect_ok", None) if "expect_ok" in t.data else None
    failed_step = t.str("expect_failed_step", "") or None
    if expect_ok and failed_step:
        raise ConfigError(f"{t.where('expect_failed_step')}: contradicts expect_ok = true")
    session = t.str("expect_session", "") or None
    if session is not None and session not in SESSION_RESULTS:
        raise ConfigError(f"{t.where('expect_session')}: expected one of {SESSION_RESULTS}, got {session!r}")
    step = Step(
        action=action, client=t.str("client", "jabber"), user=t.str("user", "") or None,
        password=t.str("password", None) if "password" in t.data else None, step=t.str("step", ""),
        node=lab_node(t, "node", nodes) or "", seconds=t.float("seconds", 0.0), command=t.str("command", ""),
        client_id=t.str("client_id", "") or None, resource=t.str("resource", "jabber_1"),
        hold=t.bool("hold", False), repeat=t.int("repeat", 1, low=1, high=100),
        expect_ok=expect_ok, expect_failed_step=failed_step,
        expect_status=t.int("expect_status", None, low=100, high=599) if "expect_status" in t.data else None,
        expect_session=session, expect_reason=t.str("expect_reason", "") or None,
    )
    if action == "clock":
        try:
            parse_step(step.step)
        except ValueError as exc:
            raise ConfigError(f"{t.where('step')}: {exc}") from None
    t.done()
    return step


def _signature(t: TomlTable, nodes: set[str]) -> LogSignature:
    node = t.str("node")
    if node != "jabber" and node not in nodes:
        raise ConfigError(f"{t.where('node')}: unknown node {node!r}; the lab has jabber, {', '.join(sorted(nodes))}")
    pattern = t.str("pattern")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{t.where('pattern')}: not a regular expression: {exc}") from None
    signature = LogSignature(node, pattern, t.bool("present", True))
    t.done()
    return signature
