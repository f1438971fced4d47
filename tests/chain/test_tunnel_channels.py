"""Expressway-E's requests reach Expressway-C as SSH channels of the traversal tunnel, TLS straight over each channel
(common/sshstream.py): no loopback connection on either end, the same TLS checks and the same log lines, and a
handshake refused inside the tunnel is logged by both ends."""

from __future__ import annotations

import asyncio
import dataclasses
import os

from common.config import Lab
from common.labmodel import CertStaging, TlsConfig
from common.logformats.expressway import parse_log
from common.sshstream import ChannelSession
from lab.running import RunningLab, start_lab
from tests.probes import ESTABLISHED, LISTEN, tcp_sockets, wait_for


async def test_e_reaches_c_on_ssh_channels_with_no_loopback_connection_at_either_end(running: RunningLab) -> None:
    outcome, steps = await running.jabber().login()
    assert outcome.ok and len(steps) >= 7
    forward_ports = {listener.get_port() for listener in running.edge.tunnel.forwards.values()}
    dialled = {remote for state, _, remote in tcp_sockets(os.getpid()) if state == ESTABLISHED}
    assert forward_ports and not forward_ports & dialled, "E's client dialled the tunnel's loopback port"
    assert running.core.traffic.port not in dialled, "C's end of the tunnel dialled C's listener"
    listening = {local for state, local, _ in tcp_sockets(os.getpid()) if state == LISTEN}
    assert forward_ports <= listening, "the forward C asked for is still a port on E"
    relayed = [line for line in parse_log(running.log_text("expressway-c"))
               if line.get("Detail") == "Receive Request" and line.get("Level") != "DEBUG"]
    assert len(relayed) >= 6
    assert {line.get("Src-ip") for line in relayed} == {"127.0.0.1"}, "C sees E's requests from its own loopback"
    assert all(32768 <= int(line.get("Src-port") or 0) < 61000 for line in relayed)


async def test_a_c_certificate_e_does_not_trust_fails_inside_the_tunnel_on_both_ends(lab: Lab) -> None:
    staged = dataclasses.replace(lab, tls=TlsConfig(True, certs=(("expressway-c", CertStaging(signer="other-ca")),)))
    running = await start_lab(staged)
    try:
        assert running.core.zone.links["SSH tunnel"].state == "Active", "the SSH tunnel does not use certificates"
        outcome, _ = await running.jabber().login()
        assert not outcome.ok and "502" in outcome.reason
        e_text = running.log_text("expressway-e")
        assert "Core server certificate verification failed for (expc.lab.example). Action=Terminate" in e_text
        assert "SSL connection failed for 'expc.lab.example': certificate verify failed" in e_text
        # E's alert crosses the channel: C reads it, where a socket's reset used to lose it
        assert await wait_for(lambda: 'Detail="TLS negotiation failed"' in running.log_text("expressway-c"))
        line = next(line for line in parse_log(running.log_text("expressway-c"))
                    if line.get("Detail") == "TLS negotiation failed")
        assert line.get("Src-ip") == "127.0.0.1" and "unknown ca" in (line.get("Reason") or "")
    finally:
        await running.stop()


class _ClosesAtOnce(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


async def test_a_channel_c_closes_before_the_handshake_is_a_502_and_the_next_one_works(running: RunningLab) -> None:
    assert running.core.tunnel is not None
    serve = running.core.tunnel.serve_channel
    running.core.tunnel.serve_channel = lambda _host, _port: ChannelSession(_ClosesAtOnce(), {})
    outcome, _ = await running.jabber().login()
    assert not outcome.ok and outcome.failed_step == "get_edge_sso" and "502 Next Hop Connection Failed" in outcome.reason
    assert "Next Hop Connection Failed: connect" in running.log_text("expressway-e")
    running.core.tunnel.serve_channel = serve
    assert (await running.jabber().login())[0].ok
