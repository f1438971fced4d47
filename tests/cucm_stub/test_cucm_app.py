"""The CUCM node over a real loopback socket: wire bytes, every refusal, the log it writes, and what it never logs."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest

from common.clock import LabClock
from common.config import Lab, load_lab
from common.logformats.log4j import parse_log
from common.nodelog import LineSink
from common.tokens import AuthzKeys, KeyRing, read_access_token, read_refresh_token
from cucm_calls import basic
from cucm_stub.app import CucmNode, start_cucm

ADMIN = ("axladmin", "Axl!Pass123")
USER = ("aokanlawon", "Cisco!123")
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
ORIGIN = "http://cucm.lab.example:8443"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def authorize(http: aiohttp.ClientSession, lab: Lab, user: tuple[str, str] = USER) -> str:
    async with http.post("/ssosp/token/authorize_proxy", data={
        "client_id": lab.clients[0].client_id, "response_type": "code", "realm": "local", "state": "1771145038",
    }, headers={"Authorization": basic(*ADMIN), "X-Credentials": basic(*user),
                "User-Agent": "TANDBERG-Video-Communication-Server/X12.5.7"}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        redirect = (await response.json())["redirect_uri"]
    match = re.match(rf"^{re.escape(ORIGIN)}/ssosp/public/OAuthcb#code=([\w-]+)&expires_in=299&realm=local"
                     r"&state=1771145038$", redirect)
    assert match, redirect
    return match.group(1)


async def token(http: aiohttp.ClientSession, lab: Lab, form: dict[str, str]) -> aiohttp.ClientResponse:
    client = lab.clients[0]
    return await http.post("/ssosp/token/access_token", data=form,
                           headers={"Authorization": basic(client.client_id, client.client_secret)})


async def test_mra_login_end_to_end(http: aiohttp.ClientSession, lab: Lab, node: CucmNode, sink: LineSink,
                                    clock: LabClock) -> None:
    """clusterUser → authorize_proxy → access_token → UDS with the token → refresh after the hour."""
    async with http.get("/cucm-uds/clusterUser", params={"username": "aokanlawon"}) as response:
        assert response.status == 200
        assert "<homeCluster" in await response.text()
    code = await authorize(http, lab)
    client_id = lab.clients[0].client_id
    async with await token(http, lab, {"code": code, "client_id": client_id,
                                       "grant_type": "authorization_code"}) as response:
        assert response.status == 200
        assert (response.headers["Cache-Control"], response.headers["Pragma"]) == ("no-store", "no-cache")
        raw = await response.text()
        tokens = await response.json()
    assert raw.startswith('{"expires_in":3600,"token_type":"Bearer","refresh_token":"eyJ')
    assert list(tokens) == ["expires_in", "token_type", "refresh_token", "refresh_token_expires_in", "access_token"]
    ring = KeyRing((node.keys,))
    assert read_access_token(tokens["access_token"], ring, clock.timestamp())["sub"] == "aokanlawon"
    assert read_refresh_token(tokens["refresh_token"], ring, clock.timestamp())["ccid"] == client_id

    async with http.get("/cucm-uds/user/aokanlawon/devices",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}) as response:
        assert response.status == 200
        assert "<name>CSFAOKANLAWON</name>" in await response.text()

    clock.advance(3601)
    async with http.get("/cucm-uds/user/aokanlawon",
                        headers={"Authorization": f"Bearer {tokens['access_token']}"}) as response:
        assert response.status == 401
    async with await token(http, lab, {"grant_type": "refresh_token",
                                       "refresh_token": tokens["refresh_token"]}) as response:
        assert response.status == 200
        renewed = await response.json()
    assert list(renewed) == ["expires_in", "token_type", "access_token"]
    async with http.get("/cucm-uds/user/aokanlawon",
                        headers={"Authorization": f"Bearer {renewed['access_token']}"}) as response:
        assert response.status == 200

    text = sink.text()
    for secret in (code, tokens["access_token"], tokens["refresh_token"], renewed["access_token"],
                   USER[1], ADMIN[1], lab.clients[0].client_secret):
        assert secret not in text
    lines = parse_log(text)
    assert all(re.fullmatch(r"http-bio-8443-exec-\d+", line.thread) for line in lines)
    messages = [line.message for line in lines]
    assert "TokenV2Manager.createTokens:  Issuing Refresh Token" in messages
    assert any(m.startswith('JWT claims beofre encryption:: {"exp":') and '"ctyp":"refresh"' in m for m in messages)
    assert any(re.fullmatch(r"SHA256 sum of the refresh token : [0-9a-f]{64}", m) for m in messages)
    assert sum(m == "TokenV2Manager.createTokens:  Issuing Access Token" for m in messages) == 2
    issue = [line for line in lines if line.category == "token.TokenV2Manager"]
    assert {line.level for line in issue} == {"DEBUG"}
    assert len({line.thread for line in issue[:6]}) == 1, "the six lines of one token request share a thread"


async def test_unauthenticated_uds_bodies_and_headers(http: aiohttp.ClientSession) -> None:
    async with http.get("/cucm-uds/version") as response:
        assert response.headers["Content-Type"] == "application/xml"
        assert await response.text() == (
            f'{DECL}<versionInformation version="14.0.1" uri="{ORIGIN}/cucm-uds/version">'
            "<version>14.0.1.12900-161</version></versionInformation>"
        )
    async with http.get("/cucm-uds/clusterUser?username=aokanlawon") as response:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Expires"] == "Wed, 31 Dec 1969 17:00:00 MST"
        assert await response.text() == (
            f'{DECL}<clusterUser version="14.0.1" uri="{ORIGIN}/cucm-uds/clusterUser?username=aokanlawon">'
            f'<result found="true" uri="{ORIGIN}/cucm-uds/user/aokanlawon" version="14.0.1"/>'
            f'<homeCluster serversUri="{ORIGIN}/cucm-uds/servers">cucm.lab.example</homeCluster></clusterUser>'
        )
    async with http.get("/cucm-uds/clusterUser?username=ghost") as response:
        assert (await response.text()).endswith('<result found="false"/></clusterUser>')
    async with http.get("/cucm-uds/servers") as response:
        assert (await response.text()).endswith("<server>cucm.lab.example</server></servers>")
    async with http.get("/ssosp/ws/public/singleSignOn") as response:
        assert response.status == 200 and response.headers["Content-Type"] == "application/xml"
        assert await response.text() == (
            '<Response><SingleSignOn><Status enabled="false"/><Token reuse="true"/></SingleSignOn></Response>'
        )


async def test_authz_keys_over_the_wire(http: aiohttp.ClientSession, node: CucmNode) -> None:
    async with http.get("/ssosp/token/authz_keys", headers={"Authorization": basic(*ADMIN)}) as response:
        assert response.status == 200
        fetched = AuthzKeys.from_export(await response.json())
    assert fetched.signing.kid == node.keys.signing.kid
    assert fetched.encryption.secret == node.keys.encryption.secret


WSR = 'Basic realm="Cisco Web Services Realm"'
SSOSP = 'Basic realm="ssosp"'
BAD_B64 = "Basic @@@###"


Case = tuple[str, str, dict[str, str], Any, int, "str | None", "str | None"]


def refusals(lab: Lab) -> dict[str, Case]:
    """Every refusal the node makes, by name: method, path, headers, form, status, OAuth error, challenge."""
    jabber = lab.clients[0]
    client = basic(jabber.client_id, jabber.client_secret)
    ok_form = {"client_id": jabber.client_id, "response_type": "code", "realm": "local", "state": "1"}
    proxy = {"Authorization": basic(*ADMIN), "X-Credentials": basic(*USER)}

    def case(name: str, method: str, path: str, status: int, *, headers: dict[str, str] | None = None,
             form: Any = None, error: str | None = None, challenge: str | None = None) -> tuple[str, Case]:
        return name, (method, path, headers or {}, form, status, error, challenge)

    return dict([
        case("clusterUser-missing", "GET", "/cucm-uds/clusterUser", 400),
        case("clusterUser-duplicated", "GET", "/cucm-uds/clusterUser?username=a&username=b", 400),
        case("user-no-auth", "GET", "/cucm-uds/user/aokanlawon", 401, challenge=WSR),
        case("user-bad-b64", "GET", "/cucm-uds/user/aokanlawon", 401, headers={"Authorization": BAD_B64},
             challenge=WSR),
        case("user-other-user", "GET", "/cucm-uds/user/aokanlawon", 401,
             headers={"Authorization": basic("ntanborgeson", "Cisco!456")}, challenge=WSR),
        case("user-bad-bearer", "GET", "/cucm-uds/user/aokanlawon/devices", 401,
             headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, challenge=WSR),
        case("user-unknown-admin", "GET", "/cucm-uds/user/ghost", 404, headers={"Authorization": basic(*ADMIN)}),
        case("devices-unknown-admin", "GET", "/cucm-uds/user/ghost/devices", 404,
             headers={"Authorization": basic(*ADMIN)}),
        case("proxy-no-app-user", "POST", "/ssosp/token/authorize_proxy", 401, form=ok_form,
             headers={"X-Credentials": basic(*USER)}, error="unauthorized_client", challenge=SSOSP),
        case("proxy-bad-b64", "POST", "/ssosp/token/authorize_proxy", 401, form=ok_form,
             headers={"Authorization": BAD_B64, "X-Credentials": basic(*USER)}, error="unauthorized_client"),
        case("proxy-wrong-password", "POST", "/ssosp/token/authorize_proxy", 401, form=ok_form,
             headers={**proxy, "X-Credentials": basic("aokanlawon", "Wr0ng!pw")}, error="access_denied"),
        case("proxy-x-credentials-bad-b64", "POST", "/ssosp/token/authorize_proxy", 401, form=ok_form,
             headers={**proxy, "X-Credentials": BAD_B64}, error="access_denied"),
        case("proxy-mra-off", "POST", "/ssosp/token/authorize_proxy", 403, form=ok_form,
             headers={**proxy, "X-Credentials": basic("nomra", "NoMra!789")}, error="access_denied"),
        case("proxy-unknown-client", "POST", "/ssosp/token/authorize_proxy", 400,
             form={**ok_form, "client_id": "C" + "0" * 64}, headers=proxy, error="invalid_client"),
        case("proxy-response-type", "POST", "/ssosp/token/authorize_proxy", 400,
             form={**ok_form, "response_type": "id_token"}, headers=proxy, error="unsupported_response_type"),
        case("proxy-missing-realm", "POST", "/ssosp/token/authorize_proxy", 400,
             form={k: v for k, v in ok_form.items() if k != "realm"}, headers=proxy, error="invalid_request"),
        case("proxy-duplicated-state", "POST", "/ssosp/token/authorize_proxy", 400,
             form=[*ok_form.items(), ("state", "2")], headers=proxy, error="invalid_request"),
        case("proxy-json-body", "POST", "/ssosp/token/authorize_proxy", 400, form="{}",
             headers={**proxy, "Content-Type": "application/json"}, error="invalid_request"),
        case("token-no-client-auth", "POST", "/ssosp/token/access_token", 401,
             form={"grant_type": "authorization_code", "code": "x"}, error="invalid_client", challenge=SSOSP),
        case("token-bad-b64", "POST", "/ssosp/token/access_token", 401,
             form={"grant_type": "authorization_code", "code": "x"}, headers={"Authorization": BAD_B64},
             error="invalid_client", challenge=SSOSP),
        case("token-wrong-secret", "POST", "/ssosp/token/access_token", 401,
             form={"grant_type": "authorization_code", "code": "x"},
             headers={"Authorization": basic(jabber.client_id, "nope")}, error="invalid_client", challenge=SSOSP),
        case("token-unknown-code", "POST", "/ssosp/token/access_token", 400,
             form={"grant_type": "authorization_code", "code": "x"}, headers={"Authorization": client},
             error="invalid_grant"),
        case("token-bad-refresh", "POST", "/ssosp/token/access_token", 400,
             form={"grant_type": "refresh_token", "refresh_token": "x.y.z"}, headers={"Authorization": client},
             error="invalid_grant"),
        case("token-grant-type", "POST", "/ssosp/token/access_token", 400,
             form={"grant_type": "password"}, headers={"Authorization": client}, error="unsupported_grant_type"),
        case("token-missing-code", "POST", "/ssosp/token/access_token", 400,
             form={"grant_type": "authorization_code"}, headers={"Authorization": client}, error="invalid_request"),
        case("token-duplicated-grant", "POST", "/ssosp/token/access_token", 400,
             form=[("grant_type", "refresh_token"), ("grant_type", "refresh_token")],
             headers={"Authorization": client}, error="invalid_request"),
        case("keys-no-auth", "GET", "/ssosp/token/authz_keys", 401, challenge=WSR),
        case("keys-bad-b64", "GET", "/ssosp/token/authz_keys", 401, headers={"Authorization": BAD_B64},
             challenge=WSR),
        case("keys-end-user", "GET", "/ssosp/token/authz_keys", 401, headers={"Authorization": basic(*USER)},
             challenge=WSR),
        case("unknown-path", "GET", "/ssosp/token/nothing", 404),
        case("uds-unknown", "GET", "/cucm-uds/phones", 404),
        case("wrong-method-proxy", "GET", "/ssosp/token/authorize_proxy", 405),
        case("wrong-method-token", "PUT", "/ssosp/token/access_token", 405),
        case("wrong-method-version", "POST", "/cucm-uds/version", 405),
    ])


@pytest.mark.parametrize("name", list(refusals(load_lab())))
async def test_refusals_over_the_wire(http: aiohttp.ClientSession, sink: LineSink, lab: Lab, name: str) -> None:
    method, path, headers, form, status, error, challenge = refusals(lab)[name]
    async with http.request(method, path, headers=headers, data=form) as response:
        assert response.status == status
        if error is not None:
            assert response.headers["Content-Type"] == "application/json"
            assert (await response.json())["error"] == error
        if challenge is not None:
            assert response.headers["WWW-Authenticate"] == challenge
        elif status != 401:
            assert "WWW-Authenticate" not in response.headers
    if status == 405 or path in ("/ssosp/token/nothing", "/cucm-uds/phones"):
        assert not sink.records
    else:
        assert len(sink.records) == 1, "each refusal writes exactly one line naming its reason"
        line = parse_log(sink.text())[0]
        assert line.level in ("INFO", "ERROR")
        for secret in ("Cisco!123", "Axl!Pass123", "Wr0ng!pw", "NoMra!789", "nope", "x.y.z"):
            assert secret not in line.message


async def test_reused_code_over_the_wire(http: aiohttp.ClientSession, lab: Lab, sink: LineSink) -> None:
    code = await authorize(http, lab)
    form = {"code": code, "client_id": lab.clients[0].client_id, "grant_type": "authorization_code"}
    async with await token(http, lab, form) as response:
        assert response.status == 200
    async with await token(http, lab, form) as response:
        assert response.status == 400
        assert await response.json() == {"error": "invalid_grant",
                                         "error_description": "authorization code already used"}
    assert parse_log(sink.text())[-1].message == "invalid_grant: authorization code already used"
    assert code not in sink.text()


async def test_expired_code_over_the_wire(http: aiohttp.ClientSession, lab: Lab, clock: LabClock) -> None:
    code = await authorize(http, lab)
    clock.advance(300)
    form = {"code": code, "client_id": lab.clients[0].client_id, "grant_type": "authorization_code"}
    async with await token(http, lab, form) as response:
        assert (await response.json())["error_description"] == "authorization code expired"


async def test_tomcat_thread_names_cycle_through_200(http: aiohttp.ClientSession, sink: LineSink) -> None:
    for _ in range(201):
        async with http.get("/cucm-uds/clusterUser") as response:
            assert response.status == 400
    threads = [line.thread for line in parse_log(sink.text())]
    assert threads[0] == "http-bio-8443-exec-1"
    assert threads[199] == "http-bio-8443-exec-200"
    assert threads[200] == "http-bio-8443-exec-1"


async def test_node_generates_its_keys_when_none_are_given(lab: Lab, clock: LabClock) -> None:
    cluster = lab.clusters[0]
    node = await start_cucm(lab, cluster, clock, LineSink())
    try:
        assert node.name == "cucm:cluster1"
        assert node.keys.cluster_uuid == cluster.uuid and node.keys.signing.private_key is not None
        assert node.running.port != 0
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{node.running.port}/ssosp/token/authz_keys",
                                   headers={"Authorization": basic(*ADMIN)}) as response:
                assert (await response.json())["signing_kid"] == node.keys.signing.kid
    finally:
        await node.stop()
