"""TLS on every hop: the login runs over it with connections kept alive, each side checks what the real one checks,
and a bad handshake is logged by both ends in their own words while the node keeps serving."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import ssl

import aiohttp
import pytest

from common.config import Lab
from common.labmodel import CertStaging, TlsConfig
from common.logformats.expressway import parse_log
from common.pki import CertInfo, OTHER_CA_NAME, lab_ca
from common.resolver import NameError_
from common.xmpp.stream import header
from lab.running import RunningLab, start_lab


def edge_lines(running: RunningLab, detail: str) -> list[dict[str, str]]:
    return [dict(line.fields) for line in parse_log(running.log_text("expressway-e"))
            if line.get("Detail") == detail and line.get("Level") != "DEBUG"]


async def test_the_login_runs_over_tls_on_kept_connections(running: RunningLab) -> None:
    outcome, steps = await running.jabber().login()
    assert outcome.ok and len(steps) >= 7
    received = edge_lines(running, "Receive Request")
    assert len(received) == len(steps)
    # one TLS connection (or two: the embedded browser's) carries the whole login, not one handshake per request
    assert len({line["Src-port"] for line in received}) <= 2
    core = parse_log(running.log_text("expressway-c"))
    assert any(line.get("Msg", "").startswith("POST https://expc.lab.example:8443/") for line in core)


async def test_each_listener_presents_its_own_certificate(running: RunningLab) -> None:
    tls = running.resolver.tls
    assert tls is not None
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    for port, name in [(running.edge_port, "lab.example"), (running.cucm[0].running.port, "cucm.lab.example")]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context, server_hostname=name)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        info = CertInfo.of("peer", ssl.DER_cert_to_PEM_cert(der).encode())
        assert name in info.sans


async def test_plain_http_on_the_tls_port_is_closed_logged_and_the_edge_keeps_serving(running: RunningLab) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(f"http://127.0.0.1:{running.edge_port}/OAuthcb") as resp:
                await resp.read()
    reader, writer = await asyncio.open_connection("127.0.0.1", running.cucm[0].running.port)
    writer.write(b"\x00\x01garbage that is not TLS\r\n\r\n")
    assert await reader.read() == b""
    writer.close()
    await running.settle()
    refused = edge_lines(running, "TLS negotiation failed")
    assert refused and refused[0]["Reason"] == "http request" and refused[0]["Dst-port"] == "8443"
    assert "Handshake failed for client connection from IP address [127.0.0.1]" in running.log_text("cucm:cluster1")
    assert (await running.jabber().login())[0].ok


async def test_a_client_certificate_from_an_untrusted_ca_fails_with_the_reason_on_both_ends(
        running: RunningLab) -> None:
    """Expressway-C checks the certificate its peer presents on the traversal link (mutual TLS)."""
    tls = running.resolver.tls
    assert tls is not None
    cert, key = lab_ca(OTHER_CA_NAME)
    (running.state_dir / "stranger.pem").write_bytes(cert)
    (running.state_dir / "stranger.key").write_bytes(key)
    context = ssl.create_default_context(cafile=str(tls.ca_file))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(running.state_dir / "stranger.pem", running.state_dir / "stranger.key")
    # C sends its alert and closes; whether the client reads the alert or the reset behind it is the kernel's race
    with pytest.raises((ssl.SSLError, ConnectionResetError)) as caught:
        await asyncio.open_connection("127.0.0.1", running.core.traffic.port, ssl=context,
                                      server_hostname="expc.lab.example")
    assert isinstance(caught.value, ConnectionResetError) or "unknown ca" in str(caught.value).lower()
    await running.settle()
    line = next(line for line in parse_log(running.log_text("expressway-c"))
                if line.get("Detail") == "TLS negotiation failed")
    assert line.get("Reason") == "certificate verify failed: self-signed certificate"
    assert (await running.jabber().login())[0].ok


async def test_tls_verify_mode_off_lets_c_use_an_untrusted_cucm(lab: Lab) -> None:
    staged = dataclasses.replace(lab, tls=TlsConfig(True, certs=(("cucm:cluster1",
                                                                   CertStaging(signer="self-signed")),)))
    staged = dataclasses.replace(staged, clusters=(dataclasses.replace(staged.clusters[0], tls_verify=False),))
    running = await start_lab(staged)
    try:
        assert (await running.jabber().login())[0].ok
        assert "Core server certificate verification failed" not in running.log_text("expressway-c")
    finally:
        await running.stop()


async def test_the_plain_http_lab_stays_for_speed_comparisons(lab: Lab) -> None:
    running = await start_lab(lab.with_tls(False))
    try:
        assert running.resolver.tls is None
        outcome, steps = await running.jabber().login()
        assert outcome.ok and steps[0].url.startswith("http://expe.lab.example:8443/")
    finally:
        await running.stop()


async def test_jabber_discovers_the_edge_through_the_public_view_only(running: RunningLab) -> None:
    assert (await running.jabber().login())[0].ok
    text = running.log_text("jabber")
    uds = text.index("DNS query _cisco-uds._tcp.lab.example. has failed: DNS name does not exist. (9003)")
    edge = text.index("DNS query _collab-edge._tls.lab.example. has succeeded: expe.lab.example:8443")
    assert uds < edge and "ServiceDiscoveryHandlerResult: SUCCESS" in text
    resolver = running.resolver
    with pytest.raises(NameError_, match="no A record in the public DNS"):
        resolver.locate("cucm.lab.example", 8443, "public")
    assert resolver.srv("_cisco-uds._tcp.lab.example", view="internal")[0].target == "cucm.lab.example"
    assert resolver.locate("expe.lab.example", 8443, "public")[1] == running.edge_port


async def test_xmpp_on_5222_requires_starttls_first(running: RunningLab) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", running.edge.xmpp.port)
    writer.write(header("lab.example", "aokanlawon@lab.example", "").encode())
    first = await reader.readuntil(b"</stream:features>")
    assert b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" in first
    writer.write(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGEAYg==</auth>")
    rest = await reader.read()
    assert b"policy-violation" in rest
    writer.close()
    assert re.search(r"Stream error policy-violation .*before STARTTLS", running.log_text("expressway-e"))
