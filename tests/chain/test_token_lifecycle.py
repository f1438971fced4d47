"""Life after the first login, on the lab clock: expiry, refresh, revocation, key regeneration, restarts, old CUCMs."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from common.basic import basic_header
from common.config import Lab
from common.logformats.csf import parse_log as parse_csf
from common.logformats.expressway import parse_log
from common.logformats.log4j import parse_log as parse_log4j
from common.tokens import KeyRing, read_access_token
from lab.adminclient import lab_admin
from lab.running import RunningLab, start_lab
from lab.runner import run_login

MINUTE, DAY = 60, 86400


async def admin_post(running: RunningLab, node: str, command: str) -> dict:  # type: ignore[type-arg]
    status, data = await lab_admin(running, node, command)
    assert status == 200, data
    return data


async def test_the_client_refreshes_before_expiry_without_asking_the_user(running: RunningLab) -> None:
    client = running.jabber()
    assert (await client.login())[0].ok
    first = client.access_token
    running.clock.advance(56 * MINUTE)
    assert await client.ensure_session() == "refreshed"
    assert client.access_token != first
    assert (await client.get_edge_config()).ok
    assert "Issuing Access Token" in running.log_text("cucm:cluster1")


async def test_after_61_minutes_the_access_token_is_refused_and_the_client_refreshes(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    running.clock.advance(61 * MINUTE)
    refused = await client.get_edge_config()
    assert not refused.ok and refused.reason.startswith("HTTP 401")
    assert any(line.get("Reason") == "Token expired" for line in parse_log(running.log_text("expressway-c")))
    assert await client.ensure_session() == "refreshed"
    assert (await client.get_edge_config()).ok


async def test_after_the_refresh_token_life_the_client_logs_in_again(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    running.clock.advance(61 * DAY)
    assert await client.ensure_session() == "relogin"
    lines = parse_csf(running.log_text("jabber"))
    failure = next(line for line in lines if line.function.endswith("handleRefreshTokenFailure"))
    assert "invalid_grant" in failure.message and failure.level == "ERROR"
    assert (await client.get_edge_config()).ok


async def test_key_regeneration_breaks_expressway_c_until_refresh_servers(running: RunningLab) -> None:
    assert (await running.jabber().login())[0].ok
    shown = await admin_post(running, "cucm:cluster1", "show key authz signing")
    assert running.cucm[0].keys.signing.checksum in shown["output"]
    regen = await admin_post(running, "cucm:cluster1", "set key regen authz signing")
    assert running.cucm[0].keys.signing.checksum in regen["output"]
    outcome, _ = await running.jabber().login()
    assert not outcome.ok and outcome.failed_step == "access_token"
    c_lines = parse_log(running.log_text("expressway-c"))
    assert any(line.get("Module") == "developer.credentialmanager.OAuthinspector"
               and line.get("Reason") == "No matching AuthZ key" for line in c_lines)
    refreshed = await admin_post(running, "expressway-c", "RefreshServers")
    assert "status=OK" in refreshed["output"]
    assert (await running.jabber().login())[0].ok


async def test_revocation_per_client_and_per_user(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    cluster = running.lab.clusters[0]
    base = f"https://127.0.0.1:{running.cucm[0].running.port}/ssosp/token/revoke"
    headers = {"Host": f"{cluster.listener.host}:{cluster.listener.port}",
               "Authorization": basic_header(cluster.admin_user, cluster.admin_password)}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(f"{base}?user_id=aokanlawon&client_id=C{'0' * 64}", headers=headers) as resp:
            assert (await resp.json())["revoked"] == 0
        assert (await client.refresh()).ok
        async with session.get(f"{base}?user_id=aokanlawon&client_id={client.lab.jabber.client_id}",
                               headers=headers) as resp:
            assert (await resp.json())["revoked"] == 1
        async with session.get(f"{base}?user_id=aokanlawon", headers={"Host": headers["Host"]}) as resp:
            assert resp.status == 401
    access = client.access_token
    refused = await client.refresh()
    assert not refused.ok and "revoked" in refused.reason
    client.access_token = access
    assert (await client.get_edge_config()).ok, "access tokens already issued stay valid until they expire"


async def test_tokens_and_keys_survive_a_cucm_restart(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    before = running.cucm[0].keys.signing.checksum
    await running.restart("cucm:cluster1")
    assert running.cucm[0].keys.signing.checksum == before
    assert (await client.refresh()).ok
    assert (await client.get_edge_config()).ok


async def test_expired_refresh_tokens_are_flushed_at_two_in_the_morning(running: RunningLab) -> None:
    await running.jabber().login()
    store = running.cucm[0].ssosp.refresh_tokens
    assert len(store) == 1
    running.clock.advance(61 * DAY)
    assert running.cucm[0].daily.run_due() == 1
    assert len(store) == 0
    assert any("Deleted 1 expired refresh token(s)" in line.message
               for line in parse_log4j(running.log_text("cucm:cluster1")))
    assert running.cucm[0].daily.run_due() is None


async def test_a_cucm_older_than_11_5_1_su3_refuses_the_code_grant_and_issues_implicit_tokens(lab: Lab) -> None:
    old = dataclasses.replace(lab.clusters[0], version="11.0.1.10000-10")
    running = await start_lab(dataclasses.replace(lab, clusters=(old,)))
    try:
        outcome, _ = await run_login(running)
        assert not outcome.ok and outcome.failed_step == "localauthentication"
        assert "unsupported_response_type" in running.log_text("expressway-c")
        cluster = running.lab.clusters[0]
        form = {"client_id": lab.jabber.client_id, "response_type": "token", "realm": "local", "state": "9"}
        headers = {"Host": f"{cluster.listener.host}:{cluster.listener.port}",
                   "Authorization": basic_header(cluster.admin_user, cluster.admin_password),
                   "X-Credentials": basic_header("aokanlawon", "Cisco!123")}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
            async with session.post(f"https://127.0.0.1:{running.cucm[0].running.port}/ssosp/token/authorize_proxy",
                                    data=form, headers=headers) as resp:
                assert resp.status == 200
                redirect = (await resp.json())["redirect_uri"]
        keys = running.cucm[0].keys
    finally:
        await running.stop()
    fragment = dict(parse_qsl(urlsplit(redirect).fragment))
    assert set(fragment) == {"access_token", "token_type", "expires_in", "state"}
    claims = read_access_token(fragment["access_token"], KeyRing((keys,)), running.clock.timestamp())
    assert claims["sub"] == "aokanlawon"


async def test_refresh_with_a_wrong_secret_or_the_wrong_token_type_is_refused(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    good_secret = running.lab.clients[0].client_secret
    client.lab = dataclasses.replace(client.lab, clients=(dataclasses.replace(running.lab.clients[0],
                                                                              client_secret="wrong"),))
    wrong_secret = await client.refresh()
    assert not wrong_secret.ok and wrong_secret.reason.startswith("invalid_client")
    client.lab = running.lab
    await client.login()
    client.refresh_token = client.access_token
    swapped = await client.refresh()
    assert not swapped.ok and swapped.reason.startswith("invalid_grant")
    assert good_secret not in "".join(running.log_text(n) for n in running.sinks)
    assert json.dumps(good_secret) not in running.log_text("expressway-c")


async def test_key_last_synced_is_lab_time_after_the_clock_moved(running: RunningLab) -> None:
    """A key regenerated after 'mrasim clock +60d' was made on the lab's day, not today's (issue 17)."""
    running.clock.advance(60 * 86400)
    await admin_post(running, "cucm:cluster1", "set key regen authz signing")
    shown = await admin_post(running, "cucm:cluster1", "show key authz signing")
    assert f"Key last synced: {running.clock.now():%Y-%m-%d}" in shown["output"]
