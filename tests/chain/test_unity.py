"""Unity Connection as a second resource server: its own key fetch, and the refresh it needs after a regeneration."""

from __future__ import annotations

import aiohttp

from common.domain import ProxyDescriptor
from common.logformats.log4j import parse_log
from lab.adminclient import lab_admin
from lab.running import RunningLab

UNITY = ProxyDescriptor("lab.example", "https", "cuc.lab.example", 8443).encode()


async def mailbox(running: RunningLab, token: str) -> int:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(f"https://127.0.0.1:{running.edge_port}/{UNITY}/vmrest/mailbox",
                               headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status


async def admin(running: RunningLab, node: str, command: str) -> dict:  # type: ignore[type-arg]
    status, data = await lab_admin(running, "cucm:cluster1" if node == "cucm" else node, command)
    assert status == 200, data
    return data


async def test_voicemail_through_the_edge_with_an_oauth_token(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    assert await mailbox(running, client.access_token) == 200
    assert await mailbox(running, client.access_token[:-4] + "AAAA") == 401
    assert any("AuthZ keys fetched from cucm.lab.example" in line.message
               for line in parse_log(running.log_text("unity")))


async def test_after_a_key_regeneration_unity_needs_its_authz_server_refreshed(running: RunningLab) -> None:
    await admin(running, "cucm", "set key regen authz encryption")
    await admin(running, "expressway-c", "RefreshServers")
    client = running.jabber()
    assert (await client.login())[0].ok
    assert await mailbox(running, client.access_token) == 401
    assert any("No matching AuthZ key" in line.message for line in parse_log(running.log_text("unity")))
    assert (await admin(running, "unity", "refresh authz servers"))["ok"]
    assert await mailbox(running, client.access_token) == 200
