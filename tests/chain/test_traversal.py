"""The traversal zone dialled by Expressway-C: the SSH tunnel to E's 2222 carries E's requests to C, the XCP links
to E's 7400 carry the XMPP sessions, C retries on its own, wrong credentials are refused and counted, and the zone's
state is what the control API reports."""

from __future__ import annotations

import dataclasses

import aiohttp

from common.config import Lab
from common.logformats.expressway import parse_log
from common.resolver import NameError_
from lab.control import start_control
from lab.running import RunningLab, start_lab
from lab.xmpprun import run_sign_in
from tests.probes import wait_for

ZONE_WAIT = 60.0  # s: the zone changes on its own, as C retries; a loaded machine only waits longer


async def test_expressway_e_reaches_c_only_through_the_tunnel_c_opened(running: RunningLab) -> None:
    reach = running.edge.state.hop.resolver
    inside = [running.lab.clusters[0].listener, running.lab.imps[0].xmpp, running.lab.imps[0].xcp,
              running.lab.core.validator]
    for listener in inside:
        try:
            reach.locate(listener.host, listener.port)
        except NameError_:
            continue
        raise AssertionError(f"Expressway-E has a route to {listener.host}:{listener.port}")
    address, port = reach.locate(running.lab.core.listener.host, running.lab.core.listener.port)
    assert (address, port) != ("127.0.0.1", running.core.traffic.port), "E reaches C's name only at the tunnel"
    assert port in [l.get_port() for l in running.edge.tunnel.forwards.values()]
    assert (await running.jabber().login())[0].ok
    e_lines = parse_log(running.log_text("expressway-e"))
    assert any(line.process == "sshd" and (line.get("Detail") or "").startswith("Accepted password for traversal from")
               for line in e_lines)
    assert 'Detail="SSH tunnel established" Zone="UC Traversal" Peer="expe.lab.example:2222"' in (
        running.log_text("expressway-c"))


async def test_the_tunnel_is_encrypted_with_aes_gcm_both_ways(running: RunningLab) -> None:
    """Both ends prefer AES-GCM (one OpenSSL AEAD call a packet) over asyncssh's default chacha20-poly1305."""
    conn = running.core.tunnel.conn
    assert conn is not None
    assert conn.get_extra_info("send_cipher") == conn.get_extra_info("recv_cipher") == "aes128-gcm@openssh.com"


async def test_with_c_stopped_e_answers_502_holds_no_tunnel_and_c_comes_back_on_its_own(running: RunningLab) -> None:
    await running.nodes.pop("expressway-c").stop()
    assert await wait_for(lambda: not running.edge.tunnel.connections, ZONE_WAIT)
    assert running.edge.zone.links["SSH tunnel"].text == "Failed: Connection lost"
    assert not running.edge.tunnel.forwards
    outcome, _ = await running.jabber().login()
    assert not outcome.ok and outcome.failed_step == "get_edge_sso" and "502" in outcome.reason
    e_text = running.log_text("expressway-e")
    assert "Next Hop Connection Failed: no SSH tunnel from Expressway-C" in e_text
    assert 'Detail="SSH tunnel lost"' in e_text and "Disconnected from user traversal 127.0.0.1" in e_text
    outcome, xmpp, _, _ = await run_sign_in(running)
    assert xmpp is None or not xmpp.ok
    await running.start("expressway-c")
    assert running.zone_active()
    assert (await running.jabber().login())[0].ok


async def test_restarted_e_is_dialled_again_by_c_with_backoff(running: RunningLab) -> None:
    await running.restart("expressway-e")  # returns once C has dialled the zone again
    assert running.core.zone.state == "Active" and running.edge.zone.state == "Active"
    c_text = running.log_text("expressway-c")
    assert 'Detail="SSH tunnel lost" Zone="UC Traversal" Peer="expe.lab.example:2222" Reason="Connection lost"' in c_text
    assert c_text.count('Detail="SSH tunnel established"') == 2
    assert (await running.jabber().login())[0].ok
    outcome, xmpp, _, _ = await run_sign_in(running)
    assert xmpp is not None and xmpp.ok


async def test_wrong_traversal_credentials_are_refused_logged_and_blocked(lab: Lab) -> None:
    wrong = dataclasses.replace(lab, edge=dataclasses.replace(lab.edge, traversal_password="Old!Zone41",
                                                              intrusion_trigger=3),
                                core=dataclasses.replace(lab.core, tunnel_retry_min=0.01, tunnel_retry_max=0.02))
    running = await start_lab(wrong)
    try:
        assert running.core.zone.links["SSH tunnel"].text == "Failed: SSH tunnel authentication failure"
        # the SSH tunnel's detection (the zone's SIP link counts its own failures under "sip-auth")
        assert await wait_for(lambda: 'Category="ssh-tunnel-auth-failure"' in running.log_text("expressway-e"),
                              ZONE_WAIT)
        e_text = running.log_text("expressway-e")
        assert "Failed password for traversal from 127.0.0.1 port" in e_text
        assert 'Category="ssh-tunnel-auth-failure" Src-ip="127.0.0.1"' in e_text
        assert "Old!Zone41" not in e_text and "Trav!Zone42" not in running.log_text("expressway-c")
        assert 'Detail="SSH tunnel failed" Zone="UC Traversal" Peer="expe.lab.example:2222" Reason="SSH tunnel ' \
               'authentication failure"' in running.log_text("expressway-c")
        assert await wait_for(lambda: 'Event="Connection dropped" Category="ssh-tunnel-auth-failure"'
                              in running.log_text("expressway-e"), ZONE_WAIT), \
            "a blocked C is dropped before it logs in"
        outcome, _ = await running.jabber().login()
        assert not outcome.ok and "502" in outcome.reason
        assert running.edge.zone.state == "Failed"
    finally:
        await running.stop()


async def test_control_api_reports_the_zone_on_both_expressways(running: RunningLab) -> None:
    control = await start_control(running)
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{control.port}/status") as resp:
                zones = (await resp.json())["zones"]
    finally:
        await control.stop()
    core, edge = zones["expressway-c"], zones["expressway-e"]
    assert core["type"] == edge["type"] == "Unified Communications traversal"
    assert (core["role"], edge["role"]) == ("traversal client", "traversal server")
    assert core["status"] == edge["status"] == "Active" and core["peer"] == "expe.lab.example"
    assert {name: link["port"] for name, link in core["links"].items()} == {"SSH tunnel": 2222, "XCP": 7400, "SIP": 7001}
