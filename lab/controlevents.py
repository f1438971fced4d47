"""``GET /events`` on the control API: the running lab's event stream as server-sent events.

Each event is one log record as a node writes it — ``{"node", "log", "text"}`` — taken from the node's
:class:`~common.nodelog.LineSink` (:func:`lab.events.follow`), never from the files. The training page attaches to a
lab started with ``mrasim up`` this way (``mrasim ui --attach``). Server-sent events (the WHATWG HTML standard,
§9.2) need nothing but a long HTTP response; a comment line every few seconds keeps idle proxies from closing it.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from lab.events import LogRecord, follow
from lab.running import RunningLab

KEEPALIVE = 15.0
BACKLOG = 10_000  # records a slow reader may fall behind before it is cut off
STREAMS = web.AppKey("event_streams", set)


def add_event_routes(app: web.Application, lab: RunningLab) -> None:
    streams: set[asyncio.Event] = set()
    app[STREAMS] = streams

    async def events(request: web.Request) -> web.StreamResponse:
        queue: asyncio.Queue[LogRecord | None] = asyncio.Queue(BACKLOG)
        closing = asyncio.Event()
        streams.add(closing)

        def push(record: LogRecord) -> None:
            try:
                queue.put_nowait(record)
            except asyncio.QueueFull:
                closing.set()

        stop = follow(lab, push)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        try:
            await response.write(b": mrasim lab event stream\n\n")
            while not closing.is_set():
                getter = asyncio.ensure_future(queue.get())
                closer = asyncio.ensure_future(closing.wait())
                done, _ = await asyncio.wait({getter, closer}, timeout=KEEPALIVE,
                                             return_when=asyncio.FIRST_COMPLETED)
                closer.cancel()
                if getter not in done:
                    getter.cancel()
                    if not closing.is_set():
                        await response.write(b": keepalive\n\n")
                    continue
                record = getter.result()
                if record is None:
                    break
                data = json.dumps({"node": record.node, "log": record.log, "text": record.text})
                await response.write(f"event: record\ndata: {data}\n\n".encode())
        except ConnectionError:
            pass  # the reader went away
        finally:
            stop()
            streams.discard(closing)
        return response

    async def close_streams(app: web.Application) -> None:
        for closing in list(streams):
            closing.set()

    app.router.add_get("/events", events)
    app.on_shutdown.append(close_streams)
