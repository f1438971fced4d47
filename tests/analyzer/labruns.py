"""Produce real lab logs for each failure situation the lab can reproduce today, for the analyzer's tests.

Each situation drives the running lab the way tests/chain does (a Jabber login, the lab clock, CUCM's CLI, a plain HTTP
client at the edge) and leaves the nodes' logs in a directory. The analyzer is then judged on those logs alone: it is
never told which situation produced them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from common.basic import basic_header
from common.config import DEFAULT_LAB, Lab, load_lab, parse_lab
from common.domain import ProxyDescriptor, encode_segment
from lab.adminclient import lab_admin
from lab.running import RunningLab, start_lab

MINUTE, DAY = 60, 86400
Drive = Callable[[RunningLab], Awaitable[None]]


def _edge(running: RunningLab) -> tuple[str, dict[str, str]]:
    listener = running.lab.edge.listener
    return f"https://127.0.0.1:{running.edge_port}", {"Host": f"{listener.host}:{listener.port}"}


async def _admin(running: RunningLab, node: str, path: str, command: str) -> None:
    await lab_admin(running, node if node == "expressway-c" else running.cucm[0].name, command,
                    path.rsplit("/", 1)[1] if node == "expressway-c" else "cli")


async def healthy(running: RunningLab) -> None:
    await running.jabber().login()


async def wrong_password_oauth(running: RunningLab) -> None:
    await running.jabber(password="wrong").login()


async def user_not_found(running: RunningLab) -> None:
    await running.jabber(userid="nosuchuser", password="x").login()


async def access_token_expired(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    running.clock.advance(61 * MINUTE)
    await client.get_edge_config()


async def refresh_token_expired(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    running.clock.advance(61 * DAY)
    await client.ensure_session()


async def keys_regenerated(running: RunningLab) -> None:
    await running.jabber().login()
    await _admin(running, "cucm", "/mrasim/cli", "set key regen authz signing")
    await running.jabber().login()


async def refresh_token_revoked(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    cluster = running.lab.clusters[0]
    url = (f"https://127.0.0.1:{running.cucm[0].running.port}/ssosp/token/revoke"
           f"?user_id=aokanlawon&client_id={running.lab.jabber.client_id}")
    headers = {"Host": f"{cluster.listener.host}:{cluster.listener.port}",
               "Authorization": basic_header(cluster.admin_user, cluster.admin_password)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(url, headers=headers) as resp:
            await resp.read()
    await client.refresh()


async def domain_not_configured(running: RunningLab) -> None:
    base, headers = _edge(running)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        url = f"{base}/{encode_segment('other.example')}/get_edge_sso?email=aokanlawon@other.example"
        async with session.get(url, headers=headers) as resp:
            await resp.read()


async def allow_list_missing(running: RunningLab) -> None:
    base, headers = _edge(running)
    outside = ProxyDescriptor("lab.example", "http", "intranet.lab.example", 80).encode()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(f"{base}/{outside}/secret",
                               headers={**headers, "Authorization": basic_header("aokanlawon", "Cisco!123")}) as resp:
            await resp.read()


async def wrong_password_credentials(running: RunningLab) -> None:
    base, headers = _edge(running)
    url = f"{base}/{encode_segment('lab.example')}/get_edge_config?service_name=_cisco-uds"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(url, headers={**headers, "Authorization": basic_header("aokanlawon", "wrong")}) as r:
            await r.read()


async def subscriber_down_at_refresh(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    issuer = next(n for n in running.sinks if n.startswith("cucm:") and "Issuing Refresh Token" in running.log_text(n))
    await running.nodes.pop(issuer).stop()
    await client.refresh()
    await client.ensure_session()


def _with_subscriber(lab: Lab) -> Lab:
    data = tomllib.loads(DEFAULT_LAB.read_text())
    data["clusters"][0]["subscribers"] = [{"host": "cucm-sub1", "listen_port": 0}]
    return parse_lab(data, "test-lab.toml").with_ephemeral_ports()


def _old_cucm(lab: Lab) -> Lab:
    return dataclasses.replace(lab, clusters=(dataclasses.replace(lab.clusters[0], version="11.0.1.10000-10"),))


def _refresh_off(lab: Lab) -> Lab:
    cluster = lab.clusters[0]
    off = dataclasses.replace(cluster, enterprise=dataclasses.replace(cluster.enterprise, refresh_login_flow=False))
    return dataclasses.replace(lab, clusters=(off,))


def _mra_off(lab: Lab) -> Lab:
    users = tuple(dataclasses.replace(u, mra_enabled=False) if u.userid == "aokanlawon" else u for u in lab.users)
    return dataclasses.replace(lab, users=users)


def _oauth_off(lab: Lab) -> Lab:
    return lab.replace_core(oauth_local=False)


# situation name → (lab change, what the client does, the root-cause signature the analyzer must put first)
SITUATIONS: dict[str, tuple[Callable[[Lab], Lab] | None, Drive, str | None]] = {
    "healthy-login": (None, healthy, None),
    "credential-login-oauth-off": (_oauth_off, healthy, None),
    "wrong-password-oauth": (None, wrong_password_oauth, "wrong-password-oauth"),
    "user-not-found": (None, user_not_found, "user-not-found"),
    "access-token-expired": (None, access_token_expired, "access-token-expired"),
    "refresh-token-expired": (None, refresh_token_expired, "refresh-token-expired"),
    "keys-regenerated-c-not-refreshed": (None, keys_regenerated, "keys-regenerated-c-not-refreshed"),
    "refresh-token-revoked": (None, refresh_token_revoked, "refresh-token-revoked"),
    "domain-not-configured": (None, domain_not_configured, "domain-not-configured"),
    "http-allow-list-missing": (None, allow_list_missing, "http-allow-list-missing"),
    "wrong-password-credentials": (None, wrong_password_credentials, "wrong-password-credentials"),
    "cucm-too-old-for-code-grant": (_old_cucm, healthy, "cucm-too-old-for-code-grant"),
    "refresh-disabled-on-cucm": (_refresh_off, healthy, "refresh-disabled-on-cucm"),
    "mra-disabled-in-profile": (_mra_off, healthy, "mra-disabled-in-profile"),
    "issuing-subscriber-down-at-refresh": (_with_subscriber, subscriber_down_at_refresh,
                                           "issuing-subscriber-down-at-refresh"),
}


async def produce(name: str, out: Path) -> Path:
    """Run one situation on a fresh lab and leave its logs in ``out``."""
    change, drive, _ = SITUATIONS[name]
    lab = load_lab().with_ephemeral_ports()
    if change is not None:
        lab = change(lab)
    running = await start_lab(lab, out)
    try:
        await drive(running)
    finally:
        await running.stop()
    return out


async def produce_all(root: Path) -> dict[str, Path]:
    return {name: await produce(name, root / name) for name in SITUATIONS}


if __name__ == "__main__":
    import sys

    print(asyncio.run(produce_all(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/an/lab"))))
