"""Administration commands sent to a node of a running lab, as its administrator would send them.

Used by ``mrasim cucm`` / ``mrasim xcommand`` (ports from the lab file) and by the scenario player (ports of the lab it
started). The nodes answer JSON ``{"output": …, "ok": …}`` on their lab-only ``/mrasim/…`` paths.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from common.basic import basic_header
from lab.running import RunningLab


async def send_admin(address: str, port: int, host: str, path: str, command: str,
                     credentials: tuple[str, str], scheme: str = "http") -> tuple[int, dict[str, Any]]:
    """POST ``{"command": …}``; :class:`aiohttp.ClientConnectionError` if nothing answers.

    Over HTTPS the administrator's browser is pointed at the loopback address, so it checks no certificate, as one
    clicks through on a lab box.
    """
    headers = {"Host": host, "Authorization": basic_header(*credentials)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.post(f"{scheme}://{address}:{port}{path}", json={"command": command},
                                headers=headers) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = {"error": await response.text()}
            return response.status, data if isinstance(data, dict) else {"output": str(data)}


async def lab_admin(running: RunningLab, node: str, command: str, kind: str = "") -> tuple[int, dict[str, Any]]:
    """An administration command to a node of a running lab, with that node's administrator from the lab file.

    ``node`` is ``expressway-c`` (``kind`` ``xcommand``, the default, or ``xconfiguration``), a CUCM node
    (``cucm:<cluster>[:<host>]``, the platform CLI) or ``unity`` (its CLI).
    """
    lab = running.lab
    listener = lab.listeners()[node]
    if node == "expressway-c":
        port, path = running.core.traffic.port, f"/mrasim/{kind or 'xcommand'}"
        credentials = (lab.core.admin_user, lab.core.admin_password)
    elif node == "unity" and lab.unity is not None:
        port, path = running.nodes["unity"].running.port, "/mrasim/cli"  # type: ignore[attr-defined]
        credentials = (lab.unity.axl_user, lab.unity.axl_password)
    else:
        cucm = next(n for n in running.cucm if n.name == node)
        port, path = cucm.running.port, "/mrasim/cli"
        credentials = (cucm.cluster.admin_user, cucm.cluster.admin_password)
    scheme = "https" if running.resolver.tls is not None else "http"
    return await send_admin("127.0.0.1", port, f"{listener.host}:{listener.port}", path, command, credentials,
                            scheme)
