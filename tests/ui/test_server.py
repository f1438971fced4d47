"""The page's server: the page with its link read, and the event stream every browser shares."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from scenarios.scenario import catalog
from ui.server import make_app
from ui.trainer import Trainer


@pytest.fixture
async def client(aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(make_app(Trainer(catalog(), seed=1)))


async def _until(ws: aiohttp.ClientWebSocketResponse, kind: str,
                 test: Callable[[dict[str, Any]], bool] = lambda message: True) -> dict[str, Any]:
    while True:
        message = await ws.receive_json(timeout=60)
        if message["type"] == kind and test(message):
            return message
        assert message["type"] != "done" or kind == "done", f"the run ended before a {kind}: {message}"


def _boot(page: str) -> dict[str, Any]:
    blob = page.split('<script type="application/json" id="boot">', 1)[1].split("</script>", 1)[0]
    return json.loads(blob.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


async def test_the_page_explains_a_bad_link_and_never_lets_it_write_markup(client: TestClient) -> None:
    response = await client.get("/", params={"scenario": "</script><script>alert(1)</script>", "step": "x"})
    assert response.status == 200
    page = await response.text()
    assert "<script>alert(1)" not in page
    boot = _boot(page)
    assert boot["scenario"] is None and len(boot["problems"]) == 2
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert (await client.get("/static/app.js")).status == 200


async def test_a_run_streams_its_ladder_and_ends_with_the_diagnosis(client: TestClient) -> None:
    async with client.ws_connect("/ws") as ws:
        hello = await _until(ws, "hello")
        assert "healthy-login" in {s["name"] for s in hello["scenarios"]}
        await ws.send_json({"op": "run", "scenario": "wrong-password-oauth"})
        start = await _until(ws, "run")
        assert start["scenario"] == "wrong-password-oauth" and not start["hidden"]
        # the ladder grows while the run goes on (the first updates may hold only the lab's start-up lines)
        await _until(ws, "ladder", lambda ladder: bool(ladder["rows"]))
        done = await _until(ws, "done")
        assert done["broke"] is not None and done["diagnosis"]["fix"] and done["story"]["name"] == "wrong-password-oauth"


async def test_bad_requests_two_browsers_and_a_busy_lab_get_a_sentence(client: TestClient) -> None:
    async with client.ws_connect("/ws") as first, client.ws_connect("/ws") as second:
        await _until(first, "hello")
        assert "2 browsers" in (await _until(second, "notice"))["message"]
        await first.send_str("not json")
        assert "does not understand" in (await _until(first, "error"))["message"]
        await first.send_json({"op": "run", "scenario": "nope"})
        assert "no scenario named 'nope'" in (await _until(first, "error"))["message"]
        await first.send_json({"op": "run", "scenario": "healthy-login"})
        await _until(second, "run")
        await second.send_json({"op": "run", "scenario": "oauthlocal-off"})
        assert "one at a time" in (await _until(second, "error"))["message"]
        # Both read until the end, as two pages do: a socket left unread answers none of the server's heartbeat
        # pings (aiohttp's client answers them as it reads), and a run longer than 30 s would have it closed.
        done, _ = await asyncio.gather(_until(second, "done"), _until(first, "done"))
        assert done["passed"] is True


async def test_another_origin_cannot_open_the_event_stream(client: TestClient) -> None:
    response = await client.get("/ws", headers={"Origin": "http://evil.example", "Upgrade": "websocket",
                                               "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert response.status == 403


async def test_step_mode_pauses_before_each_jabber_request_until_next(client: TestClient) -> None:
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "run", "scenario": "healthy-login", "step": True})
        first = await _until(ws, "pause")
        assert first["step"] == "get_edge_sso" and "{1: get_edge_sso}" in first["lesson"]["title"]
        assert first["lesson"]["look_for"]
        await ws.send_json({"op": "next"})
        await _until(ws, "resume")
        second = await _until(ws, "pause")
        assert second["step"] == "authorize"
        ladder = await _until(ws, "ladder")
        assert any(r.get("step") == "get_edge_sso" and r["src"] == "Jabber" for r in ladder["rows"])
        assert not any(r.get("step") == "authorize" and r["src"] == "Jabber" for r in ladder["rows"])
        await ws.send_json({"op": "go"})
        assert (await _until(ws, "done"))["passed"] is True


async def test_an_exercise_hides_its_scenario_until_answered_and_keeps_score(client: TestClient) -> None:
    async with client.ws_connect("/ws") as ws:
        await ws.send_json({"op": "exercise", "set": ["oauthlocal-off"]})
        start = await _until(ws, "run")
        assert start["hidden"] and start["scenario"] is None and "oauthlocal" not in start["title"]
        done = await _until(ws, "done")
        assert done["story"] is None and done["diagnosis"] is None and done["choices"]
        await ws.send_json({"op": "answer", "choice": "oauthlocal-off"})
        verdict = await _until(ws, "verdict")
        assert verdict["right"] and verdict["score"] == {"right": 1, "answered": 1}
        assert verdict["story"]["name"] == "oauthlocal-off"
        await ws.send_json({"op": "answer", "choice": "oauthlocal-off"})
        assert "no exercise waiting" in (await _until(ws, "error"))["message"]


def test_mrasim_ui_is_a_command_with_a_loopback_default() -> None:
    from cli.main import build_parser

    args = build_parser().parse_args(["ui", "--port", "0"])
    assert (args.action, args.port, args.host, args.attach) == ("ui", 0, "127.0.0.1", False)
