"""Expressway-C alone, driven as Expressway-E drives it, in front of a real CUCM node; plus its pure decisions."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from common import traversal
from common.basic import basic_header
from common.clock import LabClock
from common.config import Lab
from common.domain import ProxyDescriptor, encode_segment
from common.edgexml import EdgeConfig, SSOResult
from common.logformats.expressway import parse_log
from common.nodelog import LineSink
from common.resolver import LabResolver
from common.tokens import AuthzKeys, KeyRing, access_claims, issue_access_token
from core.credentialmanager import inspect
from core.node import CoreNode, start_core
from core.provisioning import build_edge_config
from core.allowlist import RuleError, normal_path, parse_rule
from core.proxy import allowed
from cucm_stub.app import CucmNode, start_cucm

SEG = encode_segment("lab.example")


@pytest.fixture
async def core_alone(lab: Lab) -> AsyncIterator[tuple[CoreNode, CucmNode, LineSink]]:
    clock = LabClock()
    resolver = LabResolver.from_lab(lab)
    cucm = await start_cucm(lab, lab.clusters[0], clock, LineSink())
    resolver.bind(lab.clusters[0].listener, cucm.running.port)
    sink = LineSink()
    core = await start_core(lab, clock, resolver, sink)
    yield core, cucm, sink
    await core.stop()
    await cucm.stop()


def url(core: CoreNode, path: str) -> str:
    return f"http://127.0.0.1:{core.traffic.port}{path}"


def from_edge(core: CoreNode, skew: float = 0.0) -> aiohttp.ClientSession:
    """A session that talks to C as Expressway-E does: over the traversal link, with its authentication stamp."""
    stamp = traversal.stamp(core.state.config.traversal_password, core.state.clock.timestamp() + skew)
    return aiohttp.ClientSession(headers={traversal.HEADER: stamp})


async def test_core_fetches_the_cluster_keys_at_start(core_alone) -> None:  # type: ignore[no-untyped-def]
    core, cucm, sink = core_alone
    assert core.state.keys.ring.signing(cucm.keys.signing.kid).checksum == cucm.keys.signing.checksum
    assert "Axl!Pass123" not in sink.text()


async def test_core_get_edge_sso_reports_token_reuse_from_oauth_local(core_alone) -> None:  # type: ignore[no-untyped-def]
    core, _, _ = core_alone
    async with from_edge(core) as session:
        async with session.get(url(core, f"/{SEG}/get_edge_sso?email=aokanlawon@lab.example")) as resp:
            assert resp.headers["Server"] == "CE_C ECS"
            assert SSOResult.from_xml(await resp.read()) == SSOResult(False, True)
        core.state.config = dataclasses.replace(core.state.config, oauth_local=False)
        async with session.get(url(core, f"/{SEG}/get_edge_sso?email=aokanlawon@lab.example")) as resp:
            assert SSOResult.from_xml(await resp.read()).token_reuse is False


async def test_core_issues_the_code_redirect_and_logs_it(core_alone) -> None:  # type: ignore[no-untyped-def]
    core, _, sink = core_alone
    form = {"username": "aokanlawon", "password": "Cisco!123", "response_type": "code", "realm": "local",
            "client_id": "C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1", "state": "7"}
    async with from_edge(core) as session:
        async with session.post(url(core, f"/{SEG}/localauthentication"), data=form, allow_redirects=False) as resp:
            assert resp.status == 302
            location = resp.headers["Location"]
    assert location.startswith("/OAuthcb#code=") and location.endswith("&expires_in=299&realm=local&state=7")
    lines = parse_log(sink.text())
    sent = [line for line in lines if line.get("Action") == "Send"]
    assert [line.get("Url") for line in sent][-2:] == [
        "https://cucm.lab.example:8443/cucm-uds/clusterUser?username=<CONCEALED>",
        "https://cucm.lab.example:8443/ssosp/token/authorize_proxy",
    ]
    proxy_block = sent[-1].block or ""
    assert "X-Credentials: <CONCEALED>" in proxy_block and "Authorization: <CONCEALED>" in proxy_block
    assert "User-Agent: ['TANDBERG-Video-Communication-Server/X14.2.5']" in proxy_block
    assert location.split("code=")[1].split("&")[0] not in sink.text()


async def test_core_get_edge_config_with_basic_credentials(core_alone) -> None:  # type: ignore[no-untyped-def]
    core, _, _ = core_alone
    async with from_edge(core) as session:
        async with session.get(url(core, f"/{SEG}/get_edge_config?service_name=_cisco-uds&service_name=_cuplogin"),
                               headers={"Authorization": basic_header("aokanlawon", "Cisco!123")}) as resp:
            assert resp.status == 200
            config = EdgeConfig.from_xml(await resp.read())
    assert config.user_uds[0].address == "cucm.lab.example"
    assert [s.name for s in config.services] == ["_cisco-uds", "_cuplogin"]
    assert config.service("_cuplogin").servers[0].address == "imp.lab.example"  # type: ignore[union-attr]
    assert config.xmpp_edge[0].address == "expe.lab.example" and config.xmpp_edge[0].port == 5222


def test_edge_config_for_a_user_without_home_cluster_has_no_uds_server(lab: Lab) -> None:
    class State:
        pass

    state = State()
    state.lab, state.config = lab, lab.core  # type: ignore[attr-defined]
    config = EdgeConfig.from_xml(build_edge_config(state, ["_cisco-uds"], None, ()).to_xml())  # type: ignore[arg-type]
    assert config.user_uds == ()
    assert config.service("_cisco-uds").error == "NameError"  # type: ignore[union-attr]


def test_allow_list_has_discovered_nodes_and_manual_entries(lab: Lab) -> None:
    class State:
        pass

    state = State()
    state.lab = lab  # type: ignore[attr-defined]
    state.config = dataclasses.replace(lab.core, http_allow_list=("unity.lab.example:443",))  # type: ignore[attr-defined]
    uds = ProxyDescriptor("lab.example", "https", "cucm.lab.example", 8443)
    assert allowed(state, uds, "/cucm-uds/user/aokanlawon")  # type: ignore[arg-type]
    assert allowed(state, ProxyDescriptor("lab.example", "http", "cucm.lab.example", 6970), "/SEPX.cnf.xml")  # type: ignore[arg-type]
    assert allowed(state, ProxyDescriptor("lab.example", "https", "imp.lab.example", 8443),  # type: ignore[arg-type]
                   "/EPASSoap/service/v80", "POST")
    assert allowed(state, ProxyDescriptor("lab.example", "https", "unity.lab.example", 443), "/anything", "PUT")  # type: ignore[arg-type]
    assert not allowed(state, ProxyDescriptor("lab.example", "http", "cucm.lab.example", 22))  # type: ignore[arg-type]


@pytest.mark.parametrize(("path", "method"), [
    ("/ssosp/token/authz_keys", "GET"), ("/ssosp/token/revoke", "GET"), ("/ssosp/token/revoke", "POST"),
    ("/mrasim/cli", "POST"), ("/ssosp/token/access_token", "POST"), ("/cucm-uds/user/aokanlawon", "POST"),
    ("/cucm-uds/user/aokanlawon", "DELETE"), ("/", "GET"), ("/cucm-udsx/user", "GET"),
])
def test_automatic_rules_cover_only_what_mra_clients_use(lab: Lab, path: str, method: str) -> None:
    class State:
        pass

    state = State()
    state.lab, state.config = lab, lab.core  # type: ignore[attr-defined]
    assert not allowed(state, ProxyDescriptor("lab.example", "https", "cucm.lab.example", 8443), path, method)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("intranet.lab.example", [("https", "intranet.lab.example", 8443, "/", "prefix"),
                              ("https", "intranet.lab.example", 6970, "/", "prefix")]),
    ("intranet.lab.example:80", [("https", "intranet.lab.example", 80, "/", "prefix")]),
    ("https://wiki.lab.example/docs/ GET,HEAD", [("https", "wiki.lab.example", 443, "/docs/", "prefix")]),
    ("http://tftp.lab.example:6970/SEP.cnf.xml GET exact", [("http", "tftp.lab.example", 6970, "/SEP.cnf.xml",
                                                              "exact")]),
])
def test_manual_rules_are_read_with_url_methods_and_match_type(text: str, expected: list) -> None:  # type: ignore[type-arg]
    rules = parse_rule(text)
    assert [(r.scheme, r.host, r.port, r.path, r.match) for r in rules] == expected


@pytest.mark.parametrize("text", ["", "https://", "host:99999", "host/path BREW", "a b c d"])
def test_a_manual_rule_that_cannot_be_read_is_refused(text: str) -> None:
    with pytest.raises(RuleError):
        parse_rule(text)


@pytest.mark.parametrize(("raw", "path", "ok"), [
    ("/cucm-uds/user/a", "/cucm-uds/user/a", True),
    ("/cucm-uds/../ssosp/token/authz_keys", "/cucm-uds/../ssosp/token/authz_keys", False),
    ("/cucm-uds/%2e%2e/ssosp", "/cucm-uds/../ssosp", False),
    ("/cucm-uds%2F..%2Fssosp", "/cucm-uds/../ssosp", False),
    ("/cucm-uds//x", "/cucm-uds//x", False),
    ("/cucm-uds/%5Cx", "/cucm-uds/\\x", False),
    ("/cucm-uds/./x", "/cucm-uds/./x", False),
])
def test_a_path_not_in_normal_form_never_matches(raw: str, path: str, ok: bool) -> None:
    assert normal_path(raw, path) is ok


def test_oauthinspector_verdicts() -> None:
    keys = AuthzKeys.generate("11111111-2222-3333-4444-555555555555")
    ring = KeyRing()
    ring.add(keys, issuer="cucm.lab.example")
    now = time.time()
    token = issue_access_token(keys, access_claims(keys.cluster_uuid, "u1", "C" + "0" * 64, now, 3600))
    accepted = inspect(token, "access", ring, now)
    assert (accepted.accepted, accepted.user, accepted.reason, accepted.issuer) == (
        True, "u1", "Matched AuthZ key", "cucm.lab.example")
    assert inspect(token, "access", ring, now + 3600).reason == "Token expired"
    assert inspect(token, "access", KeyRing(), now).reason == "No matching AuthZ key"
    assert inspect(token, "bogus", ring, now).reason == "Unsupported request type"


async def test_core_refuses_requests_without_a_good_traversal_stamp(core_alone) -> None:  # type: ignore[no-untyped-def]
    core, _, sink = core_alone
    path = url(core, f"/{SEG}/get_edge_sso?email=aokanlawon@lab.example")
    async with aiohttp.ClientSession() as session:
        async with session.get(path) as resp:
            assert resp.status == 403
        async with session.get(path, headers={traversal.HEADER: "1:forged"}) as resp:
            assert resp.status == 403
    async with from_edge(core, skew=-600) as session:
        async with session.get(path) as resp:
            assert resp.status == 403
            assert "outside the allowed" in await resp.text()
    async with from_edge(core) as session:
        async with session.get(path) as resp:
            assert resp.status == 200
    reasons = [line.get("Reason") for line in parse_log(sink.text())
               if line.get("Detail") == "Traversal authentication failed"]
    assert reasons[:2] == ["no traversal authentication", "traversal credentials do not match"]
    assert core.state.config.traversal_password not in sink.text()
