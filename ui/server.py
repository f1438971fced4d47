"""The training page's web server: the page, its assets, and one WebSocket per browser carrying the live ladder.

``GET /`` sends the page with what its link asks for (:mod:`ui.links`) already read; ``/static/*`` its script and
style, served from this package (no network beyond the lab's own port); ``GET /ws`` the event stream, aiohttp's own
WebSocket. Everything answers on 127.0.0.1 unless asked otherwise (``mrasim ui --host``). A WebSocket opened from a
page of another origin is refused, so a web page elsewhere cannot drive the lab through the trainee's browser.
"""

from __future__ import annotations

import html
import json
import sys
import weakref
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from scenarios.scenario import catalog
from ui import DEFAULT_PORT
from ui.links import read_link
from ui.trainer import HEALTHY, Trainer, Viewer

STATIC = Path(__file__).resolve().parent / "static"
TRAINER = web.AppKey("trainer", Trainer)
SOCKETS = web.AppKey("sockets", weakref.WeakSet)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


HEARTBEAT = 60.0  # seconds between the server's websocket pings


async def index(request: web.Request) -> web.Response:
    trainer = request.app[TRAINER]
    names = list(trainer.scenarios)
    boot = read_link(list(request.query.items()), names, [n for n in names if n != HEALTHY])
    if trainer.watching is not None and (boot.scenario or boot.exercise):
        boot.problems.append("This page follows the lab started with 'mrasim up'; the link's scenario or exercise "
                             "needs 'mrasim ui' without --attach.")
        boot.scenario, boot.exercise = None, None
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    blob = html.escape(json.dumps(boot.as_dict()), quote=False)
    body = page.replace("<!--BOOT-->", f'<script type="application/json" id="boot">{blob}</script>')
    return web.Response(text=body, content_type="text/html", headers=SECURITY_HEADERS)


async def events(request: web.Request) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        return web.json_response({"error": "this lab's event stream serves only its own page"}, status=403)
    # A ping every 60 s, and the page is given up only after 30 s without its pong (aiohttp waits half the
    # heartbeat): a browser on a laptop busy with a whole lab, or a ladder being drawn, still answers in time.
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=64 * 1024)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    trainer = request.app[TRAINER]

    async def send(message: dict[str, Any]) -> None:
        if not ws.closed:
            try:
                await ws.send_json(message)
            except (ConnectionError, RuntimeError):
                pass  # the browser went away; leave() follows when its loop ends

    viewer: Viewer = await trainer.join(send, lambda: not ws.closed)
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                data = None
            await trainer.handle(viewer, data)
    finally:
        trainer.leave(viewer)
    return ws


@web.middleware
async def no_tracebacks(request: web.Request, handler: Any) -> web.StreamResponse:
    """A bug in the page's server shows as a sentence, never a traceback; the details go to the console."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 — the page must never show a traceback
        print(f"mrasim ui: {request.method} {request.path}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return web.Response(status=500, text="The training page hit an error; the console running 'mrasim ui' "
                                             "says which.", content_type="text/plain")


def make_app(trainer: Trainer | None = None) -> web.Application:
    app = web.Application(middlewares=[no_tracebacks])
    app[TRAINER] = trainer or Trainer(catalog())
    app[SOCKETS] = weakref.WeakSet()
    app.router.add_get("/", index)
    app.router.add_get("/ws", events)
    app.router.add_static("/static/", STATIC, append_version=False)

    async def stop_runs(app: web.Application) -> None:
        for ws in list(app[SOCKETS]):  # the pages say "connection closed" and try again, rather than hang
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"mrasim ui is stopping")
        await app[TRAINER].stop()

    app.on_shutdown.append(stop_runs)
    return app


async def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                trainer: Trainer | None = None) -> tuple[web.AppRunner, int]:
    """Start the page; returns the runner (``cleanup()`` stops it) and the port it really listens on."""
    runner = web.AppRunner(make_app(trainer), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    real = sockets[0].getsockname()[1] if sockets else port
    return runner, real
