"""An independent SIP peer registers through the lab's Expressway-E: SIPp (Debian ``sip-tester``).

Debian builds SIPp without TLS (``sipp -h`` lists no ``l1`` transport), so SIPp speaks TCP to a TLS client tunnel —
a byte pipe, as stunnel would be — that opens TLS to E's 5061 and checks E's certificate against the lab CA. The SIP
dialogue is SIPp's alone (``tests/chain/sipp/register-oauth.xml``): REGISTER, the 407 Bearer challenge, the REGISTER
with the access token of a real login, and CUCM's 200.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from common.streamserve import splice
from lab.running import RunningLab

SCENARIO = Path(__file__).parent / "sipp" / "register-oauth.xml"
UNKNOWN_NODE = Path(__file__).parent / "sipp" / "register-unknown-node.xml"


async def sipp(port: int, scenario: Path, folder: Path, **keys: str) -> tuple[asyncio.subprocess.Process, bytes]:
    """One SIPp call of ``scenario`` over TCP to the tunnel at ``port``, with ``keys`` as its -key values."""
    folder.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        "sipp", f"127.0.0.1:{port}", "-sf", str(scenario), "-t", "t1", "-i", "127.0.0.1", "-p", "0", "-m", "1",
        "-nostdin", "-timeout", "20s", "-timeout_error", "-max_recv_loops", "10",
        *(arg for key, value in keys.items() for arg in ("-key", key, value)),
        "-trace_err", "-error_file", str(folder / "sipp-errors.log"),
        cwd=folder, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process, output


async def tls_tunnel(running: RunningLab) -> asyncio.Server:
    """Plain TCP in, TLS to Expressway-E's SIP port out (what stunnel's client mode does)."""
    address, port = running.resolver.locate(running.lab.sip.edge.host, running.lab.sip.edge.port)
    context = running.resolver.tls.client_context("jabber")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await asyncio.open_connection(address, port, ssl=context,
                                                 server_hostname=running.lab.sip.edge.host)
        await splice((reader, writer), upstream)

    return await asyncio.start_server(pipe, "127.0.0.1", 0)


@pytest.mark.skipif(shutil.which("sipp") is None, reason="SIPp missing: .ci/run installs Debian's sip-tester")
async def test_sipp_registers_through_the_edge_with_a_bearer_token(running: RunningLab, tmp_path: Path) -> None:
    await running.core.sip.wait_status("Active")
    client = running.jabber()
    outcome, _ = await client.login()
    assert outcome.ok, outcome.reason
    tunnel = await tls_tunnel(running)
    port = tunnel.sockets[0].getsockname()[1]
    try:
        process, output = await sipp(port, SCENARIO, tmp_path, device="CSFAOKANLAWON", dn="1000",
                                     cucm=running.lab.clusters[0].listener.host, token=client.access_token)
        # C routes by the Request-URI's CUCM node: a host it never discovered gets 404 from C (core/sipcucm.py)
        unknown, unknown_output = await sipp(port, UNKNOWN_NODE, tmp_path / "unknown", device="CSFAOKANLAWON",
                                             dn="1000", cucm="cucm9.lab.example")
    finally:
        tunnel.close()
    assert unknown.returncode == 0, unknown_output.decode(errors="replace")[-1500:]
    assert 'Event="Search Failed"' in running.log_text("expressway-c")
    errors = (tmp_path / "sipp-errors.log").read_text() if (tmp_path / "sipp-errors.log").exists() else ""
    assert process.returncode == 0, output.decode(errors="replace")[-1500:] + errors[-1500:] + "\n".join(l for l in running.log_text("expressway-e").splitlines() if "TLS" in l)
    registration = running.cucm[0].sip.state.registrations["CSFAOKANLAWON"]
    assert registration.user == "aokanlawon" and registration.auth == "oauth" and registration.port == 5091
    assert "User-Agent: SIPp/3.6 (mrasim)" in running.log_text("expressway-e")
    assert client.access_token not in running.log_text("expressway-e")
