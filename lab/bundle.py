"""Diagnostic logging on a running lab, the way Expressway does it (Maintenance > Diagnostics > Diagnostic logging).

``start`` remembers where every node's log ends; ``marker`` writes a ``DEBUG_MARKER`` line into every node's log, each
in that node's own format (Expressway syslog, Jabber csf-unified, CUCM/IM&P log4j — through the single definitions in
:mod:`common.logformats`), so an engineer can tag "before the failing login" across all nodes at once; ``stop``
collects what each log gained since ``start`` into a ``.tar.gz`` with an ``xconf_dump`` (the Expressways'
``xConfiguration``, ``*c`` lines as the seed shows them) and an ``xstat_dump`` (``*s`` status lines), which is what a
real bundle holds (mra-facts section 8) and what ``mrasim diagnose`` reads.

The routes live on the lab's control API (``/bundle/start``, ``/bundle/marker``, ``/bundle/stop``).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from common.logformats.csf import CsfLine, LogPoint
from common.logformats.expressway import ExpresswayLine, ProcessStyle
from common.logformats.log4j import Log4jLine
from core.allowlist import rules_for
from lab.running import RunningLab

MARKER = "DEBUG_MARKER"
MARKER_STYLE = ProcessStyle(MARKER, pid=False, colon=True)
MARKER_POINT = LogPoint("diagnostics\\DiagnosticLogging.cpp", 1, MARKER, "CSFUnified::Diagnostics::marker")


@dataclass
class Capture:
    """One diagnostic-logging run: where each log stood when it started."""

    started: dt.datetime
    offsets: dict[str, int] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)


def marker_line(lab: RunningLab, node: str, text: str, when: dt.datetime) -> str:
    """The ``DEBUG_MARKER`` record for one node, in that node's log format."""
    config = lab.lab
    if node in ("expressway-e", "expressway-c"):
        host = config.edge.system_name if node == "expressway-e" else config.core.system_name
        return ExpresswayLine.build(when, host, MARKER_STYLE, "INFO", [("Event", MARKER), ("Detail", text)],
                                    utc_offset=config.utc_offset).render()
    if node == "jabber":
        return CsfLine.build(when, "INFO", 0x2B04, MARKER_POINT, f"{MARKER} {text}").render()
    return Log4jLine.build(when, "INFO", MARKER, f"diagnostics.{MARKER}", f"{MARKER} {text}",
                           config.utc_offset).render()


def _size(lab: RunningLab, node: str) -> int:
    path = lab.sinks[node].path
    return path.stat().st_size if path is not None and path.exists() else 0


def start(lab: RunningLab) -> Capture:
    capture = Capture(lab.clock.now(), {node: _size(lab, node) for node in lab.sinks})
    mark(lab, capture, "diagnostic logging started")
    return capture


def mark(lab: RunningLab, capture: Capture, text: str) -> int:
    when = lab.clock.now()
    for node, sink in lab.sinks.items():
        sink.msg(marker_line(lab, node, text, when))
    capture.markers.append(text)
    return len(lab.sinks)


def xconf_dump(lab: RunningLab) -> str:
    core, edge = lab.lab.core, lab.lab.edge
    on = {True: "On", False: "Off"}
    lines = [f"# {core.system_name} (Expressway-C)",
             f"*c xConfiguration SystemUnit Name: \"{core.system_name}\"",
             f"*c xConfiguration CollaborationEdge LegacyCred: {on[core.legacy_cred]}",
             f"*c xConfiguration CollaborationEdge OAuthLocal: {on[core.oauth_local]}",
             f"*c xConfiguration CollaborationEdge SsoEnabled: {on[core.sso]}",
             f"*c xConfiguration CollaborationEdge InternalAuthAvailabilityCheck: "
             f"{'Yes' if core.internal_auth_check else 'No'}"]
    lines += [f"*c xConfiguration SIP Domain {i} Name: \"{d}\"" for i, d in enumerate(core.mra_domains, 1)]
    config = lab.core.state.config if "expressway-c" in lab.nodes else core
    lines.append(f"*c xConfiguration HTTPAllowList AutomaticInboundRules: {on[config.http_allow_list_auto]}")
    counters = {"automatic": 0, "manual": 0}
    for rule in rules_for(lab.lab, config):
        counters[rule.source] += 1
        lines.append(rule.render(counters[rule.source]))
    for cluster in lab.lab.clusters:
        lines.append(f"*c xConfiguration EdgeConfigProvisioning UnifiedCM {cluster.name} Address: "
                     f"\"{cluster.listener.host}\" Version: \"{cluster.version}\"")
    lines += [f"# {edge.system_name} (Expressway-E)",
              f"*c xConfiguration SystemUnit Name: \"{edge.system_name}\"",
              f"*c xConfiguration IntrusionProtection HttpProxyAuthorization Mode: "
              f"{on[edge.intrusion_protection]}",
              f"*c xConfiguration IntrusionProtection HttpProxyAuthorization Trigger: {edge.intrusion_trigger}"]
    return "\n".join(lines) + "\n"


