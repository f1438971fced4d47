"""Headless Chromium driven over the DevTools protocol with aiohttp's WebSocket client: no browser download, no
extra package — Debian's ``chromium`` and the protocol's own JSON messages (chromedevtools.github.io/devtools-protocol).

The flags keep the browser off the network (no component updates, sync or QUIC) and let it run as root in CI.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,800", "--remote-debugging-port=0")
READY = 60.0  # seconds a page may take to get where a test waits for it (a loaded CI machine), not a measurement


def chromium() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One Chromium with one page; ``flags`` are added to :data:`FLAGS` (``--host-resolver-rules=…`` for a lab's
    names, as the SSO test does)."""

    def __init__(self, *flags: str) -> None:
        self.flags = flags
        self._proc: asyncio.subprocess.Process | None = None
        self._dir = tempfile.mkdtemp(prefix="mrasim-chromium-")
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.console: list[str] = []

    async def start(self) -> Browser:
        binary = chromium()
        assert binary, "Debian's chromium is needed: apt-get install -y chromium (.ci/run does it)"
        self._proc = await asyncio.create_subprocess_exec(
            binary, *FLAGS, *self.flags, f"--user-data-dir={self._dir}", "about:blank",
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
        await self.send("Runtime.enable")
        await self.send("Emulation.setDeviceMetricsOverride", width=1280, height=800, deviceScaleFactor=1,
                        mobile=False)
        return self

    async def _drain(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while await self._proc.stderr.readline():
            pass

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif data.get("method") == "Runtime.consoleAPICalled":
                self.console.append(" ".join(str(a.get("value", "")) for a in data["params"].get("args", [])))
            elif data.get("method") == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(data["params"].get("exceptionDetails", {}))[:500])

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        number = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[number] = future
        await self._ws.send_json({"id": number, "method": method, "params": params})
        reply = await asyncio.wait_for(future, READY)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply.get("result", {})

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete' && !!document.getElementById('ladder')")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = READY) -> Any:
        """Poll until ``expression`` is truthy; a readiness wait, so a slow machine only waits longer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                shown = await self.evaluate("document.getElementById('status').textContent + ' | ' + "
                                            "document.getElementById('banners').innerText")
                raise AssertionError(f"never true: {expression}; page: {shown}; console: {self.console[-5:]}")
            await asyncio.sleep(0.1)

    async def key(self, key: str) -> None:
        await self.evaluate(f"document.dispatchEvent(new KeyboardEvent('keydown', {{key: {json.dumps(key)}, "
                            "bubbles: true}))")

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
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
