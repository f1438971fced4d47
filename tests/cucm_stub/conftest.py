"""Fixtures for the CUCM stub: the default lab widened with the cases the tests need, keys made once per module.

The lab adds to ``lab/labs/default.toml`` a second OAuth client, a user whose profile does not allow MRA and a
second cluster (not started) homing one user, so every branch has data without a second lab file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest

from common.clock import LabClock
from common.config import ClusterConfig, Device, Lab, OAuthClient, User, load_lab
from common.nodelog import LineSink
from common.tokens import AuthzKeys
from cucm_stub.app import CucmNode, start_cucm
from common.directory import Directory
from cucm_stub.ssosp import SsospServer
from cucm_stub.uds import UdsService

OTHER_CLIENT = OAuthClient("C" + "ab" * 32, "other-client-secret", "Other client")
MRA_OFF = User("nomra", "NoMra!789", "cluster1", "Nora Mraless", False,
               (Device("CSFNOMRA", "Cisco Unified Client Services Framework", ""),))
REMOTE = User("remoteuser", "Remote!000", "cluster2", "Remy Remote", True, ())
HOST = "cucm.lab.example:8443"


def make_lab() -> Lab:
    """The default lab over plain HTTP: these tests drive one CUCM node directly (TLS is tests/chain's)."""
    lab = load_lab().with_ephemeral_ports().with_tls(False)
    first = lab.clusters[0]
    second = dataclasses.replace(
        first, name="cluster2", uuid="0b1e3c55-7d3f-4c4e-9a49-2f1c2b8de001",
        listener=dataclasses.replace(first.listener, host="cucm2.lab.example"),
    )
    return dataclasses.replace(
        lab, clusters=(first, second), users=(*lab.users, MRA_OFF, REMOTE), clients=(*lab.clients, OTHER_CLIENT)
    )


@pytest.fixture(scope="module")
def lab() -> Lab:
    return make_lab()


@pytest.fixture(scope="module")
def cluster(lab: Lab) -> ClusterConfig:
    return lab.clusters[0]


@pytest.fixture(scope="module")
def keys(cluster: ClusterConfig) -> AuthzKeys:
    return AuthzKeys.generate(cluster.uuid)


@pytest.fixture(scope="module")
def other_keys(cluster: ClusterConfig) -> AuthzKeys:
    """Keys of the same cluster after ``set key regen authz signing``: same issuer, different kids."""
    return AuthzKeys.generate(cluster.uuid)


@pytest.fixture
def clock() -> LabClock:
    return LabClock()


@pytest.fixture
def directory(lab: Lab, cluster: ClusterConfig) -> Directory:
    return Directory(lab, cluster)


@pytest.fixture
def server(lab: Lab, cluster: ClusterConfig, directory: Directory, keys: AuthzKeys, clock: LabClock) -> SsospServer:
    return SsospServer(cluster, lab.clients, directory, keys, clock)


@pytest.fixture
def uds(cluster: ClusterConfig, directory: Directory, keys: AuthzKeys, clock: LabClock) -> UdsService:
    return UdsService(cluster, directory, keys, clock)


@pytest.fixture
def sink() -> LineSink:
    return LineSink()


@pytest.fixture
async def node(lab: Lab, cluster: ClusterConfig, clock: LabClock, sink: LineSink,
               keys: AuthzKeys) -> AsyncIterator[CucmNode]:
    running = await start_cucm(lab, cluster, clock, sink, keys)
    yield running
    await running.stop()


@pytest.fixture
async def http(node: CucmNode) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=f"http://127.0.0.1:{node.running.port}", headers={"Host": HOST}
    ) as session:
        yield session


@pytest.fixture
def jabber(lab: Lab) -> OAuthClient:
    """The Jabber client registered on CUCM (the lab's first client)."""
    return lab.clients[0]


@pytest.fixture
def other(lab: Lab) -> OAuthClient:
    return lab.clients[1]
