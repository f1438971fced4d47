"""Group 8 — the TLS layer itself, on the lab's default transport: handshakes that never end (silent, cut short,
dribbled a byte at a time: slowloris over TLS), garbage before the ClientHello, a foreign SNI name, a client-initiated
renegotiation, and a client certificate from a CA the lab does not trust on Expressway-C's mutual-TLS port. Each gets
the answer Apache Traffic Server gives (a close, or the default certificate), a log line, never a 500, and the edge
keeps serving. Oversized headers and bodies over TLS are the wire and transaction groups' ``[tls]`` cases."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
from collections.abc import Awaitable, Callable

import pytest

from common.logformats.expressway import parse_log
from common.pki import OTHER_CA_NAME, lab_ca
from tests.hardening.conftest import EDGE_NAME, GROUP, HANDSHAKE_TIMEOUT, Battery, after_group, shapes, status_of

TRANSPORTS = ("tls",)


def client_hello() -> bytes:
    """A real TLS 1.2 ClientHello for Expressway-E, as OpenSSL writes it."""
    context = ssl.create_default_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=EDGE_NAME)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def refusals(battery: Battery, node: str = "expressway-e") -> dict[str, str]:
    """Src-port → Reason of every ``TLS negotiation failed`` line of the node."""
    return {line.get("Src-port", ""): line.get("Reason", "") for line in parse_log(battery.running.log_text(node))
            if line.get("Detail") == "TLS negotiation failed"}


async def closed_by_server(reader: asyncio.StreamReader, deadline: float = 20.0) -> bool:
    try:
        async with asyncio.timeout(deadline):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


async def logged(battery: Battery, port: int, node: str = "expressway-e") -> str:
    """The reason logged for the client port's handshake (polled: the server logs as it closes)."""
    for _ in range(100):
        if str(port) in refusals(battery, node):
            return refusals(battery, node)[str(port)]
        await asyncio.sleep(0.05)
    return ""


Behaviour = Callable[[asyncio.StreamWriter, bytes], Awaitable[None]]


async def silent(writer: asyncio.StreamWriter, hello: bytes) -> None:
    pass


