"""Administration commands sent to a node of a running lab, as its administrator would send them.

Used by ``mrasim cucm`` / ``mrasim xcommand`` (ports from the lab file) and by the scenario player (ports of the lab it
started). The nodes answer JSON ``{"output": …, "ok": …}`` on their lab-only ``/mrasim/…`` paths.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from common.basic import basic_header


async def send_admin(address: str, port: int, host: str, path: str, command: str,
                     credentials: tuple[str, str]) -> tuple[int, dict[str, Any]]:
    """POST ``{"command": …}``; :class:`aiohttp.ClientConnectionError` if nothing answers."""
    headers = {"Host": host, "Authorization": basic_header(*credentials)}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://{address}:{port}{path}", json={"command": command},
                                headers=headers) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = {"error": await response.text()}
            return response.status, data if isinstance(data, dict) else {"output": str(data)}
