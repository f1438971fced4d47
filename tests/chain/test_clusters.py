"""Clusters of several nodes and labs of several clusters: who issues, who refreshes, where new keys arrive."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from common.basic import basic_header
from common.config import DEFAULT_LAB, Lab, parse_lab
from common.logformats.log4j import parse_log as parse_log4j
from jabber.sipphone import SipPhone
from lab.running import RunningLab, start_lab

SUB = "cucm:cluster1:cucm-sub1"


def with_subscriber() -> Lab:
    data = tomllib.loads(DEFAULT_LAB.read_text())
    data["clusters"][0]["subscribers"] = [{"host": "cucm-sub1", "listen_port": 0}]
    return parse_lab(data, "test-lab.toml").with_ephemeral_ports()


@pytest.fixture
async def cluster_lab() -> AsyncIterator[RunningLab]:
    running = await start_lab(with_subscriber())
    yield running
    await running.stop()


def issued_by(running: RunningLab) -> str:
    issuers = [name for name in running.sinks if name.startswith("cucm:")
               and "Issuing Refresh Token" in running.log_text(name)]
    assert len(issuers) == 1
    return issuers[0]


async def test_each_node_has_its_own_log_and_the_issuing_node_serves_the_refresh(cluster_lab: RunningLab) -> None:
    client = cluster_lab.jabber()
    assert (await client.login())[0].ok
    issuer = issued_by(cluster_lab)
    other = next(name for name in ("cucm:cluster1", SUB) if name != issuer)
    before = cluster_lab.log_text(other)
    assert (await client.refresh()).ok
    assert cluster_lab.log_text(issuer).count("Issuing Access Token") == 2
    assert "Issuing Access Token" not in cluster_lab.log_text(other)[len(before):]


async def test_issuing_node_down_at_refresh_means_a_full_login_elsewhere(cluster_lab: RunningLab) -> None:
    client = cluster_lab.jabber()
    await client.login()
    issuer = issued_by(cluster_lab)
    await cluster_lab.nodes.pop(issuer).stop()
    refused = await client.refresh()
    assert not refused.ok
    assert await client.ensure_session() == "relogin"
    assert (await client.get_edge_config()).ok


async def test_regenerated_keys_reach_a_subscriber_only_when_it_restarts(cluster_lab: RunningLab) -> None:
    client = cluster_lab.jabber()
    await client.login()
    publisher, subscriber = cluster_lab.cucm
    old_token = client.access_token
    cluster = cluster_lab.lab.clusters[0]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.post(f"https://127.0.0.1:{publisher.running.port}/mrasim/cli",
                                json={"command": "set key regen authz signing"},
                                headers={"Host": "cucm.lab.example:8443",
                                         "Authorization": basic_header(cluster.admin_user,
                                                                       cluster.admin_password)}) as resp:
            assert (await resp.json())["ok"]

        async def uds_status(port: int) -> int:
            async with session.get(f"https://127.0.0.1:{port}/cucm-uds/user/aokanlawon",
                                   headers={"Authorization": f"Bearer {old_token}"}) as resp:
                return resp.status

        assert publisher.keys.signing.kid != subscriber.keys.signing.kid
        assert await uds_status(publisher.running.port) == 401
        assert await uds_status(subscriber.running.port) == 200
        await cluster_lab.restart(SUB)
        restarted = cluster_lab.cucm[1]
        assert restarted.keys.signing.kid == publisher.keys.signing.kid
        assert await uds_status(restarted.running.port) == 401


async def test_a_user_homed_on_another_cluster_logs_in_through_ils() -> None:
    data = tomllib.loads(DEFAULT_LAB.read_text())
    second = dict(data["clusters"][0], name="cluster2", uuid="0b9e7d6c-1111-4222-8333-944455556666", host="cucm2",
                  listen_port=0, imp=["imp2"])
    data["clusters"].append(second)
    data["users"][1]["cluster"] = "cluster2"
    data["jabber"]["userid"], data["jabber"]["password"] = data["users"][1]["userid"], data["users"][1]["password"]
    running = await start_lab(parse_lab(data, "two-clusters.toml").with_ephemeral_ports())
    try:
        client = running.jabber()
        outcome, _ = await client.login()
        assert outcome.ok, outcome.reason
        assert outcome.edge_config is not None and outcome.edge_config.user_uds[0].address == "cucm2.lab.example"
        assert "Issuing Refresh Token" in running.log_text("cucm:cluster2")
        assert "Issuing Refresh Token" not in running.log_text("cucm:cluster1")
        assert len(running.core.state.keys.ring) == 2
        assert (await client.refresh()).ok
        lines = parse_log4j(running.log_text("cucm:cluster2"))
        assert sum("Issuing Access Token" in line.message for line in lines) == 2
        # Its softphone registers with its own cluster's node: cnf.xml from cucm2's TFTP, REGISTER over CEOAuth cucm2
        await running.core.sip.wait_status("Active")
        phone = SipPhone(client)
        registered = await phone.register()
        assert registered.ok, registered.reason
        assert phone.config is not None and phone.config.callmanager == "cucm2.lab.example"
        home, first = (next(n for n in running.cucm if n.name == name) for name in ("cucm:cluster2", "cucm:cluster1"))
        assert set(home.sip.state.registrations) == {"CSFNTANBORGESON"} and not first.sip.state.registrations
        assert [r["node"] for r in running.sip_status()["registrations"]] == ["cucm:cluster2"]
        assert 'Zone="CEOAuth cucm2.lab.example"' in running.log_text("expressway-c")
        await phone.close()
    finally:
        await running.stop()


async def test_internal_auth_check_sends_users_of_an_old_cluster_down_the_credential_path() -> None:
    data = tomllib.loads(DEFAULT_LAB.read_text())
    data["expressway_c"]["internal_auth_check"] = "On"
    data["clusters"].append(dict(data["clusters"][0], name="cluster2", uuid="0b9e7d6c-1111-4222-8333-944455556666",
                                 host="cucm2", listen_port=0, version="11.0.1.10000-10", enterprise={},
                                 imp=[]))
    data["users"][1]["cluster"] = "cluster2"
    running = await start_lab(parse_lab(data, "mixed.toml").with_ephemeral_ports())
    try:
        old, _ = await running.jabber("ntanborgeson", "Cisco!456").login()
        new, _ = await running.jabber().login()
        sso_lines = running.log_text("expressway-c").count("/ssosp/ws/public/singleSignOn")
    finally:
        await running.stop()
    assert old.ok and old.path == "credentials"
    assert new.ok and new.path == "oauth"
    assert sso_lines >= 2
