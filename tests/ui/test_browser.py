"""The training page in a real browser: Debian's headless Chromium, driven over the DevTools protocol.

Each test saves a screenshot; with ``MRASIM_SCREENSHOTS=docs`` they go into docs/ (docs/training.md and the README show
them), so the pictures can always be brought up to the page as it is.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from analyzer.signatures import CATALOGUE
from tests.ui.cdpbrowser import Browser, chromium
from ui.server import serve

# The screenshots docs/training.md and the README show are refreshed only when asked
# (`MRASIM_SCREENSHOTS=docs .venv/bin/python -m pytest tests/ui`): a plain test run leaves the working tree clean.
DOCS = Path(os.environ.get("MRASIM_SCREENSHOTS") or tempfile.mkdtemp(prefix="mrasim-screenshots-"))
SEED_ORDER = ["get_edge_sso", "authorize", "localauthentication", "edgeconfigprovision", "authorize_proxy",
              "OAuthcb", "access_token", "OAuthvalidator"]
DONE = "document.getElementById('status').dataset.state === 'done'"
REQUESTS = ("[...document.querySelectorAll('#ladder .arrow')].filter(g => g.dataset.reply === '0' && g.dataset.sub === '0' "
            "&& g.dataset.n !== '').map(g => [Number(g.dataset.n), g.dataset.name, g.dataset.src, g.dataset.dst])")

pytestmark = pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (.ci/run installs it)")


@pytest.fixture
async def served() -> AsyncIterator[tuple[Browser, str, web.AppRunner]]:
    runner, port = await serve("127.0.0.1", 0)
    browser = await Browser().start()
    try:
        yield browser, f"http://127.0.0.1:{port}", runner
    finally:
        await browser.close()
        await runner.cleanup()


@pytest.fixture
def page(served: tuple[Browser, str, web.AppRunner]) -> tuple[Browser, str]:
    return served[0], served[1]


async def test_healthy_login_draws_every_step_in_order_and_steps_hop_by_hop(page: tuple[Browser, str]) -> None:
    browser, base = page
    await browser.goto(f"{base}/?scenario=healthy-login")
    await browser.wait_for(DONE)
    drawn = await browser.evaluate(REQUESTS)
    firsts: dict[int, str] = {}
    for number, name, _, _ in drawn:
        firsts.setdefault(number, name)
    assert [firsts[n] for n in range(1, 9)] == SEED_ORDER
    numbers = [number for number, *_ in drawn]
    assert numbers == sorted(numbers)  # drawn top to bottom in causal order
    assert await browser.evaluate("document.querySelectorAll('#ladder .arrow.fail').length") == 0
    await browser.evaluate("document.querySelector('#ladder .arrow[data-name=\"localauthentication\"]')"
                           ".dispatchEvent(new MouseEvent('click', {bubbles: true}))")
    logs = await browser.evaluate("document.getElementById('msg-logs').innerText")
    assert "expressway-e.log:" in logs and "expressway-c.log:" in logs and "Txn-id" in logs
    assert "password=<CONCEALED>" in await browser.evaluate("document.getElementById('msg-request').textContent")
    await browser.screenshot(DOCS / "training-ladder.png")

    await browser.goto(f"{base}/?scenario=healthy-login&step=1")
    await browser.wait_for("document.getElementById('status').dataset.state === 'paused'")
    assert "get_edge_sso" in await browser.evaluate("document.getElementById('hop-title').textContent")
    await browser.key("n")
    await browser.wait_for("document.getElementById('hop-title').textContent.includes('{2: authorize}')")
    await browser.key("n")
    await browser.wait_for("document.getElementById('hop-title').textContent.includes('{3: localauthentication}')")
    await browser.wait_for("document.querySelectorAll('#ladder .arrow[data-name=\"authorize\"]').length === 2")
    await browser.screenshot(DOCS / "training-step.png")
    await browser.key("g")
    await browser.wait_for(DONE)


async def test_a_broken_login_shows_the_red_break_and_the_diagnosis(page: tuple[Browser, str]) -> None:
    browser, base = page
    await browser.goto(f"{base}/?scenario=wrong-password-oauth")
    await browser.wait_for(DONE)
    broke = await browser.evaluate("(() => { const g = document.querySelector('#ladder .break-mark').closest('g'); "
                                   "return [g.dataset.src, g.dataset.dst, g.classList.contains('fail')]; })()")
    assert broke == ["CUCM", "Expressway-C", True]
    title = await browser.evaluate("document.querySelector('#diag-body .finding h3').textContent")
    assert title in {signature.title for signature in CATALOGUE}
    body = await browser.evaluate("document.getElementById('diag-body').innerText")
    assert "Cause" in body and "Fix" in body and "Source" in body
    await browser.screenshot(DOCS / "training-break.png")


async def test_exercise_scores_and_bad_links_and_a_closed_stream_say_so(
        served: tuple[Browser, str, web.AppRunner]) -> None:
    browser, base, runner = served
    await browser.goto(f"{base}/?exercise=oauthlocal-off")
    await browser.wait_for("!document.getElementById('ex-form').hidden")
    assert "oauthlocal" not in (await browser.evaluate("document.getElementById('runtitle').textContent")).lower()
    await browser.evaluate("document.getElementById('ex-choice').value = 'oauthlocal-off'; "
                           "document.getElementById('ex-submit').click()")
    await browser.wait_for("!!document.getElementById('verdict')")
    assert await browser.evaluate("document.getElementById('verdict').className") == "verdict-right"
    assert await browser.evaluate("document.getElementById('score').textContent") == "1/1"
    await browser.screenshot(DOCS / "training-exercise.png")

    await browser.goto(f"{base}/?scenario=no-such-thing&step=maybe")
    text = await browser.wait_for("document.getElementById('banners').innerText")
    assert "no scenario named 'no-such-thing'" in text and "step='maybe'" in text
    assert await browser.evaluate("document.getElementById('scenario').options.length") > 20

    await runner.shutdown()  # the lab goes away under the open page
    await browser.wait_for("document.getElementById('status').dataset.state === 'lost'")
    assert "connection to the lab closed" in await browser.evaluate("document.getElementById('banners').innerText")


async def test_expressway_sign_in_page_renders_as_a_product_page(page: tuple[Browser, str], tmp_path: Path) -> None:
    """The bytes Expressway-E serves at {2: authorize}, in a real browser (the screenshot in docs/flow.md)."""
    from common.oauthparams import AuthorizeRequest
    from edge.pages import login_form

    request = AuthorizeRequest(response_type="code", client_id="C" + "a" * 64, realm="local", state="1222903122",
                               device_id="dev-1", email="aokanlawon@lab.example")
    served = tmp_path / "authorize.html"
    served.write_bytes(login_form("bGFiLmV4YW1wbGU", request))
    browser, _ = page
    await browser.send("Emulation.setDeviceMetricsOverride", width=480, height=560, deviceScaleFactor=1, mobile=False)
    await browser.send("Page.navigate", url=served.as_uri())
    await browser.wait_for("document.readyState === 'complete' && !!document.getElementById('loginForm')")
    shown = await browser.evaluate("[document.title, document.querySelector('h1').innerText, "
                                   "document.querySelector('button').innerText, "
                                   "getComputedStyle(document.querySelector('button')).backgroundColor]")
    assert shown == ["Cisco Expressway - Sign In", "Cisco Expressway", "Sign In", "rgb(4, 159, 217)"]
    await browser.screenshot(DOCS / "expressway-sign-in.png")
