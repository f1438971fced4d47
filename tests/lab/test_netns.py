"""``mrasim up --netns``: the nodes in network namespaces behind the MRA firewall. Expressway-C still dials the
traversal zone to E through it, a client on the host signs in through E, and E cannot reach CUCM (or C). Skipped only
where namespaces cannot be made (not root); CI runs as root."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from common.clock import LabClock
from common.config import DEFAULT_LAB, load_lab
from common.nodelog import CsfLog, LineSink
from common.zone import read_file
from lab import netns
from lab.processes import network, start_processes, with_free_ports
from load.client import LoadUser


def dial_from(namespace: str, address: str, port: int) -> str:
    """What a TCP connect from inside ``namespace`` gets: 'connected' or the error's name."""
    probe = ("import socket\ntry:\n    socket.create_connection((%r, %d), timeout=2); print('connected')\n"
             "except OSError as exc:\n    print(type(exc).__name__)") % (address, port)
    done = subprocess.run(["ip", "netns", "exec", namespace, sys.executable, "-c", probe], capture_output=True,
                          text=True, timeout=20)
    return done.stdout.strip()


async def _zone_settled(path: Path, deadline: float = 30) -> dict | None:
    """C's zone status once every link of the zone has reported (the SIP link settles after the tunnel and XCP,
    which start_processes waits for); polled until ``deadline`` seconds, for a loaded machine."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        zone = read_file(path)
        links = zone.get("links", {}) if zone else {}
        if all(links.get(link, {}).get("state") == "Active" for link in ("SSH tunnel", "XCP", "SIP")) \
                or loop.time() > end:
            return zone
        await asyncio.sleep(0.2)


async def _tcp_connects(address: str, port: int, wait: float = 5) -> bool:
    """From the host (the internet side): does a TCP connect succeed within ``wait`` seconds? (A dropped SYN gets no
    answer at all; on a local veth an accepted one is answered at once.)"""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), wait)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


def test_the_dmz_firewall_opens_exactly_the_mra_ports() -> None:
    """Inside→DMZ: the SSH tunnel, the SIP traversal zone and XCP; internet→DMZ: HTTPS, XMPP and SIP/TLS — each at the
    port the lab listens on, and nothing else (MRA deployment guide, "Firewall and NAT requirements")."""
    lab = load_lab(DEFAULT_LAB)
    rules = netns.firewall(lab, "in0", "out0")
    edge, sip = lab.edge, lab.sip
    inward = sorted([edge.tunnel.listen_port, sip.zone.listen_port, edge.xcp.listen_port])
    outward = sorted([edge.listener.listen_port, edge.xmpp.listen_port, sip.edge.listen_port])
    assert f'iifname "in0" ip saddr 10.213.1.0/24 tcp dport {{ {", ".join(map(str, inward))} }} accept' in rules
    assert f'iifname "out0" tcp dport {{ {", ".join(map(str, outward))} }} accept' in rules
    accepted = rules.split("chain output")[0].count(" accept\n")
    assert accepted == 4 and "policy drop" in rules  # lo, established, and the two lists above


def test_without_root_netns_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    assert netns.unavailable() == "network namespaces need root (CAP_NET_ADMIN)"


def test_addresses_are_rewritten_per_zone(tmp_path: Path) -> None:
    lab = load_lab(DEFAULT_LAB)
    path = tmp_path / "netns.toml"
    path.write_text(netns.rewrite_addresses(DEFAULT_LAB.read_text()))
    placed = load_lab(path)
    assert placed.edge.listener.address == placed.edge.xmpp.address == netns.DMZ_OUTSIDE
    assert placed.edge.tunnel.address == placed.edge.xcp.address == netns.DMZ_INSIDE
    assert placed.core.listener.address == placed.clusters[0].listener.address == netns.INSIDE_NODE
    assert placed.edge.listener.listen_port == lab.edge.listener.listen_port
    assert placed.jabber.address == netns.INTERNET


@pytest.mark.skipif(netns.unavailable() is not None, reason=f"no network namespaces: {netns.unavailable()}")
async def test_in_namespaces_c_dials_e_a_client_signs_in_and_e_cannot_reach_cucm(tmp_path: Path) -> None:
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    topology = netns.new_topology()
    topology.create(load_lab(lab_file))
    try:
        running = await start_processes(lab_file, tmp_path / "logs", tmp_path / "state", netns=topology)
        try:
            lab = running.lab
            zone = await _zone_settled(tmp_path / "state" / "zone-expressway-c.json")
            assert zone is not None, "C wrote its zone status"
            assert {zone["links"][link]["state"] for link in ("SSH tunnel", "XCP", "SIP")} == {"Active"}, zone
            user = lab.user(lab.jabber.userid)
            assert user is not None
            client = LoadUser(lab, network(lab, tmp_path / "state"), CsfLog(LabClock(), LineSink()), user.userid,
                              user.password, seed=1)
            try:
                attempt = await client.login()
            finally:
                await client.close()
            assert attempt.outcome.ok, attempt.outcome.reason

            cucm, core = lab.clusters[0].listener, lab.core.listener
            assert dial_from(topology.dmz, cucm.address, cucm.listen_port) == "ConnectionRefusedError"
            assert dial_from(topology.dmz, core.address, core.listen_port) == "ConnectionRefusedError"
            assert dial_from(topology.inside, lab.edge.tunnel.address, lab.edge.tunnel.listen_port) == "connected"
            assert dial_from(topology.inside, lab.edge.listener.address, lab.edge.listener.listen_port) != "connected"
            # SIP: 5061 on E's external interface from the internet, 7001 on its internal one from the inside only,
            # CUCM's 5091 on the inside node's address, out of the DMZ's reach
            sip, mra = lab.sip, lab.cucm_sip_listeners(lab.clusters[0])["cucm:cluster1:sipmra"]
            assert (sip.edge.address, sip.zone.address, mra.address) == (netns.DMZ_OUTSIDE, netns.DMZ_INSIDE,
                                                                        netns.INSIDE_NODE)
            assert dial_from(topology.inside, sip.zone.address, sip.zone.listen_port) == "connected"
            assert dial_from(topology.dmz, mra.address, mra.listen_port) == "ConnectionRefusedError"
            assert await _tcp_connects(sip.edge.address, sip.edge.listen_port)
            # the zone port through E's external address: the firewall drops it (only the namespaces' own addresses
            # are dialled from the host; it has no route to the DMZ's internal side)
            assert not await _tcp_connects(netns.DMZ_OUTSIDE, sip.zone.listen_port, wait=1)
        finally:
            await running.stop()
    finally:
        topology.destroy()
    assert topology.dmz not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
