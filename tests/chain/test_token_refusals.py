"""Forged, confused and stale tokens at Expressway-C: each refused with its own reason in credentialmanager's log and
the real status on the wire; enterprise parameters and user profiles that stop a login."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time

import jwt
import pytest

from common.config import Lab
from common.domain import encode_segment
from common.logformats.expressway import parse_log
from common.tokens import AuthzKeys, access_claims, encrypt_jwe, issue_access_token
from lab.running import RunningLab, start_lab
from lab.runner import run_login

CLUSTER = "6a2d4bd9-3bf6-4bfa-a9f2-9a15c53b6737"
CLIENT = "C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsigned(header: dict, payload: dict) -> str:  # type: ignore[type-arg]
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."


def hs256_with_public_key(keys: AuthzKeys) -> str:
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': keys.signing.kid}).encode())}." \
                    f"{b64(json.dumps({'private': 'x'}).encode())}"
    mac = hmac.new(keys.signing.public_pem().encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def forged(kind: str, keys: AuthzKeys, refresh_token: str, access_token: str) -> str:
    now = time.time()
    if kind == "alg none":
        return unsigned({"alg": "none", "kid": keys.signing.kid}, {"private": "x"})
    if kind == "HS256 with the public key":
        return hs256_with_public_key(keys)
    if kind == "another cluster":
        other = AuthzKeys.generate("00000000-0000-4000-8000-000000000000")
        return issue_access_token(other, access_claims(other.cluster_uuid, "aokanlawon", CLIENT, now, 3600))
    if kind == "tampered payload":
        head, payload, sig = access_token.split(".")
        return f"{head}.{payload[:-6]}AAAAAA.{sig}"
    if kind == "refresh token as access token":
        return refresh_token
    if kind == "unknown kid":
        return jwt.encode({"private": "x"}, keys.signing.private_key, algorithm="RS256",  # type: ignore[arg-type]
                          headers={"kid": f"{CLUSTER}:{'0' * 64}"})
    if kind == "truncated JWE":
        jwe = encrypt_jwe(keys.encryption, b'{"ctyp":"access"}')
        return jwt.encode({"private": jwe.rsplit(".", 2)[0]}, keys.signing.private_key,  # type: ignore[arg-type]
                          algorithm="RS256", headers={"kid": keys.signing.kid})
    raise AssertionError(kind)


REASONS = {
    "alg none": "Invalid signature",
    "HS256 with the public key": "Invalid signature",
    "another cluster": "No matching AuthZ key",
    "tampered payload": "Invalid signature",
    "refresh token as access token": "Wrong token type",
    "unknown kid": "No matching AuthZ key",
    "truncated JWE": "Malformed token",
}


@pytest.mark.parametrize("kind", list(REASONS))
async def test_a_bad_bearer_token_is_refused_with_its_reason(running: RunningLab, kind: str) -> None:
    client = running.jabber()
    await client.login()
    client.access_token = forged(kind, running.cucm[0].keys, client.refresh_token, client.access_token)
    refused = await client.get_edge_config()
    assert not refused.ok and refused.reason.startswith("HTTP 401")
    inspected = [line for line in parse_log(running.log_text("expressway-c"))
                 if line.get("Module") == "developer.credentialmanager.OAuthinspector"]
    assert inspected[-1].get("Reason") == REASONS[kind]
    assert inspected[-1].get("Level") == "WARN"


async def test_an_expired_token_is_refused_as_expired(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    running.clock.advance(3600)
    assert not (await client.get_edge_config()).ok
    assert any(line.get("Reason") == "Token expired" for line in parse_log(running.log_text("expressway-c")))


async def test_refresh_login_flow_disabled_on_cucm_stops_the_oauth_login(lab: Lab) -> None:
    cluster = lab.clusters[0]
    disabled = dataclasses.replace(cluster, enterprise=dataclasses.replace(cluster.enterprise,
                                                                           refresh_login_flow=False))
    running = await start_lab(dataclasses.replace(lab, clusters=(disabled,)))
    try:
        outcome, _ = await run_login(running)
        text = running.log_text("expressway-c")
    finally:
        await running.stop()
    assert not outcome.ok and outcome.failed_step == "localauthentication"
    assert "unsupported_response_type" in text and "Refresh Login Flow is Disabled" in text


async def test_a_user_without_mobile_and_remote_access_cannot_log_in(lab: Lab) -> None:
    users = tuple(dataclasses.replace(u, mra_enabled=False) if u.userid == "aokanlawon" else u for u in lab.users)
    running = await start_lab(dataclasses.replace(lab, users=users))
    try:
        outcome, _ = await run_login(running)
        cucm = running.log_text("cucm:cluster1")
    finally:
        await running.stop()
    assert not outcome.ok and outcome.failed_step == "localauthentication"
    assert "Mobile and Remote Access" in cucm or "MRA" in cucm


async def test_the_domain_segment_of_the_token_request_is_checked_too(running: RunningLab) -> None:
    client = running.jabber()
    await client.login()
    client.lab = dataclasses.replace(client.lab, domain="other.example")
    assert encode_segment("other.example") != encode_segment("lab.example")
    refused = await client.refresh()
    assert not refused.ok
