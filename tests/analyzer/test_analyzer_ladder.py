"""Ladder diagrams: numbered text arrows, a Mermaid sequenceDiagram with zone boxes, and an HTML page that opens in a
real headless browser, where clicking an arrow shows the message the log holds for it."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import aiohttp
import pytest
from lxml import html as lxml_html

from analyzer.diagnose import analyze
from analyzer.ladder import render_html, render_mermaid, render_text
from cli.main import main


def test_text_ladder_numbers_the_arrows_and_marks_the_failure(lab_logs: dict[str, Path]) -> None:
    session = analyze([lab_logs["keys-regenerated-c-not-refreshed"]]).sessions[1]
    text = render_text(session)
    rows = [line for line in text.splitlines() if re.match(r"\s+\d+ \d\d:\d\d:\d\d\.\d{3}", line)]
    assert len(rows) == len(session.messages)
    assert [int(r.split()[0]) for r in rows] == list(range(1, len(rows) + 1))
    assert any("POST access_token" in r and "▶" in r for r in rows)
    assert any("401 Unauthorized ✗" in r and "◀" in r for r in rows)
    assert "Jabber" in text.splitlines()[2] and "CUCM" in text.splitlines()[2]


def test_mermaid_has_zone_boxes_and_one_line_per_message(lab_logs: dict[str, Path]) -> None:
    session = analyze([lab_logs["wrong-password-oauth"]]).sessions[0]
    mermaid = render_mermaid(session)
    lines = mermaid.splitlines()
    assert lines[0] == "sequenceDiagram"
    assert [line.split()[-1] for line in lines if line.strip().startswith("box ")] == ["Internet", "DMZ", "Internal"]
    body = [line for line in lines if re.match(r"\s+(\w+-?->>\w+|Note over)", line)]
    assert len(body) == len(session.messages)
    assert any(re.fullmatch(r"    J->>E: \{1: get_edge_sso\} GET get_edge_sso", line) for line in lines)
    assert all(";" not in line.split(":", 1)[1] for line in body), "semicolons would end a Mermaid statement"


def test_html_is_self_contained_and_carries_every_message(lab_logs: dict[str, Path]) -> None:
    report = analyze([lab_logs["wrong-password-oauth"]])
    page = render_html(report.sessions[0], report.sessions)
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script[@src] | //link[@href] | //img[@src]"), "nothing loaded from elsewhere"
    data = json.loads(tree.xpath("//script[@id='messages']")[0].text)
    assert len(data) == len(tree.xpath("//*[local-name()='g'][contains(@class,'msg')]"))
    assert any("username=<CONCEALED>&password=<CONCEALED>" in m["detail"] for m in data)


def test_ladder_command_writes_each_format(tmp_path: Path, lab_logs: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in ("text", "mermaid", "html"):
        out = tmp_path / f"ladder.{fmt}"
        assert main(["ladder", str(lab_logs["user-not-found"]), "--format", fmt, "--out", str(out)]) == 0
        assert out.stat().st_size > 500
    assert main(["ladder", str(lab_logs["healthy-login"]), "--session", "1"]) == 0
    assert "GET get_edge_sso" in capsys.readouterr().out


async def _cdp(ws: aiohttp.ClientWebSocketResponse, counter: list[int], method: str, **params: object) -> dict:  # type: ignore[type-arg]
    counter[0] += 1
    await ws.send_json({"id": counter[0], "method": method, "params": params})
    while True:
        message = await ws.receive_json()
        if message.get("id") == counter[0]:
            return message.get("result", {})


async def _evaluate(ws: aiohttp.ClientWebSocketResponse, counter: list[int], expression: str) -> object:
    result = await _cdp(ws, counter, "Runtime.evaluate", expression=expression, returnByValue=True)
    return result["result"].get("value")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (apt-get install chromium)")
async def test_html_ladder_opens_in_headless_chromium_and_a_click_shows_the_message(
        tmp_path: Path, lab_logs: dict[str, Path]) -> None:
    report = analyze([lab_logs["wrong-password-oauth"]])
    page = tmp_path / "ladder.html"
    page.write_text(render_html(report.sessions[0], report.sessions), encoding="utf-8")
    browser = await asyncio.create_subprocess_exec(
        shutil.which("chromium") or "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
        "--remote-debugging-port=0", "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}", page.as_uri(),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(30):
            assert browser.stderr is not None
            while b"DevTools listening on" not in (line := await browser.stderr.readline()):
                assert line, "chromium exited before it listened"
            port = int(re.search(rb"127\.0\.0\.1:(\d+)/", line).group(1))  # type: ignore[union-attr]
            async with aiohttp.ClientSession() as http:
                targets: list[dict] = []  # type: ignore[type-arg]
                while not any(t.get("type") == "page" for t in targets):
                    async with http.get(f"http://127.0.0.1:{port}/json/list") as resp:
                        targets = await resp.json()
                target = next(t for t in targets if t.get("type") == "page")
                async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                    counter = [0]
                    loaded = "location.protocol === 'file:' && document.readyState === 'complete'"
                    while not await _evaluate(ws, counter, loaded):
                        await asyncio.sleep(0.05)
                    title = await _evaluate(ws, counter, "document.title")
                    assert title == report.sessions[0].summary()
                    box = await _evaluate(ws, counter, """(() => {
                        const g = [...document.querySelectorAll('.msg')].find(
                            e => e.textContent.includes('POST localauthentication'));
                        const r = g.querySelector('line').getBoundingClientRect();
                        return [r.x + r.width / 2, r.y - 6, document.querySelectorAll('.msg').length]; })()""")
                    x, y, arrows = box  # type: ignore[misc]
                    assert arrows == len(report.sessions[0].messages)
                    hit = await _evaluate(ws, counter, f"document.elementFromPoint({x}, {y})?.outerHTML")
                    assert hit and "localauthentication" in str(hit), (x, y, hit)
                    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
                        await _cdp(ws, counter, "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                                   clickCount=1)
                    shown = await _evaluate(ws, counter, "document.getElementById('detail').textContent")
                    heading = await _evaluate(ws, counter, "document.getElementById('title').textContent")
    finally:
        browser.kill()
        await browser.wait()
    assert "POST localauthentication" in str(heading)
    assert "POST https:///bGFiLmV4YW1wbGU/localauthentication HTTP/1.1" in str(shown)
    assert "password=<CONCEALED>" in str(shown)


def test_the_text_ladder_fits_the_terminal(lab_logs: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: the text ladder was 211 columns wide whatever the terminal."""
    for columns in (80, 120):
        monkeypatch.setenv("COLUMNS", str(columns))
        assert main(["ladder", str(lab_logs["healthy-login"])]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert max(len(line) for line in lines[1:]) <= columns
        assert any(line.endswith("…") for line in lines)
    assert "GET get_edge_sso" in "\n".join(lines)


def test_ladder_json_numbers_the_arrows_as_the_text(lab_logs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["ladder", str(lab_logs["healthy-login"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["messages"][0]["number"] == 1 and any(m["label"] == "GET get_edge_sso" for m in data["messages"])
