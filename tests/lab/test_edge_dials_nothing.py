"""Expressway-E never opens a connection inward (issue 11): with the nodes in their own processes, every TCP
connection E's process holds is one it accepted, or one to its own SSH tunnel endpoint; with Expressway-C stopped it
holds none, and a client's login and XMPP attempt make it open none."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from common.config import DEFAULT_LAB
from lab.processcontrol import start_process_control
from lab.processes import ProcessLab, start_processes, with_free_ports
from tests.probes import ESTABLISHED, LISTEN, tcp_sockets


def outward(pid: int) -> list[tuple[str, int, int]]:
    """Connections of ``pid`` that it opened to a port it does not itself listen on."""
    sockets = tcp_sockets(pid)
    own = {local for state, local, _ in sockets if state == LISTEN}
    return [s for s in sockets if s[0] != LISTEN and s[1] not in own and s[2] not in own]


async def status(port: int) -> dict:  # type: ignore[type-arg]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/status") as resp:
            return await resp.json()  # type: ignore[no-any-return]


async def login_attempt(running: ProcessLab) -> int:
    edge = running.lab.edge.listener
    # 127.0.0.1 is on no certificate: this asks whether E answers, not what its certificate says.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(f"{edge.scheme}://127.0.0.1:{edge.listen_port}/bGFiLmV4YW1wbGU/get_edge_sso?email=a@lab.example",
                               headers={"Host": f"{edge.host}:{edge.port}"}) as resp:
            return resp.status


async def test_expressway_e_holds_and_makes_no_connection_inward(tmp_path: Path) -> None:
    lab_file = tmp_path / "lab.toml"
    lab_file.write_text(with_free_ports(DEFAULT_LAB.read_text()))
    running = await start_processes(lab_file, tmp_path / "logs", tmp_path / "state")
    control = await start_process_control(running)
    try:
        edge_pid = running.node("expressway-e").process.pid
        assert await login_attempt(running) == 200
        sockets = tcp_sockets(edge_pid)
        assert any(state == ESTABLISHED and local == running.lab.edge.tunnel.listen_port
                   for state, local, _ in sockets), "C's tunnel is a connection E accepted on 2222"
        assert outward(edge_pid) == []
        zones = (await status(control.port))["zones"]
        for node in ("expressway-c", "expressway-e"):  # the links this test is about (SIP's 7001 has its own tests)
            assert {zones[node]["links"][link]["state"] for link in ("SSH tunnel", "XCP")} == {"Active"}, zones

        await running.stop_node("expressway-c")
        for _ in range(500):
            if not [s for s in tcp_sockets(edge_pid) if s[0] == ESTABLISHED]:
                break
            await asyncio.sleep(0.01)
        assert [s for s in tcp_sockets(edge_pid) if s[0] != LISTEN] == [], "with C stopped E holds no connection"
        assert await login_attempt(running) == 502
        assert outward(edge_pid) == []
        zones = (await status(control.port))["zones"]
        assert list(zones) == ["expressway-e"]
        assert zones["expressway-e"]["status"] == "Failed"
        assert zones["expressway-e"]["links"]["SSH tunnel"]["reason"] == "Connection lost"

        await running.start_node("expressway-c")
        assert await login_attempt(running) == 200
    finally:
        await control.stop()
        await running.stop()
