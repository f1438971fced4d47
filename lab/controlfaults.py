"""The control API's live-breakage routes: faults, stopped nodes, skewed clocks, CUCM enterprise parameters.

Everything a scenario file does can be done to a running ``mrasim up`` through these routes (and the CLI that calls
them): the faults are validated exactly as a scenario's ``[[faults]]`` are, enterprise parameters exactly as the lab
file's.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from aiohttp import web

from common.config import ConfigError, enterprise_settings, parse_enterprise
from common.faults import Fault
from lab.running import RunningLab, node_names
from common.faulttable import parse_fault


def add_fault_routes(app: web.Application, lab: RunningLab) -> None:
    async def body(request: web.Request) -> dict[str, Any]:
        data = json.loads(await request.read() or b"{}")
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def refused(message: str, status: int = 400) -> web.Response:
        return web.json_response({"error": message}, status=status)

    async def list_faults(request: web.Request) -> web.Response:
        return web.json_response({"faults": [
            {**_describe(f), "hits": lab.faults.hits(f.id)} for f in lab.faults.faults.values()]})

    async def add_fault(request: web.Request) -> web.Response:
        try:
            nodes = set(node_names(lab.lab)) | set(lab.lab.owners())  # a node, or one of its ports
            fault = parse_fault(await body(request), nodes, "POST /faults")
        except (ValueError, ConfigError) as exc:
            return refused(str(exc))
        return web.json_response({"added": _describe(lab.faults.add(fault))})

    async def clear_faults(request: web.Request) -> web.Response:
        fault_id = request.match_info.get("id")
        if fault_id is None:
            count = len(lab.faults.faults)
            lab.faults.clear()
            return web.json_response({"cleared": count})
        if not lab.faults.remove(fault_id):
            return refused(f"no fault {fault_id!r}", 404)
        return web.json_response({"cleared": 1})

    async def stop_node(request: web.Request) -> web.Response:
        name = request.match_info["node"]
        if name not in lab.nodes:
            return refused(f"no running node {name!r}; running: {', '.join(lab.nodes)}", 404)
        await lab.nodes.pop(name).stop()
        return web.json_response({"stopped": name})

    async def start_node(request: web.Request) -> web.Response:
        name = request.match_info["node"]
        try:
            await lab.start(name)
        except KeyError as exc:
            return refused(str(exc).strip("'\""), 404)
        return web.json_response({"started": name})

    async def skew(request: web.Request) -> web.Response:
        name = request.match_info["node"]
        try:
            seconds = float((await body(request))["seconds"])
        except (ValueError, KeyError, TypeError) as exc:
            return refused(f'expected {{"seconds": 600}}: {exc}')
        try:
            lab.set_skew(name, seconds)
        except KeyError as exc:
            return refused(str(exc).strip("'\""), 404)
        return web.json_response({"node": name, "skew_seconds": seconds})

    async def enterprise(request: web.Request) -> web.Response:
        name = request.match_info["cluster"]
        cluster = next((c for c in lab.lab.clusters if c.name == name), None)
        if cluster is None:
            return refused(f"no cluster {name!r}", 404)
        nodes = [n for n in lab.cucm if n.cluster.name == name]
        current = nodes[0].ssosp.cluster.enterprise if nodes else cluster.enterprise
        try:
            params = parse_enterprise(await body(request), cluster.version, f"cluster {name}", current)
        except (ValueError, ConfigError) as exc:
            return refused(str(exc))
        for node in nodes:
            node.ssosp.set_enterprise(params)
        return web.json_response({"cluster": name, "enterprise": enterprise_settings(params)})

    app.router.add_get("/faults", list_faults)
    app.router.add_post("/faults", add_fault)
    app.router.add_delete("/faults", clear_faults)
    app.router.add_delete("/faults/{id}", clear_faults)
    app.router.add_post("/nodes/{node}/stop", stop_node)
    app.router.add_post("/nodes/{node}/start", start_node)
    app.router.add_post("/nodes/{node}/skew", skew)
    app.router.add_post("/clusters/{cluster}/enterprise", enterprise)


def _describe(fault: Fault) -> dict[str, Any]:
    """A fault in the scenario file's own keys, with what is left at its default omitted."""
    out: dict[str, Any] = {"id": fault.id, "kind": fault.kind}
    for part in (fault.match, fault.count):
        out.update({k: v for k, v in dataclasses.asdict(part).items() if v is not None})
    if fault.probability != 1.0:
        out["probability"] = fault.probability
    if fault.kind == "respond":
        out.update(status=fault.status, body=fault.body)
    if fault.kind in ("delay", "latency", "blackhole"):
        out["seconds"] = fault.seconds
    return out