def xstat_dump(lab: RunningLab, capture: Capture) -> str:
    listeners = lab.lab.listeners()
    lines = [f"*s Time LocalTime: \"{lab.clock.now().isoformat()}\"",
             f"*s Time ClockOffsetSeconds: {lab.clock.offset}",
             f"*s DiagnosticLogging Started: \"{capture.started.isoformat()}\"",
             *(f"*s DiagnosticLogging Marker {i}: \"{m}\"" for i, m in enumerate(capture.markers, 1))]
    for name in lab.node_names():
        where = listeners[name].origin if name in listeners else "-"
        lines.append(f"*s Node \"{name}\" Status: Active Address: \"{where}\"")
    return "\n".join(lines) + "\n"


def stop(lab: RunningLab, capture: Capture, out: Path) -> Path:
    """Write the bundle: each log from where it stood at ``start``, plus the two dumps."""
    mark(lab, capture, "diagnostic logging stopped")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as bundle:
        for node, sink in lab.sinks.items():
            if sink.path is None or not sink.path.exists():
                continue
            with sink.path.open("rb") as handle:
                handle.seek(capture.offsets.get(node, 0))
                _add(bundle, f"logs/{sink.path.name}", handle.read())
        _add(bundle, "xconf_dump.txt", xconf_dump(lab).encode())
        _add(bundle, "xstat_dump.txt", xstat_dump(lab, capture).encode())
    return out


def _add(bundle: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    bundle.addfile(info, io.BytesIO(data))


CAPTURE = web.AppKey("bundle", dict)


def add_bundle_routes(app: web.Application, lab: RunningLab) -> None:
    """Register ``/bundle/start``, ``/bundle/marker`` and ``/bundle/stop`` on the lab's control app."""
    state: dict[str, Capture] = {}
    app[CAPTURE] = state

    async def begin(request: web.Request) -> web.Response:
        state["current"] = start(lab)
        return web.json_response({"started": state["current"].started.isoformat(), "nodes": sorted(lab.sinks)})

    async def marker(request: web.Request) -> web.Response:
        capture = state.get("current")
        if capture is None:
            return web.json_response({"error": "no diagnostic logging running; 'mrasim bundle start' first"},
                                     status=409)
        try:
            text = str(json.loads(await request.read() or b"{}")["text"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": "expected {\"text\": \"...\"}"}, status=400)
        return web.json_response({"marked": mark(lab, capture, text.replace("\n", " ")[:500])})

    async def end(request: web.Request) -> web.Response:
        capture = state.pop("current", None)
        if capture is None:
            return web.json_response({"error": "no diagnostic logging running; 'mrasim bundle start' first"},
                                     status=409)
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            body = {}
        # Never inside the run folder: 'mrasim diagnose logs/' would read every log twice, once in the bundle.
        default_dir = Path("bundles")
        stamp = lab.clock.now().strftime("%Y%m%d_%H%M%S")
        out = Path(body.get("out") or default_dir / f"diagnostic_logs_{stamp}.tar.gz")
        try:
            written = stop(lab, capture, out)
        except OSError as exc:
            return web.json_response({"error": f"cannot write {out}: {exc.strerror}"}, status=500)
        return web.json_response({"bundle": str(written.resolve())})

    app.router.add_post("/bundle/start", begin)
    app.router.add_post("/bundle/marker", marker)
    app.router.add_post("/bundle/stop", end)
