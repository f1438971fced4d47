"""The SIP/TLS listener keeps the bytes a client sends before the handshake starts: uvloop reads a new connection
even when ``connection_made`` pauses it, and a ClientHello dropped there left the handshake to its 10 s timeout
(Expressway-C's SIP zone to E then came up only on its retry, and ``up --processes`` took 5 s longer)."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import uvloop

from common.config import load_lab
from common.sip.link import SipLink, serve_sip
from common.tls import LabTls


def test_every_client_hello_sent_at_once_is_answered_on_uvloop(tmp_path: Path) -> None:
    lab = load_lab().with_ephemeral_ports()
    tls = LabTls.prepare(lab, tmp_path)
    assert tls is not None
    client = tls.client_context("expressway-c")
    assert isinstance(client, ssl.SSLContext)

    async def served(link: SipLink) -> None:
        await link.reader.read()

    async def main() -> int:
        server = await serve_sip(lab.sip.zone, tls.sip_server_context("expressway-e:zone"), served)
        done = 0
        try:
            for _ in range(20):  # the ClientHello leaves with the connection's first turn, before the accept task
                _, writer = await asyncio.wait_for(asyncio.open_connection(
                    "127.0.0.1", server.port, ssl=client, server_hostname=lab.sip.zone.host), 5)
                writer.close()
                done += 1
        finally:
            await server.stop()
        return done

    assert uvloop.run(main()) == 20
