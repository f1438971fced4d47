"""The lab's control API: what ``mrasim clock``, ``mrasim restart`` and ``mrasim status`` talk to.

It listens on 127.0.0.1 at the lab file's ``control_port`` and acts on the running lab as an operator would — move the
lab clock, restart a node — never by reaching into another process's memory. Product-level administration (CUCM's CLI,
Expressway's xConfiguration and xCommand) goes to the nodes themselves; this API only does what belongs to the lab.
"""

from __future__ import annotations

import json

from aiohttp import web

from common.clock import parse_step
from common.serve import Running, serve
from lab.bundle import add_bundle_routes
from lab.controlevents import add_event_routes
from lab.controlfaults import add_fault_routes
from common.resolver import NameError_
from lab.running import RunningLab, node_names

LAB = web.AppKey("lab", RunningLab)


async def status(request: web.Request) -> web.Response:
    """Every node of the lab file, running or stopped, with its name, where it listens and its clock skew; the same
    node fields as ``mrasim up --processes`` reports (:mod:`lab.processcontrol`), so one table prints both."""
    lab = request.app[LAB]
    listeners = lab.lab.listeners()
    nodes = {}
    for name in node_names(lab.lab):
        listener = listeners[name]
        try:
            address, port = lab.resolver.locate(listener.host, listener.port)
            listening = f"{address}:{port}"
        except NameError_:
            listening = "-"
        nodes[name] = {"state": "running" if name in lab.nodes else "stopped", "origin": listener.origin,
                       "listening": listening, "skew_seconds": lab.clocks[name].skew if name in lab.clocks else 0}
    return web.json_response({
        "domain": lab.lab.domain,
        "mode": "single process",
        "nodes": nodes,
        "clock": {"now": lab.clock.now().isoformat(), "offset_seconds": lab.clock.offset},
        "zones": lab.zones(),
        "sip": lab.sip_status(),
    })


async def clock(request: web.Request) -> web.Response:
    lab = request.app[LAB]
    try:
        body = json.loads(await request.read() or b"{}")
        step = parse_step(str(body["advance"]))
    except (ValueError, KeyError, TypeError) as exc:
        return web.json_response({"error": f"expected {{\"advance\": \"+61m\"}}: {exc}"}, status=400)
    try:
        lab.clock.advance(step)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response({"now": lab.clock.now().isoformat(), "offset_seconds": lab.clock.offset})


async def restart(request: web.Request) -> web.Response:
    lab = request.app[LAB]
    name = request.match_info["node"]
    try:
        await lab.restart(name)
    except KeyError as exc:
        return web.json_response({"error": str(exc).strip("'\"")}, status=404)
    return web.json_response({"restarted": name})


def control_app(lab: RunningLab) -> web.Application:
    app = web.Application()
    app[LAB] = lab
    app.router.add_get("/status", status)
    app.router.add_post("/clock", clock)
    app.router.add_post("/nodes/{node}/restart", restart)
    add_fault_routes(app, lab)
    add_bundle_routes(app, lab)
    add_event_routes(app, lab)
    return app


async def start_control(lab: RunningLab) -> Running:
    return await serve(control_app(lab), lab.lab.control)
