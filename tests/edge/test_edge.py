"""Expressway-E alone, in front of a stand-in Expressway-C that echoes what it receives."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncssh
import pytest
from aiohttp import web

from common.clock import LabClock
from common.config import Lab
from common.domain import encode_segment
from common.logformats.expressway import parse_log
from common.nodelog import LineSink
from common.resolver import LabResolver
from common.serve import Running, serve
from edge.node import EdgeNode, start_edge


async def echo(request: web.Request) -> web.Response:
    body = (await request.read()).decode()
    return web.json_response({"path": request.path_qs, "headers": dict(request.headers), "body": body},
                             headers={"Server": "CE_C ECS", "Connection": "keep-alive"})


@pytest.fixture
async def edge_alone(lab: Lab) -> AsyncIterator[tuple[EdgeNode, Running | None, LineSink]]:
    """E, and a stand-in C that opens the SSH tunnel to E's 2222 as C does (E dials nothing inward)."""
    resolver = LabResolver.from_lab(lab)
    fake = web.Application()
    fake.router.add_route("*", "/{tail:.*}", echo)
    core = await serve(fake, lab.core.listener)
    sink = LineSink()
    node = await start_edge(lab, LabClock(), resolver, sink)
    tunnel = await asyncssh.connect("127.0.0.1", node.tunnel.port, username=lab.core.traversal_username,
                                    password=lab.core.traversal_password, known_hosts=None, client_keys=None,
                                    agent_path=None, config=None)
    await tunnel.forward_remote_port("127.0.0.1", 0, "127.0.0.1", core.port)
    yield node, core, sink
    tunnel.close()
    await tunnel.wait_closed()
    await node.stop()
    await core.stop()


def url(node: EdgeNode, path: str) -> str:
    return f"http://127.0.0.1:{node.running.port}{path}"


SEG = encode_segment("lab.example")


async def test_edge_relays_to_core_with_tracking_id_via_and_forwarded_for(edge_alone) -> None:  # type: ignore[no-untyped-def]
    node, _, sink = edge_alone
    async with aiohttp.ClientSession() as session:
        async with session.get(url(node, f"/{SEG}/get_edge_sso?email=a@lab.example"),
                               headers={"Connection": "keep-alive", "Authorization": "Bearer secret-token"}) as resp:
            assert resp.status == 200
            assert resp.headers["Server"] == "CE_C ECS"
            seen = await resp.json()
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert seen["path"] == f"/{SEG}/get_edge_sso?email=a@lab.example"
    assert headers["host"] == "expc.lab.example:8443"
    assert headers["via"].startswith("http/1.1 vcs[") and headers["via"].endswith("] (ATS)")
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert len(headers["trackingid"]) == 36
    assert headers["authorization"] == "Bearer secret-token"
    lines = parse_log(sink.text())
    sending = next(line for line in lines if line.get("Detail") == "Sending Request")
    assert sending.get("TrackingID") == headers["trackingid"]
    assert "Authorization: <CONCEALED>" in (sending.block or "")
    requests = [line for line in lines if line.get("Detail") in ("Receive Request", "Sending Request")]
    assert requests and not any("secret-token" in line.render() for line in requests)


async def test_edge_answers_the_login_form_and_oauthcb_itself(edge_alone) -> None:  # type: ignore[no-untyped-def]
    node, _, sink = edge_alone
    query = ("response_type=code&realm=local&client_id=C" + "a" * 64 +
             "&device_id=d&email=a@lab.example&state=42")
    async with aiohttp.ClientSession() as session:
        async with session.get(url(node, f"/{SEG}/authorize?{query}")) as resp:
            page = await resp.text()
            assert resp.status == 200 and resp.headers["Server"] == "CE_E"
        async with session.get(url(node, "/OAuthcb")) as resp:
            assert "Authorization Complete" in await resp.text()
    assert f'action="/{SEG}/localauthentication"' in page
    assert 'name="state" value="42"' in page and 'name="password"' in page
    assert "Sending Request" not in sink.text()


async def test_edge_answers_502_when_core_is_unreachable(edge_alone) -> None:  # type: ignore[no-untyped-def]
    node, core, _ = edge_alone
    await core.stop()
    async with aiohttp.ClientSession() as session:
        async with session.get(url(node, f"/{SEG}/get_edge_config")) as resp:
            assert resp.status == 502
            assert resp.reason == "Next Hop Connection Failed"
        async with session.get(url(node, "/OAuthcb")) as resp:
            assert resp.status == 200


async def test_edge_refuses_unknown_domains_without_asking_core(edge_alone) -> None:  # type: ignore[no-untyped-def]
    node, _, sink = edge_alone
    async with aiohttp.ClientSession() as session:
        async with session.get(url(node, f"/{encode_segment('evil.example')}/get_edge_config")) as resp:
            assert resp.status == 403 and resp.headers["Server"] == "CE_E"
    assert "Sending Request" not in sink.text()


def test_login_form_from_the_template_is_the_page_lxml_builds() -> None:
    """The kept, cut page (edge.pages) must give lxml's bytes for any values, safe or not (seeded draw)."""
    import random

    from common.oauthparams import AuthorizeRequest
    from edge import pages

    draw = random.Random(7)
    safe, wild = "abcXYZ019._@-", "abcXYZ019._@-+&<>\"' %/:=?é#;"

    def text(chars: str, low: int = 0, high: int = 12) -> str:
        return "".join(draw.choice(chars) for _ in range(draw.randint(low, high)))

    for _ in range(2000):
        chars = safe if draw.random() < 0.7 else wild
        request = AuthorizeRequest(*(text(chars) for _ in range(6)))
        segment = text("abcXYZ019_-" if draw.random() < 0.8 else "ab+/=é", 1, 20)
        message = "" if draw.random() < 0.9 else text(wild, 1, 10)
        built = pages._build_login_form(segment, request.pairs(), request.email or "your account", message)
        assert pages.login_form(segment, request, message) == built
    assert pages._login_template.cache_info().hits > 0


def test_relayed_headers_lose_exactly_the_hop_by_hop_fields_in_any_case_and_keep_order_and_repeats() -> None:
    """E's relay copies headers with multidict's C code (issue 18, fourth round): the result is the same as filtering
    pair by pair, whatever the case of a name, with repeated fields (two ``Set-Cookie``) kept in order."""
    from multidict import CIMultiDict, CIMultiDictProxy

    from edge.relay import DROPPED_RESPONSE, HOP_BY_HOP, without

    pairs = [("Host", "expe.lab.example:8443"), ("set-cookie", "a=1"), ("CONNECTION", "keep-alive"),
             ("Content-Type", "text/xml"), ("Set-Cookie", "b=2"), ("Transfer-Encoding", "chunked"),
             ("Date", "Tue, 01 Dec 2026 18:00:00 GMT"), ("TE", "trailers"), ("X-Custom", "kept"),
             ("content-length", "12"), ("Keep-Alive", "timeout=5"), ("Via", "1.1 cucm")]
    headers = CIMultiDictProxy(CIMultiDict(pairs))
    for names in (HOP_BY_HOP, DROPPED_RESPONSE):
        expected = [(k, v) for k, v in pairs if k.lower() not in names]
        assert list(without(headers, names).items()) == expected
    assert [k for k, _ in without(headers, DROPPED_RESPONSE).items()] == [
        "set-cookie", "Content-Type", "Set-Cookie", "X-Custom", "Via"]
    assert list(headers.items()) == pairs  # the request's own headers are untouched