async def cut_short(writer: asyncio.StreamWriter, hello: bytes) -> None:
    writer.write(hello[:len(hello) // 2])


async def dribbled(writer: asyncio.StreamWriter, hello: bytes) -> None:
    """One byte every 50 ms: each byte alone would keep an inactivity timer alive; the whole hello takes longer than
    the handshake timeout."""
    for byte in hello:
        if writer.transport.is_closing():
            return
        writer.write(bytes([byte]))
        await asyncio.sleep(0.05)


STALLS: dict[str, Behaviour] = {"silent": silent, "cut-short": cut_short, "dribbled": dribbled}


@GROUP
async def test_handshakes_that_never_end_are_closed_at_the_timeout_and_logged(battery: Battery) -> None:
    hello = client_hello()
    assert len(hello) * 0.05 > 2 * HANDSHAKE_TIMEOUT, "the dribble must outlast the timeout"

    async def stall(behaviour: Behaviour) -> tuple[int, bool]:
        reader, writer = await asyncio.open_connection("127.0.0.1", battery.running.edge_port)
        port = writer.get_extra_info("sockname")[1]
        sending = asyncio.ensure_future(behaviour(writer, hello))
        closed = await closed_by_server(reader)
        sending.cancel()
        writer.close()
        return port, closed

    outcomes = dict(zip(STALLS, await asyncio.gather(*(stall(b) for b in STALLS.values()))))
    for name, (port, closed) in outcomes.items():
        assert closed, f"{name}: still open"
        assert await logged(battery, port) == "handshake timed out", name


@GROUP
@pytest.mark.parametrize("garbage", [b"\x00\x01garbage\r\n", b"GET / HTTP/1.1\r\n\r\n", b"\x16\x03\x01\xff\xff"])
async def test_garbage_before_the_client_hello_is_closed_and_logged(battery: Battery, garbage: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", battery.running.edge_port)
    port = writer.get_extra_info("sockname")[1]
    writer.write(garbage + client_hello())
    assert await closed_by_server(reader)
    writer.close()
    assert await logged(battery, port)


async def tls_to_edge(battery: Battery, context: ssl.SSLContext, name: str
                      ) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.create_connection(("127.0.0.1", battery.running.edge_port))
    port = sock.getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(sock=sock, ssl=context, server_hostname=name)
    except BaseException:
        sock.close()
        raise
    return port, reader, writer


@GROUP
@pytest.mark.parametrize("name", ["intranet.evil.example", "marker"])
async def test_a_foreign_sni_name_gets_the_default_certificate_and_a_log_line(battery: Battery, name: str) -> None:
    """A scanner that checks no name: the handshake ends with E's own certificate, E logs the name (a dotted host
    name only: anything else may be a secret) and answers HTTP as usual."""
    asked = battery.marker("sni") if name == "marker" else name
    context = ssl.create_default_context(cafile=str(battery.running.resolver.tls.ca_file))  # type: ignore[union-attr]
    context.check_hostname = False
    port, reader, writer = await tls_to_edge(battery, context, asked)
    writer.write(f"GET /{battery.segment}/get_edge_sso?email=aokanlawon@lab.example HTTP/1.1\r\n"
                 f"Host: {battery.host}\r\nConnection: close\r\n\r\n".encode())
    answer = await reader.read()
    writer.close()
    assert status_of(answer) == 200
    lines = [line for line in parse_log(battery.running.log_text("expressway-e"))
             if line.get("Detail") == "TLS server name not on certificate" and line.get("Src-port") == str(port)]
    assert lines and lines[0].get("Servername") == (name if name != "marker" else "<CONCEALED>")
    if name == "marker":
        assert not any(form in battery.running.log_text("expressway-e") for form in shapes(asked))


@GROUP
async def test_a_client_checking_a_foreign_name_refuses_the_certificate(battery: Battery) -> None:
    assert battery.tls is not None
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        await tls_to_edge(battery, battery.tls, "intranet.evil.example")


@GROUP
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl s_client (Debian openssl, .ci/run installs it)")
async def test_a_client_initiated_renegotiation_is_refused_closed_and_logged(battery: Battery) -> None:
    before = list(refusals(battery).values()).count("client renegotiation refused")
    ca = battery.running.resolver.tls.ca_file  # type: ignore[union-attr]
    client = await asyncio.create_subprocess_exec(
        "openssl", "s_client", "-connect", f"127.0.0.1:{battery.running.edge_port}", "-tls1_2",
        "-servername", EDGE_NAME, "-CAfile", str(ca), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert client.stdin is not None and client.stdout is not None
    try:
        async with asyncio.timeout(30):
            while b"Verify return code" not in (line := await client.stdout.readline()):  # the handshake is done
                assert line, "s_client ended before its handshake"
            client.stdin.write(b"R\n")  # s_client's command: renegotiate
            out = await client.stdout.read()
            await client.wait()
    finally:
        if client.returncode is None:
            client.kill()
            await client.wait()
    assert b"RENEGOTIATING" in out and b"no renegotiation" in out, out[-400:]
    for _ in range(100):
        if list(refusals(battery).values()).count("client renegotiation refused") > before:
            break
        await asyncio.sleep(0.05)
    assert list(refusals(battery).values()).count("client renegotiation refused") == before + 1


@GROUP
async def test_a_client_certificate_from_a_foreign_ca_is_refused_on_the_mutual_tls_port(battery: Battery) -> None:
    """Expressway-C's traffic server asks its peer for a certificate and checks any it gets (docs/transport.md)."""
    lab_tls = battery.running.resolver.tls
    assert lab_tls is not None
    cert, key = lab_ca(OTHER_CA_NAME)
    stranger = battery.running.state_dir / "hardening-stranger"
    stranger.with_suffix(".pem").write_bytes(cert)
    stranger.with_suffix(".key").write_bytes(key)
    context = ssl.create_default_context(cafile=str(lab_tls.ca_file))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(stranger.with_suffix(".pem"), stranger.with_suffix(".key"))
    sock = socket.create_connection(("127.0.0.1", battery.running.core.traffic.port))
    port = sock.getsockname()[1]
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        await asyncio.open_connection(sock=sock, ssl=context, server_hostname="expc.lab.example")
    sock.close()
    assert await logged(battery, port, "expressway-c") == "certificate verify failed: self-signed certificate"


@GROUP
async def test_after_the_tls_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    await after_group(battery)
