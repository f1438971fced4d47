"""Group 4 — routing and the HTTP allow list: a user's credentials on a proxied URL reach only the paths MRA clients
use. Administrative paths of CUCM (its CLI, ``/ssosp/token/authz_keys``, ``revoke``, the token endpoint), other
hosts and ports, methods the rules do not allow, and paths written to slip past a prefix are all 403 from
Expressway-C, logged as "HTTP allow list check failed" — and never reach CUCM."""

from __future__ import annotations

import pytest

from common.basic import basic_header
from common.domain import encode_segment
from tests.hardening.conftest import GROUP, PASSWORD, USER, Battery, after_group

CUCM = ("cucm.lab.example", 8443)
REFUSED = {
    "cucm-cli": ("POST", CUCM, "/mrasim/cli"),
    "authz-keys": ("GET", CUCM, "/ssosp/token/authz_keys"),
    "revoke-get": ("GET", CUCM, "/ssosp/token/revoke?user_id=aokanlawon"),
    "revoke-post": ("POST", CUCM, "/ssosp/token/revoke"),
    "token-endpoint": ("POST", CUCM, "/ssosp/token/access_token"),
    "authorize-proxy": ("POST", CUCM, "/ssosp/token/authorize_proxy"),
    "sso-status": ("GET", CUCM, "/ssosp/ws/public/singleSignOn"),
    "root": ("GET", CUCM, "/"),
    "uds-post": ("POST", CUCM, "/cucm-uds/user/aokanlawon"),
    "uds-put": ("PUT", CUCM, "/cucm-uds/user/aokanlawon"),
    "uds-delete": ("DELETE", CUCM, "/cucm-uds/user/aokanlawon"),
    "uds-prefix-lookalike": ("GET", CUCM, "/cucm-udsx/user/aokanlawon"),
    "dot-dot": ("GET", CUCM, "/cucm-uds/../ssosp/token/authz_keys"),
    "encoded-dot-dot": ("GET", CUCM, "/cucm-uds/%2e%2e/ssosp/token/authz_keys"),
    "encoded-slash": ("GET", CUCM, "/cucm-uds%2F..%2Fssosp%2Ftoken%2Fauthz_keys"),
    "double-slash": ("GET", CUCM, "/cucm-uds//../../mrasim/cli"),
    "backslash": ("GET", CUCM, "/cucm-uds/%5C..%5Cssosp/token/authz_keys"),
    "dot-segment": ("GET", CUCM, "/cucm-uds/./../ssosp/token/authz_keys"),
    "other-port-ssh": ("GET", ("cucm.lab.example", 22), "/"),
    "other-port-admin": ("GET", ("cucm.lab.example", 443), "/ccmadmin/"),
    "other-host": ("GET", ("intranet.lab.example", 80), "/"),
    "loopback": ("GET", ("127.0.0.1", 9998), "/OAuthvalidator?reqtype=access"),
    "validator-by-name": ("POST", ("localhost", 9998), "/OAuthvalidator"),
    "expressway-c-itself": ("POST", ("expc.lab.example", 8443), "/mrasim/xconfiguration"),
    "imp-epas-get": ("GET", ("imp.lab.example", 8443), "/EPASSoap/service/v80"),
    "imp-other-path": ("POST", ("imp.lab.example", 8443), "/EPASSoap/service/v80/../admin"),
    "tftp-post": ("POST", ("cucm.lab.example", 6970), "/SEPX.cnf.xml"),
}


@GROUP
@pytest.mark.parametrize("name", list(REFUSED))
async def test_a_proxied_request_off_the_allow_list_is_403_and_never_reaches_cucm(battery: Battery,
                                                                                    name: str) -> None:
    method, (host, port), path = REFUSED[name]
    cucm_before = battery.running.log_text("cucm:cucm") if "cucm:cucm" in battery.running.sinks else ""
    status, body = await battery.request(method, f"/{battery.descriptor(host, port)}{path}",
                                         headers={"Authorization": basic_header(USER, PASSWORD)})
    assert status == 403, body[:200]
    if "cucm:cucm" in battery.running.sinks:
        added = battery.running.log_text("cucm:cucm")[len(cucm_before):]
        assert "authz_keys" not in added and "mrasim/cli" not in added and "revoke" not in added.lower()


@GROUP
@pytest.mark.parametrize("segment", ["mrasim", "%2e%2e", encode_segment("lab.example/https/cucm.lab.example"),
                                     encode_segment("lab.example/gopher/cucm.lab.example/70"), "", "Zm9v"])
async def test_edge_refuses_segments_that_are_neither_a_domain_nor_a_descriptor(battery: Battery,
                                                                                segment: str) -> None:
    status, _ = await battery.request("GET", f"/{segment}/xcommand")
    assert 400 <= status < 500


@GROUP
async def test_the_paths_mra_clients_use_still_pass(battery: Battery) -> None:
    auth = {"Authorization": basic_header(USER, PASSWORD)}
    status, body = await battery.request("GET", f"/{battery.descriptor()}/cucm-uds/user/{USER}", headers=auth)
    assert status == 200 and b"<userName>aokanlawon</userName>" in body


@GROUP
async def test_after_the_routing_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    await after_group(battery)


@GROUP
async def test_the_rules_in_force_are_listed_by_xconfiguration_http_allow_list(battery: Battery) -> None:
    core = battery.running.lab.core
    tls = {"ssl": battery.tls, "server_hostname": "expc.lab.example"} if battery.tls else {}
    scheme = "https" if battery.tls else "http"
    url = f"{scheme}://127.0.0.1:{battery.running.core.traffic.port}/mrasim/xconfiguration"
    async with battery.session.post(url, json={"command": "HTTPAllowList"}, **tls,  # type: ignore[arg-type]
                                    headers={"Authorization": basic_header(core.admin_user, core.admin_password)}) as resp:
        assert resp.status == 200
        output = (await resp.json())["output"]
    assert "*c xConfiguration HTTPAllowList AutomaticInboundRules: On" in output
    assert ('*c xConfiguration HTTPAllowList Automatic 3 Url: "https://cucm.lab.example:8443/cucm-uds/" '
            "MatchType: prefix HttpMethods: GET") in output
    assert "authz_keys" not in output and "/ssosp/" not in output
