"""Shared fixtures: the default lab on free loopback ports, started for a test and stopped after it."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from common.config import Lab, load_lab
from common.domain import encode_segment
from lab.running import RunningLab, start_lab
from tests.catalogue import CataloguePlays


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


@pytest.fixture(scope="session")
def saml_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The IdP's and Expressway-C's SAML signing keys, made once per test session (RSA generation is the slow part
    of starting an SSO lab) and copied into each SSO lab's state directory, where the nodes look for them first."""
    import time

    from common.saml import Identity

    root = tmp_path_factory.mktemp("saml-keys")
    Identity.load_or_generate(root / "idp", "idp-signing", "idp.lab.example", time.time())
    Identity.load_or_generate(root / "expressway-c" / "saml", "sp-signing", "expc.lab.example", time.time())
    return root


@pytest.fixture
def sso_lab() -> Lab:
    return load_lab().with_sso().with_ephemeral_ports()


@pytest.fixture
async def sso(sso_lab: Lab, saml_keys: Path, tmp_path: Path) -> AsyncIterator[RunningLab]:
    state = tmp_path / "state"
    shutil.copytree(saml_keys, state)
    started = await start_lab(sso_lab, state_dir=state)
    try:
        yield started
    finally:
        await started.stop()


@pytest.fixture(scope="session")
def catalogue_plays(tmp_path_factory: pytest.TempPathFactory) -> CataloguePlays:
    return CataloguePlays(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(autouse=True)
def _keep_the_event_loop_policy():
    """``mrasim``'s main() installs uvloop's policy for the process; a test that calls main() in-process must not
    leave it to the tests after it."""
    policy = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(policy)
