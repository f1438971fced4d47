"""Shared fixtures: the default lab on free loopback ports, started for a test and stopped after it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import ssl

import aiohttp
import pytest

from common.config import Lab, load_lab
from common.domain import encode_segment
from lab.running import RunningLab, start_lab


@pytest.fixture
def lab() -> Lab:
    return load_lab().with_ephemeral_ports()


@pytest.fixture
async def running(lab: Lab) -> AsyncIterator[RunningLab]:
    started = await start_lab(lab)
    try:
        yield started
    finally:
        await started.stop()


def node_url(running: RunningLab, port: int, path: str = "") -> str:
    """A node's loopback URL, https when the lab runs TLS (use with :func:`loose_session`)."""
    return f"{'https' if running.resolver.tls else 'http'}://127.0.0.1:{port}{path}"


def loose_session() -> aiohttp.ClientSession:
    """A client for a node's loopback address: over TLS it checks no certificate (127.0.0.1 is on none)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))


def lab_trust(running: RunningLab) -> ssl.SSLContext | None:
    """What a client that trusts the lab CA verifies with (``curl --cacert <state>/pki/ca.pem``)."""
    tls = running.resolver.tls
    return ssl.create_default_context(cafile=str(tls.ca_file)) if tls else None


class EdgeClient:
    """An HTTPS client pointed at Expressway-E, as curl would be (``--cacert`` the lab CA, ``--resolve`` to the
    loopback port): no lab resolver, and E's certificate checked for the services domain, as Jabber checks it."""

    def __init__(self, running: RunningLab, session: aiohttp.ClientSession) -> None:
        self.running = running
        self.session = session
        self.base = node_url(running, running.edge_port)
        self.segment = encode_segment(running.lab.domain)
        self.host = f"{running.lab.edge.listener.host}:{running.lab.edge.listener.port}"
        trust = lab_trust(running)
        self.tls: dict[str, object] = {"ssl": trust, "server_hostname": running.lab.domain} if trust else {}

    def request(self, method: str, path: str, **kwargs: object) -> aiohttp.client._RequestContextManager:
        headers = {"Host": self.host, **dict(kwargs.pop("headers", {}) or {})}  # type: ignore[arg-type]
        return self.session.request(method, f"{self.base}{path}", headers=headers, allow_redirects=False,
                                    **self.tls, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def edge(running: RunningLab) -> AsyncIterator[EdgeClient]:
    async with aiohttp.ClientSession() as session:
        yield EdgeClient(running, session)
