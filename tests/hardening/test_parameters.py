"""Group 3 — request parameters that cannot be decoded or carried: NUL and control characters, invalid UTF-8,
surrogates and non-characters, in every parameter path (E's login form, C's OAuth legs, edge operations, proxied
queries). Each is answered 4xx with a logged refusal — never a 500 and an internal-error line."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.hardening.conftest import CLIENT_ID, GROUP, OAUTH, USER, Battery, after_group

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
VALUES = {
    "nul": "%00", "nul-inside": "a%00b", "control-01": "%01", "escape": "%1B%5B31m", "form-feed": "x%0C",
    "invalid-utf8": "%FF%FE", "truncated-utf8": "%C3", "overlong-utf8": "%C0%AF", "surrogate": "%ED%A0%80",
    "non-character": "%EF%BF%BE",
}
PATHS = {
    "authorize-state": lambda b, v: ("GET", f"/{b.segment}/authorize?{_oauth('state', v)}", {}, None),
    "authorize-client-id": lambda b, v: ("GET", f"/{b.segment}/authorize?{_oauth('client_id', v)}", {}, None),
    "authorize-email": lambda b, v: ("GET", f"/{b.segment}/authorize?{_oauth('email', v)}", {}, None),
    "authorize-name": lambda b, v: ("GET", f"/{b.segment}/authorize?{_oauth('', '')}&x{v}=1", {}, None),
    "login-password": lambda b, v: ("POST", f"/{b.segment}/localauthentication", FORM,
                                    f"username={USER}&password={v}&{_oauth('', '')}"),
    "login-username": lambda b, v: ("POST", f"/{b.segment}/localauthentication", FORM,
                                    f"username={v}&password=x&{_oauth('', '')}"),
    "token-code": lambda b, v: ("POST", f"/{b.segment}/access_token", FORM,
                                f"grant_type=authorization_code&client_id={CLIENT_ID}&code={v}"),
    "edge-sso-email": lambda b, v: ("GET", f"/{b.segment}/get_edge_sso?email={v}", {}, None),
    "edge-config-service": lambda b, v: ("GET", f"/{b.segment}/get_edge_config?service_name={v}", {}, None),
    "proxied-query": lambda b, v: ("GET", f"/{b.descriptor()}/cucm-uds/clusterUser?username={v}", {}, None),
}


def _oauth(name: str, value: str) -> str:
    return "&".join(f"{k}={value if k == name else urlencode({'': v})[1:]}" for k, v in OAUTH)


CASES = [(p, v) for p in PATHS for v in VALUES if not (p == "authorize-name" and v in ("escape",))]


@GROUP
@pytest.mark.parametrize(("path", "value"), CASES, ids=[f"{p}-{v}" for p, v in CASES])
async def test_undecodable_parameters_get_a_4xx(battery: Battery, path: str, value: str) -> None:
    method, url, headers, body = PATHS[path](battery, VALUES[value])
    status, answer = await battery.request(method, url, headers=headers, data=body)
    assert 400 <= status < 500, (status, answer[:200])
    if path.startswith(("authorize", "login", "token", "edge")):
        assert status == 400 and b"invalid_request" in answer, answer[:200]


@GROUP
async def test_after_the_parameter_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    assert not any("Internal error" in text for text in battery.logs().values())
    await after_group(battery)
