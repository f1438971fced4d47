"""One XCP link per Expressway-E↔C and C↔IM&P pair carries every XMPP session (issue 18): sessions add no link
socket, the links are TLS with the lab's certificates, a lost link ends its sessions with a stream error and comes
back, and beyond E's XMPP bound a new stream is answered ``resource-constraint``."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os

import pytest

from common.config import Lab
from common.labtransport import CertStaging, TlsConfig
from common.logformats.expressway import parse_log
from jabber.flow import Outcome
from jabber.xmppclient import XmppConnection, connect_xmpp
from lab.running import RunningLab, start_lab
from lab.xmpprun import run_login
from load.client import Attempt, StepTime
from load.storm import StormStats
from tests.probes import ESTABLISHED, tcp_sockets, wait_for

SESSIONS = 6
RESOURCES = itertools.count(1)


def established_on(port: int) -> int:
    """TCP sockets of this process (every node runs in it) with ``port`` at either end, from /proc."""
    return sum(1 for state, local, remote in tcp_sockets(os.getpid())
               if state == ESTABLISHED and port in (local, remote))


async def sessions(running: RunningLab, count: int) -> list[XmppConnection]:
    client = running.jabber()
    outcome, _ = await run_login(running, client=client)
    assert outcome.ok
    opened = []
    for _ in range(count):
        result, connection = await connect_xmpp(client, outcome, resource=f"phone{next(RESOURCES)}")
        assert result.ok and connection is not None, result.reason
        opened.append(connection)
    return opened


async def test_sessions_share_one_tls_link_per_pair_end_with_it_and_ride_the_redialled_one(lab: Lab) -> None:
    running = await start_lab(lab.replace_core(tunnel_retry_min=0.05, tunnel_retry_max=0.2))
    try:
        await _many_sessions_on_one_link(running)
        await _a_lost_link_ends_its_sessions_and_comes_back(running)
        await _beyond_the_xmpp_bound_a_new_stream_gets_resource_constraint(running)
    finally:
        await running.stop()


async def _many_sessions_on_one_link(running: RunningLab) -> None:
    e_xcp, imp_xcp = running.edge.xcp.port, running.nodes["imp:imp"].xcp.port  # type: ignore[union-attr]
    first = await sessions(running, 1)
    before = (established_on(e_xcp), established_on(imp_xcp))
    opened = first + await sessions(running, SESSIONS - 1)
    try:
        assert before == (2, 2), "one link each, both of its ends in this process"
        assert (established_on(e_xcp), established_on(imp_xcp)) == (2, 2), "sessions add no link socket"
        link = running.edge.xmpp_edge.link.current  # type: ignore[union-attr]
        assert link is not None and len(link.sessions) == SESSIONS
        assert link.mux.writer.get_extra_info("ssl_object") is not None, "E↔C XCP is TLS"
        imp_link = running.core.xcp.router._imp_link  # type: ignore[union-attr]
        assert imp_link.mux.writer.get_extra_info("ssl_object") is not None, "C↔IM&P XCP is TLS"
        # each session's packets reach its own client: a message from the first to the last resource
        opened[0].send_message(opened[-1].jid, "over one link")
        assert await opened[-1].next_message() == (opened[0].jid, "over one link")
    finally:
        for connection in opened:
            await connection.close()
    assert await wait_for(lambda: not running.core.xcp.router.sessions)  # type: ignore[union-attr]


async def _a_lost_link_ends_its_sessions_and_comes_back(running: RunningLab) -> None:
    opened = await sessions(running, 2)
    link = running.edge.xmpp_edge.link.current  # type: ignore[union-attr]
    assert link is not None
    link.mux.close()  # the TCP connection of the link goes away under the sessions
    for connection in opened:
        stanza = await connection.link.stanza(10)
        while stanza.local != "error":
            stanza = await connection.link.stanza(10)
        assert stanza.element[0].tag.endswith("remote-connection-failed")
        connection.writer.close()
    e_text = running.log_text("expressway-e")
    lost = next(line for line in parse_log(e_text) if line.get("Detail") == "XCP link lost")
    assert lost.get("Sessions") == "2" and lost.get("Zone") == "UC Traversal"
    assert e_text.count("Link to connect-auth-1.expc-lab-example lost") == 2
    assert await wait_for(lambda: running.log_text("imp:imp").count("ended without </stream:stream>") >= 2)
    assert await wait_for(lambda: 'Detail="XCP lost" Zone="UC Traversal" Peer="expe.lab.example:7400"'
                          in running.log_text("expressway-c"))
    assert await wait_for(lambda: running.log_text("expressway-c").count('Detail="XCP link established"') == 2)
    assert await running.wait_zone_active()
    again = await sessions(running, 1)
    await again[0].close()


async def _beyond_the_xmpp_bound_a_new_stream_gets_resource_constraint(running: RunningLab) -> None:
    admission = running.edge.xmpp_edge.admission  # type: ignore[union-attr]
    assert await wait_for(lambda: admission.sessions == 0)
    admission.max_sessions = 1
    client = running.jabber()
    outcome, _ = await run_login(running, client=client)
    first, connection = await connect_xmpp(client, outcome, resource="desk")
    assert first.ok and connection is not None
    refused, none = await connect_xmpp(client, outcome, resource="phone")
    assert none is None and not refused.ok and "(resource-constraint)" in refused.reason
    e_text = running.log_text("expressway-e")
    assert "refused: resource-constraint (1 XMPP sessions (limit 1))" in e_text
    assert "Stream error resource-constraint to client" in e_text
    assert admission.shed == 1
    await connection.close()
    assert await wait_for(lambda: admission.sessions == 0), "the lab recovers when the load drops"
    again, connection = await connect_xmpp(client, outcome, resource="phone")
    assert again.ok and connection is not None
    await connection.close()


def test_the_storm_counts_a_resource_constraint_as_shed() -> None:
    stats = StormStats()
    shed = Attempt(Outcome(False, "xmpp", "stream", "got <error> (resource-constraint)"),
                   (StepTime("xmpp_sign_in", 503, 1.0, "xmpp resource-constraint"),), "xmpp resource-constraint")
    failed = Attempt(Outcome(False, "xmpp", "stream", "got <error>"), (StepTime("xmpp_sign_in", 0, 1.0, "x"),), "x")
    stats.record_connect(shed)
    stats.record_connect(failed)
    assert stats.xmpp_shed == 1 and stats.errors["xmpp resource-constraint"] == 1


def test_under_uvloop_a_c_that_distrusts_es_certificate_fails_the_link_and_every_lab_stops(lab: Lab) -> None:
    """``cli.main`` runs the lab on uvloop: the link's TLS works there, a C that does not trust E's certificate fails
    the link with the reason (redialling fast), and stopping either lab ends (last round's TLS XCP try hung here)."""
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        running = await start_lab(lab)
        try:
            opened = await sessions(running, 1)
            assert running.edge.xmpp_edge.link.current is not None  # type: ignore[union-attr]
            await opened[0].close()
        finally:
            await running.stop()
        distrusted = dataclasses.replace(
            lab, tls=TlsConfig(True, certs=(("expressway-e", CertStaging(signer="other-ca")),)),
            core=dataclasses.replace(lab.core, tunnel_retry_min=0.01, tunnel_retry_max=0.02))
        failing = await start_lab(distrusted)
        try:
            assert failing.core.zone.links["XCP"].text.startswith(
                "Failed: TLS negotiation failed: certificate verify failed")
            assert await wait_for(lambda: failing.log_text("expressway-c").count('Detail="XCP failed"') >= 3)
            failed = next(line for line in parse_log(failing.log_text("expressway-c"))
                          if line.get("Detail") == "XCP failed")
            assert failed.get("Reason", "").startswith("TLS negotiation failed: certificate verify failed")
            assert await wait_for(lambda: 'Dst-port="7400"' in failing.log_text("expressway-e")), "E logs it too"
            assert failing.edge.xmpp_edge.link.current is None  # type: ignore[union-attr]
        finally:
            await failing.stop()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(asyncio.wait_for(scenario(), 90))
