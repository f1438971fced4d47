"""Group 5 — forged, tampered and misused tokens (RFC 6819 section 4.6, RFC 9700 section 4): every one is refused
with 401 wherever a bearer token is accepted, and the genuine token keeps working."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from common.basic import basic_header
from tests.hardening.conftest import CLIENT_ID, GROUP, Battery, after_group


def b64(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parts(token: str) -> list[str]:
    return token.split(".")


def header_of(token: str) -> dict[str, object]:
    head = parts(token)[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


FORGERIES: dict[str, Callable[[str, str], str]] = {
    "alg-none": lambda a, r: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{parts(a)[1]}.",
    "alg-none-uppercase": lambda a, r: f"{b64({'alg': 'NONE', 'typ': 'JWT'})}.{parts(a)[1]}.",
    "alg-hs256-confusion": lambda a, r: f"{b64({**header_of(a), 'alg': 'HS256'})}.{parts(a)[1]}.{parts(a)[2]}",
    "wrong-kid": lambda a, r: f"{b64({**header_of(a), 'kid': 'x:' + '0' * 64})}.{parts(a)[1]}.{parts(a)[2]}",
    "kid-path-traversal": lambda a, r: f"{b64({**header_of(a), 'kid': '../../etc/passwd'})}.{parts(a)[1]}.{parts(a)[2]}",
    "jku-header": lambda a, r: f"{b64({**header_of(a), 'jku': 'http://evil.example/k'})}.{parts(a)[1]}.{parts(a)[2]}",
    "tampered-payload": lambda a, r: f"{parts(a)[0]}.{parts(a)[1][:-4]}AAAA.{parts(a)[2]}",
    "tampered-signature": lambda a, r: f"{parts(a)[0]}.{parts(a)[1]}.{parts(a)[2][:-4]}AAAA",
    "empty-signature": lambda a, r: f"{parts(a)[0]}.{parts(a)[1]}.",
    "signature-dropped": lambda a, r: f"{parts(a)[0]}.{parts(a)[1]}",
    "extra-part": lambda a, r: f"{a}.AAAA",
    "payload-swapped-for-refresh": lambda a, r: f"{parts(a)[0]}.{parts(r)[1]}.{parts(a)[2]}",
    "refresh-as-access": lambda a, r: r,
    "truncated": lambda a, r: a[: len(a) // 2],
    "garbage": lambda a, r: "not-a-token",
    "empty": lambda a, r: "",
    "only-dots": lambda a, r: "..",
    "huge": lambda a, r: "eyJ" + "A" * 6000,
    "non-ascii": lambda a, r: "eyJé.ü.ñ",
    "bad-base64": lambda a, r: "!!!.@@@.###",
    "json-not-object": lambda a, r: f"{b64(b'[1,2]')}.{b64(b'[]')}.x",
}


@GROUP
@pytest.mark.parametrize("name", list(FORGERIES))
async def test_a_forged_or_misused_bearer_token_is_refused(battery: Battery, name: str) -> None:
    token = FORGERIES[name](battery.access_token, battery.refresh_token)
    battery.issued.add(token) if len(token) > 40 else None
    for path in (f"/{battery.segment}/get_edge_config?service_name=_cisco-uds",
                 f"/{battery.descriptor()}/cucm-uds/user/aokanlawon"):
        status, body = await battery.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        assert status == 401, (path, status, body[:200])


@GROUP
@pytest.mark.parametrize("grant", ["code-replayed-never-issued", "refresh-forged", "refresh-is-access",
                                   "wrong-client-secret", "no-client-auth"])
async def test_a_misused_grant_at_the_token_endpoint_is_refused(battery: Battery, grant: str) -> None:
    secret = battery.running.lab.clients[0].client_secret
    auth = {"Authorization": basic_header(CLIENT_ID, secret)}
    form = {
        "code-replayed-never-issued": f"grant_type=authorization_code&client_id={CLIENT_ID}&code=AAAABBBBCCCC",
        "refresh-forged": f"grant_type=refresh_token&refresh_token={FORGERIES['tampered-payload'](battery.refresh_token, '')}",
        "refresh-is-access": f"grant_type=refresh_token&refresh_token={battery.access_token}",
        "wrong-client-secret": f"grant_type=refresh_token&refresh_token={battery.refresh_token}",
        "no-client-auth": f"grant_type=refresh_token&refresh_token={battery.refresh_token}",
    }[grant]
    if grant == "wrong-client-secret":
        auth = {"Authorization": basic_header(CLIENT_ID, "not-the-secret-at-all")}
    if grant == "no-client-auth":
        auth = {}
    status, body = await battery.request("POST", f"/{battery.segment}/access_token", data=form.encode(),
                                         headers={"Content-Type": "application/x-www-form-urlencoded", **auth})
    assert 400 <= status < 500, body[:200]


@GROUP
async def test_the_genuine_token_still_works(battery: Battery) -> None:
    status, _ = await battery.request("GET", f"/{battery.segment}/get_edge_config?service_name=_cisco-uds",
                                      headers={"Authorization": f"Bearer {battery.access_token}"})
    assert status == 200


@GROUP
async def test_after_the_token_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    await after_group(battery)
