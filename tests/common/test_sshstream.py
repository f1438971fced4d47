"""TLS straight over a non-socket transport (common/sshstream.py), as E and C run it over the tunnel's SSH channels:
a verified handshake, data both ways, close_notify seen by the peer, and a handshake that never comes ends at the
timeout with the transport closed."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pytest

from common.config import load_lab
from common.sshstream import feed, start_tls
from common.tls import LabTls
from tests.probes import wait_for


class Pipe(asyncio.Transport):
    """One end of an in-memory byte pipe: what it writes reaches the other end's protocol on the next loop turn."""

    def __init__(self) -> None:
        super().__init__({"peername": ("127.0.0.1", 40000)})
        self.peer: Pipe | None = None
        self.protocol: asyncio.BaseProtocol | None = None
        self.closed = False

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self.protocol is not None
        return self.protocol

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert self.peer is not None
        peer = self.peer
        asyncio.get_running_loop().call_soon(lambda: peer.closed or feed(peer.get_protocol(), bytes(data)))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            assert self.peer is not None
            peer = self.peer
            asyncio.get_running_loop().call_soon(lambda: peer.get_protocol().connection_lost(None))

    abort = close

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class Collect(asyncio.Protocol):
    def __init__(self) -> None:
        self.data, self.eof, self.lost = b"", asyncio.Event(), asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool:
        self.eof.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LabTls:
    made = LabTls.prepare(load_lab(), Path(tmp_path_factory.mktemp("pki")))
    assert made is not None
    return made


def pair() -> tuple[Pipe, Pipe]:
    a, b = Pipe(), Pipe()
    a.peer, b.peer = b, a
    return a, b


async def test_tls_over_a_pipe_verifies_carries_both_ways_and_ends_with_close_notify(tls: LabTls) -> None:
    client_end, server_end = pair()
    client_app, server_app = Collect(), Collect()
    context = tls.client_context("expressway-e", "expc.lab.example")
    assert isinstance(context, ssl.SSLContext)
    client, server = await asyncio.gather(
        start_tls(client_end, client_app, context, server_side=False, server_hostname="expc.lab.example"),
        start_tls(server_end, server_app, tls.server_context("expressway-c"), server_side=True))
    assert "expc.lab.example" in str(client.get_extra_info("peercert")["subjectAltName"])
    assert server.get_extra_info("peername") == ("127.0.0.1", 40000), "the channel's own details show through"
    client.set_protocol(client_app)
    server.set_protocol(server_app)
    client.write(b"GET / HTTP/1.1\r\n\r\n")
    server.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert await wait_for(lambda: server_app.data and client_app.data)
    assert (server_app.data, client_app.data) == (b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 200 OK\r\n\r\n")
    client.close()
    await asyncio.wait_for(server_app.eof.wait(), 5)  # the peer's close_notify, then the end of the channel
    await asyncio.wait_for(server_app.lost.wait(), 5)


async def test_a_server_name_the_certificate_does_not_carry_is_refused(tls: LabTls) -> None:
    client_end, server_end = pair()
    context = tls.client_context("expressway-e", "cucm.lab.example")
    assert isinstance(context, ssl.SSLContext)
    results = await asyncio.gather(
        start_tls(client_end, Collect(), context, server_side=False, server_hostname="cucm.lab.example"),
        start_tls(server_end, Collect(), tls.server_context("expressway-c"), server_side=True),
        return_exceptions=True)
    assert isinstance(results[0], ssl.SSLCertVerificationError) and "Hostname mismatch" in str(results[0])
    assert isinstance(results[1], (ssl.SSLError, ConnectionError)), "the server hears of it too"
    assert client_end.closed


async def test_a_handshake_that_never_comes_ends_at_the_timeout(tls: LabTls) -> None:
    _, server_end = pair()
    with pytest.raises(TimeoutError):
        await start_tls(server_end, Collect(), tls.server_context("expressway-c"), server_side=True,
                        handshake_timeout=0.05)
    assert server_end.closed
