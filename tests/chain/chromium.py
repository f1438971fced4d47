"""Headless Chromium (Debian's ``chromium``) driven over the DevTools protocol with aiohttp's WebSocket client.

No browser download and no extra package: the protocol's own JSON messages (chromedevtools.github.io/devtools-protocol).
The flags keep the browser off the network and let it run as root in CI; ``--host-resolver-rules`` is the browser's
view of the lab's DNS, mapping each nominal ``host:port`` onto the loopback port the node really listens on.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

import aiohttp

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
         "--remote-debugging-port=0")
READY = 60.0  # how long a page may take to get where the test waits (a loaded CI machine); not a measurement


def chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """One headless Chromium with one page; ``hosts`` maps ``host:port`` to ``127.0.0.1:port``."""

    def __init__(self, hosts: Mapping[str, str]) -> None:
        self.hosts = dict(hosts)
        self._dir = tempfile.mkdtemp(prefix="mrasim-chromium-")
        self._proc: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Chromium:
        binary = chromium()
        assert binary, "Debian's chromium is needed: apt-get install -y chromium (.ci/run installs it)"
        rules = ",".join(f"MAP {name} {target}" for name, target in self.hosts.items())
        self._proc = await asyncio.create_subprocess_exec(
            binary, *FLAGS, f"--user-data-dir={self._dir}", f"--host-resolver-rules={rules}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        assert self._proc.stderr is not None
        endpoint = ""
        while not endpoint:
            line = (await asyncio.wait_for(self._proc.stderr.readline(), READY)).decode(errors="replace")
            assert line, "chromium exited before it opened its DevTools endpoint"
            if "DevTools listening on" in line:
                endpoint = line.split("DevTools listening on", 1)[1].strip()
        self._tasks.append(asyncio.create_task(self._drain()))
        port = endpoint.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]
        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._tasks.append(asyncio.create_task(self._read()))
        await self.send("Page.enable")
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await self._proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        shutil.rmtree(self._dir, ignore_errors=True)

    async def _drain(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while await self._proc.stderr.readline():
            pass

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                data = json.loads(message.data)
                if data.get("id") in self._waiting:
                    self._waiting.pop(data["id"]).set_result(data)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self._ws.send_json({"id": number, "method": method, "params": params})
        reply = await asyncio.wait_for(future, READY)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply.get("result", {})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            return None  # the page is changing under us (a navigation); the caller polls again
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> Any:
        """Poll until ``expression`` is truthy: a readiness wait, so a slow machine only waits longer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                seen = await self.evaluate("location.href + ' | ' + document.body.innerText.slice(0, 300)")
                raise AssertionError(f"never true: {expression}; page: {seen}")
            await asyncio.sleep(0.1)
