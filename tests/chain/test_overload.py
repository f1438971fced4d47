"""Graceful overload: beyond Expressway-E's bound of transactions in flight, a request is answered 503 with
Retry-After at once and logged with its Txn-id; the admitted ones finish, and the lab recovers by itself."""

from __future__ import annotations

import asyncio
import dataclasses

import aiohttp

from common.config import Lab
from common.faults import Count, Fault, Match
from common.logformats.expressway import parse_log
from lab.running import start_lab
from lab.runner import run_login


async def test_a_request_beyond_the_bound_is_shed_with_503_and_retry_after_and_logged(lab: Lab) -> None:
    small = dataclasses.replace(lab, edge=dataclasses.replace(lab.edge, max_in_flight=1))
    running = await start_lab(small)
    try:
        # The first get_edge_sso waits 2 s at Expressway-C, holding E's only slot while the second one comes.
        held = running.faults.add(Fault("delay", Match(node="expressway-c", path="get_edge_sso"), Count(first=1),
                                        seconds=2))
        edge = f"https://127.0.0.1:{running.edge.running.port}"
        url = f"{edge}/bGFiLmV4YW1wbGU/get_edge_sso?email=aokanlawon@lab.example"
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
            async def get() -> tuple[int, str | None]:
                async with session.get(url) as answer:
                    await answer.read()
                    return answer.status, answer.headers.get("Retry-After")

            slow = asyncio.ensure_future(get())
            async with asyncio.timeout(60):  # until C holds it (a slow machine only waits longer)
                while not running.faults.hits(held.id) and not slow.done():
                    await asyncio.sleep(0.01)
            shed_status, retry_after = await get()
            assert (shed_status, retry_after) == (503, "1")
            assert (await slow)[0] == 200
        lines = parse_log(running.log_text("expressway-e"))
        refused = [line for line in lines if line.get("Reason") == "Service overloaded"]
        assert len(refused) == 1
        txn = refused[0].get("Txn-id")
        assert any(line.get("Txn-id") == txn and line.get("Status") == "503" for line in lines)
        # Load gone: the next login goes through without anything being reset.
        assert (await run_login(running))[0].ok
    finally:
        await running.stop()
