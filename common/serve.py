"""Start an aiohttp application on a loopback listener and tell where it really listens."""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from common.config import Listener


@dataclass
class Running:
    runner: web.AppRunner
    address: str
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


async def serve(app: web.Application, listener: Listener, **server_kwargs: Any) -> Running:
    """Serve ``app`` on ``listener.address:listener.listen_port`` (0 picks a free port).

    ``server_kwargs`` reach aiohttp's request handler (``max_field_size``, ``logger`` …).
    """
    runner = web.AppRunner(app, access_log=None, handle_signals=False, **server_kwargs)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listener.address, listener.listen_port))
    except OSError as exc:
        sock.close()
        await runner.cleanup()
        raise OSError(
            exc.errno,
            f"cannot listen on {listener.address}:{listener.listen_port} for {listener.host}: {exc.strerror}; "
            "free the port or set listen_port = 0 in the lab file",
        ) from None
    site = web.SockSite(runner, sock)
    await site.start()
    return Running(runner, listener.address, sock.getsockname()[1])


def quiet_logger(name: str) -> logging.Logger:
    """A stdlib logger for aiohttp's own messages that stays off the console unless configured."""
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.addHandler(logging.NullHandler())
    return logger
