"""``mrasim ui --attach``: follow a lab started with ``mrasim up`` through its control API's event stream.

The control API (``lab/controlevents.py``) sends each log record as a server-sent event; this reader hands them to
the :class:`~ui.trainer.Trainer`, which draws every login that crosses that lab's Expressway-E — made with curl,
``mrasim storm`` or a real client. When the stream closes (the lab stopped or restarted) the page says so and the
reader connects again every few seconds.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp

from lab.events import LogRecord
from ui.trainer import Trainer

RETRY = 2.0


def parse_event(lines: list[str]) -> LogRecord | None:
    """One server-sent event (its lines) → a record, or ``None`` for a comment or anything malformed."""
    data = "\n".join(line[5:].lstrip() for line in lines if line.startswith("data:"))
    if not data:
        return None
    try:
        item = json.loads(data)
        return LogRecord(str(item["node"]), str(item["log"]), str(item["text"]))
    except (ValueError, KeyError, TypeError):
        return None


async def follow(trainer: Trainer, url: str) -> None:
    """Read ``url`` (``http://127.0.0.1:<control port>/events``) until cancelled, reconnecting when it closes."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=60)
    reason = ""
    while True:
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
                if response.status != 200:
                    raise ConnectionError(f"HTTP {response.status} from {url}")
                await trainer.follow_lab(url)
                event: list[str] = []
                async for raw in response.content:
                    line = raw.decode("utf-8", "replace").rstrip("\r\n")
                    if line:
                        event.append(line)
                        continue
                    record = parse_event(event)
                    event = []
                    if record is not None:
                        trainer.feed(record)
                reason = "the lab closed it"
        except (aiohttp.ClientError, ConnectionError, asyncio.TimeoutError, OSError) as exc:
            reason = str(exc) or exc.__class__.__name__
        if trainer.watching is None:
            trainer.watching = url
        await trainer.lost_lab(reason)
        await asyncio.sleep(RETRY)
