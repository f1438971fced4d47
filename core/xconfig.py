"""``xConfiguration CollaborationEdge OAuthLocal|LegacyCred`` on Expressway-C, as ``mrasim xconfiguration`` sets it.

The real product takes ``xConfiguration`` over SSH or its web and REST APIs and prints each setting as
``*c xConfiguration CollaborationEdge OAuthLocal: Off`` (seed article). The lab reaches it over HTTP on C's own
listener at ``/mrasim/xconfiguration`` (modelled, lab-only, administrator credentials from the lab file, like
``/mrasim/xcommand``). Settings are kept in C's configuration database — a JSON file in the lab's state directory —
so they survive a restart and override the lab file.

The seed's field issue lives in *when* a change takes effect. The HTTP side of C (``get_edge_sso``'s ``Token reuse``,
MRA access control) reads the configuration on every request, so the web page shows a change applied at once. The
XCP router reads it when it starts (:class:`core.xcprouter.XcpSettings`) and keeps that copy until the node restarts:
that is how OAuthLocal can look On while XMPP still hides OAUTHBEARER, until ``mrasim restart expressway-c``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from aiohttp import web

from common.config import CoreConfig
from common.logformats.expressway import EDGECONFIG_EVENT
from core.admin import admin_refusal
from core.proxy import allow_list
from core.state import CORE_STATE, CoreState

SETTINGS = {"oauthlocal": ("OAuthLocal", "oauth_local"), "legacycred": ("LegacyCred", "legacy_cred")}
PATH = "/mrasim/xconfiguration"
FILE = "xconfiguration.json"
_COMMAND = re.compile(r"^(?:xconfiguration\s+)?(?:collaborationedge\s*)?(?:(?P<name>\w+)\s*:?\s*(?P<value>\w+)?)?$",
                      re.I)
XCP_SETTINGS = web.AppKey("xcp_settings", object)


class XConfigStore:
    """The persisted CollaborationEdge settings; ``None`` for a path means memory only (``mrasim serve``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.values: dict[str, bool] = {}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text())
                self.values = {k: v for k, v in data.items() if k in dict(SETTINGS.values()).values()
                               and isinstance(v, bool)}
            except (OSError, ValueError):
                self.values = {}

    def apply(self, config: CoreConfig) -> CoreConfig:
        return dataclasses.replace(config, **self.values) if self.values else config

    def set(self, field: str, value: bool) -> None:
        self.values[field] = value
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.values, indent=2, sort_keys=True))


def render(config: CoreConfig) -> str:
    """The CollaborationEdge settings in the CLI's own format, sorted by name as ``xConfiguration`` lists them."""
    lines = [f"*c xConfiguration CollaborationEdge {name}: {'On' if getattr(config, field) else 'Off'}"
             for name, field in sorted(SETTINGS.values())]
    return "\n".join(lines)


_ALLOW_LIST = re.compile(r"^(?:xconfiguration\s+)?httpallowlist\s*$", re.I)


def render_allow_list(state: CoreState) -> str:
    """``mrasim xconfiguration HTTPAllowList``: the rules in force, automatic then manual (format modelled)."""
    rules = allow_list(state)
    auto = "On" if state.config.http_allow_list_auto else "Off"
    lines = [f"*c xConfiguration HTTPAllowList AutomaticInboundRules: {auto}"]
    counters = {"automatic": 0, "manual": 0}
    for rule in rules:
        counters[rule.source] += 1
        lines.append(rule.render(counters[rule.source]))
    return "\n".join(lines)


def parse_command(text: str) -> tuple[str, bool] | None | str:
    """``"CollaborationEdge OAuthLocal: Off"`` → ``("oauth_local", False)``; a bare read → None; else an error text."""
    match = _COMMAND.match(text.strip())
    if not match:
        return f"cannot read {text!r}; expected e.g. 'CollaborationEdge OAuthLocal: Off'"
    name, value = match.group("name"), match.group("value")
    if name is None:
        return None
    known = SETTINGS.get(name.lower())
    if known is None:
        return f"unknown setting {name!r}; known: {', '.join(n for n, _ in SETTINGS.values())}"
    if value is None:
        return None
    if value.lower() not in ("on", "off"):
        return f"{known[0]}: expected On or Off, got {value!r}"
    return known[1], value.lower() == "on"


async def xconfiguration(request: web.Request) -> web.Response:
    state: CoreState = request.app[CORE_STATE]
    refused = admin_refusal(request, state)
    if refused is not None:
        return refused
    store: XConfigStore = request.app[XCONFIG]
    try:
        text = str(json.loads(await request.read() or b"{}").get("command", ""))
    except (ValueError, AttributeError):
        return web.json_response({"error": 'expected {"command": "CollaborationEdge OAuthLocal: On"}'}, status=400)
    if _ALLOW_LIST.match(text.strip()):
        return web.json_response({"output": render_allow_list(state) + "\n** end", "ok": True, "stale": []})
    parsed = parse_command(text)
    if isinstance(parsed, str):
        return web.json_response({"error": parsed}, status=400)
    if parsed is not None:
        field, value = parsed
        store.set(field, value)
        state.config = dataclasses.replace(state.config, **{field: value})
        name = next(n for n, f in SETTINGS.values() if f == field)
        state.log.write(EDGECONFIG_EVENT, "INFO", {"Event": "Configuration changed", "Detail": "xConfiguration",
                                                   "Setting": f"CollaborationEdge {name}",
                                                   "Value": "On" if value else "Off"})
    running = request.app[XCP_SETTINGS]
    stale = [name for name, field in sorted(SETTINGS.values())
             if getattr(running, field) != getattr(state.config, field)]
    output = render(state.config) + "\n** end"
    if stale:
        output += (f"\n# the running XCP router still uses "
                   f"{', '.join(f'{n}: {_on(getattr(running, f))}' for n, f in sorted(SETTINGS.values()) if n in stale)}"
                   f" until expressway-c restarts")
    return web.json_response({"output": output, "ok": True, "stale": stale})


def _on(value: bool) -> str:
    return "On" if value else "Off"


XCONFIG = web.AppKey("xconfig", XConfigStore)
