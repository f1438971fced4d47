"""The bad-input table of the backbone issue: each gets the real product's answer, a log line, and the lab keeps
serving. Every test ends by checking that a healthy request still works."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from common.basic import basic_header
from common.domain import ProxyDescriptor, encode_segment
from common.logformats.expressway import parse_log
from lab.running import RunningLab
from tests.conftest import EdgeClient

CLIENT_ID = "C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1"
OAUTH = [("response_type", "code"), ("realm", "local"), ("client_id", CLIENT_ID),
         ("device_id", "2c23dad7-ab7e-4686-a461-b23cffbaa15e"), ("email", "aokanlawon@lab.example"),
         ("state", "1771145038")]


async def still_serving(edge: EdgeClient) -> None:
    async with edge.request("GET", f"/{edge.segment}/get_edge_sso?email=aokanlawon@lab.example") as resp:
        assert resp.status == 200
        assert b'<Token reuse="true"/>' in await resp.read()


def c_lines(running: RunningLab) -> list:  # type: ignore[type-arg]
    return parse_log(running.log_text("expressway-c"))


def e_lines(running: RunningLab) -> list:  # type: ignore[type-arg]
    return parse_log(running.log_text("expressway-e"))


async def local_login(edge: EdgeClient, user: str, password: str, oauth: list[tuple[str, str]] = OAUTH):
    form = urlencode([("username", user), ("password", password), *oauth])
    return edge.request("POST", f"/{edge.segment}/localauthentication", data=form,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})


async def code_for(edge: EdgeClient) -> str:
    async with await local_login(edge, "aokanlawon", "Cisco!123") as resp:
        assert resp.status == 302
        return re.search(r"code=([^&]+)", resp.headers["Location"]).group(1)  # type: ignore[union-attr]


async def token_request(edge: EdgeClient, code: str):  # type: ignore[no-untyped-def]
    form = urlencode([("grant_type", "authorization_code"), ("code", code), ("client_id", CLIENT_ID)])
    auth = basic_header(CLIENT_ID, edge.running.lab.clients[0].client_secret)
    return edge.request("POST", f"/{edge.segment}/access_token", data=form,
                        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth})


async def test_unknown_user_is_refused_after_cluster_user_says_not_found(running: RunningLab, edge: EdgeClient) -> None:
    async with await local_login(edge, "nosuchuser", "x") as resp:
        assert resp.status == 401
    lines = c_lines(running)
    assert any('found="false"' in (line.block or "") for line in lines if line.get("Action") == "Received")
    assert any(line.get("Detail") == "Failed authorization" and line.get("Reason") == "User not found"
               for line in lines)
    await still_serving(edge)


async def test_wrong_password_on_the_oauth_path_is_refused_by_cucm(running: RunningLab, edge: EdgeClient) -> None:
    async with await local_login(edge, "aokanlawon", "wrong") as resp:
        assert resp.status == 401
    failed = [line for line in c_lines(running) if line.get("Detail") == "Failed authorization"]
    assert failed and "access_denied" in (failed[0].get("Reason") or "")
    await still_serving(edge)


async def test_wrong_password_on_the_credential_path_gets_cisco_edge_401(running: RunningLab, edge: EdgeClient) -> None:
    url = f"/{edge.segment}/get_edge_config?service_name=_cisco-uds"
    async with edge.request("GET", url, headers={"Authorization": basic_header("aokanlawon", "wrong")}) as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == 'Basic realm="Cisco-Edge"'
        assert resp.headers["Server"] == "CE_C ECS"
    assert any(line.get("Detail") == "Authentication failed" and line.get("Username") == "aokanlawon"
               for line in c_lines(running))
    assert any(line.get("Event") == "Sending HTTP error response" and line.get("Status") == "401"
               for line in e_lines(running))
    async with edge.request("GET", url, headers={"Authorization": basic_header("aokanlawon", "Cisco!123")}) as resp:
        assert resp.status == 200
        assert resp.headers["Server"] == "CE_C ECS"
        assert "X-Auth=" in resp.headers["Set-Cookie"] and "Domain=.lab.example" in resp.headers["Set-Cookie"]


async def test_malformed_base64_domain_segment_is_refused_at_the_edge(running: RunningLab, edge: EdgeClient) -> None:
    async with edge.request("GET", "/%21%21%21/get_edge_sso?email=a@b") as resp:
        assert resp.status == 403
        assert resp.headers["Server"] == "CE_E"
    assert any("malformed domain segment" in (line.get("Reason") or "") for line in e_lines(running))
    assert "Receive Request" not in running.log_text("expressway-c")
    await still_serving(edge)


async def test_domain_not_configured_for_mra_gets_403_from_ce_e(running: RunningLab, edge: EdgeClient) -> None:
    async with edge.request("GET", f"/{encode_segment('other.example')}/get_edge_sso?email=a@other.example") as resp:
        assert resp.status == 403
        assert resp.headers["Server"] == "CE_E"
    assert any(line.get("Event") == "Sending HTTP error response" and line.get("Status") == "403"
               and line.get("Reason") == "Forbidden" for line in e_lines(running))
    await still_serving(edge)


async def test_missing_or_repeated_oauth_parameters_get_400(running: RunningLab, edge: EdgeClient) -> None:
    missing = urlencode([p for p in OAUTH if p[0] != "client_id"])
    async with edge.request("GET", f"/{edge.segment}/authorize?{missing}") as resp:
        assert resp.status == 400
        assert "client_id" in (await resp.json())["error_description"]
    repeated = urlencode([*OAUTH, ("state", "2")])
    async with edge.request("GET", f"/{edge.segment}/authorize?{repeated}") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_request"
    async with await local_login(edge, "aokanlawon", "Cisco!123", [*OAUTH, ("client_id", CLIENT_ID)]) as resp:
        assert resp.status == 400
    await still_serving(edge)


async def test_unknown_client_id_is_refused_by_cucm(running: RunningLab, edge: EdgeClient) -> None:
    stranger = [(k, "C" + "0" * 64 if k == "client_id" else v) for k, v in OAUTH]
    async with await local_login(edge, "aokanlawon", "Cisco!123", stranger) as resp:
        assert resp.status == 400
    assert "invalid_client" in running.log_text("expressway-c")
    await still_serving(edge)


async def test_a_reused_authorization_code_is_invalid_grant(running: RunningLab, edge: EdgeClient) -> None:
    code = await code_for(edge)
    async with await token_request(edge, code) as resp:
        assert resp.status == 200
        assert set(await resp.json()) == {"expires_in", "token_type", "refresh_token", "refresh_token_expires_in",
                                          "access_token"}
    async with await token_request(edge, code) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"
    await still_serving(edge)


async def test_an_expired_authorization_code_is_invalid_grant(running: RunningLab, edge: EdgeClient) -> None:
    code = await code_for(edge)
    running.clock.advance(300)
    async with await token_request(edge, code) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"
    await still_serving(edge)


async def test_proxied_url_to_a_host_off_the_allow_list_is_403(running: RunningLab, edge: EdgeClient) -> None:
    outside = ProxyDescriptor("lab.example", "http", "intranet.lab.example", 80).encode()
    async with edge.request("GET", f"/{outside}/secret", headers={"Authorization": basic_header("aokanlawon", "Cisco!123")}) as resp:
        assert resp.status == 403
    assert any(line.get("Detail") == "HTTP allow list check failed" for line in c_lines(running))
    await still_serving(edge)


async def test_forged_or_tampered_bearer_tokens_are_refused(running: RunningLab, edge: EdgeClient) -> None:
    code = await code_for(edge)
    async with await token_request(edge, code) as resp:
        access = (await resp.json())["access_token"]
    header, payload, signature = access.split(".")
    tampered = f"{header}.{payload[:-4]}AAAA.{signature}"
    forged = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJwcml2YXRlIjoieCJ9."
    url = f"/{edge.segment}/get_edge_config?service_name=_cisco-uds"
    for token in (tampered, forged, "not-a-token"):
        async with edge.request("GET", url, headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == 401
    rejected = [line for line in c_lines(running) if line.get("Detail") == "Access Token rejected"]
    assert len(rejected) == 3
    async with edge.request("GET", url, headers={"Authorization": f"Bearer {access}"}) as resp:
        assert resp.status == 200


async def test_oversized_headers_get_400_and_a_log_line(running: RunningLab, edge: EdgeClient) -> None:
    async with edge.request("GET", f"/{edge.segment}/get_edge_sso", headers={"X-Big": "a" * 20000}) as resp:
        assert resp.status == 400
    assert any(line.get("Event") == "Sending HTTP error response" and line.get("Status") == "400"
               for line in e_lines(running))
    await still_serving(edge)


async def test_a_wrong_client_secret_gets_401_invalid_client_with_a_challenge(running: RunningLab,
                                                                              edge: EdgeClient) -> None:
    """RFC 6749 §5.2: a 401 invalid_client carries WWW-Authenticate, through Expressway-C and -E to the client."""
    code = await code_for(edge)
    form = urlencode([("grant_type", "authorization_code"), ("code", code), ("client_id", CLIENT_ID)])
    async with edge.request("POST", f"/{edge.segment}/access_token", data=form,
                            headers={"Content-Type": "application/x-www-form-urlencoded",
                                     "Authorization": basic_header(CLIENT_ID, "not-the-secret")}) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_client"
        assert resp.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert resp.headers["Cache-Control"] == "no-store"
    await still_serving(edge)
