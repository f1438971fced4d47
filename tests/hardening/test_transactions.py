"""Group 7 — every Txn-id ends in the log: a body over the limit (413), a body cut short, a client that stalls and
leaves, a client that leaves before its answer, a request line without a version. For each, the Txn-id of its
"Receive Request" line also has a logged answer ("Sending HTTP error response" / "Sending Response") or a logged
"Client aborted"."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.hardening.conftest import GROUP, Battery, after_group

FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"


def requests(seg: str) -> dict[str, tuple[bytes, bool]]:
    """name → (bytes to send, whether the client then closes at once without reading)."""
    head = f"POST /{seg}/localauthentication HTTP/1.1\r\nHost: expe.lab.example:8443\r\n".encode() + FORM
    return {
        "body-over-the-limit": (head + b"Content-Length: 2000000\r\n\r\n" + b"a" * 2_000_000, False),
        "declared-over-the-limit": (head + b"Content-Length: 2000000\r\n\r\nabc", True),
        "body-cut-short": (head + b"Content-Length: 100\r\n\r\nusername=a", True),
        "chunked-cut-short": (head + b"Transfer-Encoding: chunked\r\n\r\n10\r\nusername=a", True),
        "stalled-then-gone": (head + b"Content-Length: 50\r\n\r\n", True),
        "gone-before-answer": (f"GET /{seg}/get_edge_sso?email=aokanlawon@lab.example HTTP/1.1\r\n"
                               "Host: expe.lab.example:8443\r\n\r\n".encode(), True),
        "no-version": (f"GET /{seg}/get_edge_sso\r\n\r\n".encode(), False),
    }


def unended(text: str) -> list[str]:
    received = re.findall(r'Detail="Receive Request" Txn-id="(\d+)"', text)
    ended = set(re.findall(r'(?:Event="Sending HTTP error response"|Detail="Sending Response"|'
                           r'Detail="Client aborted") Txn-id="(\d+)"', text))
    return [txn for txn in received if txn not in ended]


@GROUP
@pytest.mark.parametrize("name", list(requests("x")))
async def test_every_txn_id_ends_in_a_logged_answer_or_abort(battery: Battery, name: str) -> None:
    data, leave = requests(battery.segment)[name]
    if leave:
        _, writer = await battery.connect()
        writer.write(data)
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.close()
    else:
        await battery.raw(data)
    deadline = asyncio.get_running_loop().time() + 30  # the node notices the close on its next read
    while unended(battery.running.log_text("expressway-e")) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert unended(battery.running.log_text("expressway-e")) == []
    assert unended(battery.running.log_text("expressway-c")) == []


@GROUP
async def test_after_the_transaction_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    await after_group(battery)
