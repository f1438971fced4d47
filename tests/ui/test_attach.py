"""``mrasim ui --attach``: a lab started elsewhere (``mrasim up``) feeds the page through its control API."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from lab.control import start_control
from lab.running import RunningLab
from scenarios.scenario import catalog
from ui.attach import follow, parse_event
from ui.server import serve
from ui.trainer import Trainer


def test_a_server_sent_event_becomes_a_record_and_junk_is_skipped() -> None:
    record = parse_event(['event: record', 'data: {"node": "jabber", "log": "jabber.log", "text": "a\\nb"}'])
    assert record is not None and (record.node, record.log, record.text) == ("jabber", "jabber.log", "a\nb")
    assert parse_event([": keepalive"]) is None and parse_event(["data: {not json"]) is None


async def _until(ws: aiohttp.ClientWebSocketResponse, kind: str, test: Any = lambda m: True) -> dict[str, Any]:
    while True:
        message = await ws.receive_json(timeout=60)
        if message["type"] == kind and test(message):
            return message


async def test_the_page_draws_logins_of_a_lab_started_elsewhere_and_says_when_it_goes(running: RunningLab) -> None:
    control = await start_control(running)
    trainer = Trainer(catalog())
    runner, port = await serve("127.0.0.1", 0, trainer)
    reader = asyncio.create_task(follow(trainer, f"http://127.0.0.1:{control.port}/events"))
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws:
            await _until(ws, "run", lambda m: m["scenario"] is None)
            outcome, _ = await running.jabber().login()
            assert outcome.ok
            ladder = await _until(ws, "ladder", lambda m: any(r.get("step") == "access_token" and r["dst"] == "Jabber"
                                                              and r.get("reply") for r in m["rows"]))
            assert ladder["diagnosis"] is None and ladder["broke"] is None
            await ws.send_json({"op": "run", "scenario": "healthy-login"})
            assert "mrasim up" in (await _until(ws, "error"))["message"]
            await control.stop()
            assert "event stream closed" in (await _until(ws, "error"))["message"]
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await runner.cleanup()
