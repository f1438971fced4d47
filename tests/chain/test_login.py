"""The whole login across every node on loopback: Jabber → Expressway-E → Expressway-C → CUCM."""

from __future__ import annotations

import json
import re

from joserfc import jwe, jws
from joserfc.jwk import OctKey, RSAKey

from common.tokens import b64url
from common.logformats.csf import parse_log as parse_csf
from common.logformats.expressway import ExpresswayLine, parse_log
from common.logformats.log4j import parse_log as parse_log4j
from common.config import Lab
from lab.running import RunningLab, start_lab
from lab.runner import run_login

SEED_SEQUENCE = ["get_edge_sso", "authorize", "localauthentication", "edgeconfigprovision", "authorize_proxy",
                 "OAuthcb", "access_token", "OAuthvalidator"]


async def test_oauth_login_follows_the_seed_sequence(running: RunningLab) -> None:
    outcome, entries = await run_login(running)
    assert outcome.ok, outcome.reason
    assert outcome.path == "oauth"
    numbered = [e.name for e in entries if e.number is not None]
    assert numbered[:8] == SEED_SEQUENCE
    assert numbered[8] == "get_edge_config"
    assert {"uds_user", "uds_devices"} <= set(numbered)
    assert all(e.status in (200, 302) for e in entries)
    assert outcome.devices == ("CSFAOKANLAWON", "TCTAOKANLAWON")


async def test_tokens_from_the_login_verify_with_an_independent_jose_library(running: RunningLab) -> None:
    outcome, _ = await run_login(running)
    keys = running.cucm[0].keys
    outer = jws.deserialize_compact(outcome.access_token, RSAKey.import_key(keys.signing.public_pem()))
    assert outer.protected["kid"] == keys.signing.kid
    inner = jwe.decrypt_compact(json.loads(outer.payload)["private"], OctKey.import_key(keys.encryption.secret))
    assert b'"sub":"aokanlawon"' in inner.plaintext
    refresh = jws.deserialize_compact(outcome.refresh_token, RSAKey.import_key(keys.signing.public_pem()))
    assert list(json.loads(refresh.payload)) == ["exp", "iss", "typ", "tid", "ctyp", "ccid"]


async def test_every_log_parses_with_its_format_and_holds_no_secret(running: RunningLab) -> None:
    outcome, _ = await run_login(running)
    texts = {name: running.log_text(name) for name in running.sinks}
    e_lines = parse_log(texts["expressway-e"])
    c_lines = parse_log(texts["expressway-c"])
    assert e_lines and c_lines
    assert parse_csf(texts["jabber"]) and parse_log4j(texts["cucm:cluster1"])
    keys = running.cucm[0].keys
    secrets = [outcome.access_token, outcome.refresh_token, "Cisco!123", "Axl!Pass123",
               running.lab.clients[0].client_secret, b64url(keys.encryption.secret),
               keys.signing.private_pem().splitlines()[1]]
    for name, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret reached {name}"
    assert any(line.get("Detail") == "Access Token accepted" and line.get("User") == "aokanlawon" for line in c_lines)
    assert any(line.get("Reason") == "Matched AuthZ key" and line.get("Issuer") == "cucm.lab.example"
               for line in c_lines)
    assert any(line.get("Detail") == "Successful authorization" for line in c_lines)
    redirected = next(line for line in c_lines if line.get("Detail") == "Redirected client")
    assert redirected.get("Redirect") == "/OAuthcb#code=Hidden"
    assert any("Location: /OAuthcb#code=<CONCEALED>" in (line.block or "") for line in e_lines)


def _tracking(line: ExpresswayLine) -> str | None:
    match = re.search(r"^TrackingID: (\S+)$", line.block or "", re.M)
    return match.group(1) if match else line.get("TrackingID")


async def test_a_request_is_followed_from_e_txn_id_to_c_txn_id(running: RunningLab) -> None:
    await run_login(running)
    e_lines = parse_log(running.log_text("expressway-e"))
    c_lines = parse_log(running.log_text("expressway-c"))
    e_txn = next(line.get("Txn-id") for line in e_lines
                 if line.get("Level") == "INFO" and "localauthentication" in (line.get("Msg") or ""))
    tracking = next(_tracking(line) for line in e_lines
                    if line.get("Detail") == "Sending Request" and line.get("Txn-id") == e_txn)
    assert tracking
    c_receive = next(line for line in c_lines
                     if line.get("Detail") == "Receive Request" and _tracking(line) == tracking)
    c_txn = c_receive.get("Txn-id")
    assert c_txn != e_txn
    c_info = next(line for line in c_lines if line.get("Txn-id") == c_txn and line.get("Msg"))
    assert c_info.get("Msg", "").startswith("POST https://expc.lab.example:8443/")
    assert c_info.get("Last-via-addr") == "127.0.0.1"


async def test_each_node_keeps_its_own_txn_counter(running: RunningLab) -> None:
    await run_login(running)
    e_ids = {int(line.get("Txn-id") or 0) for line in parse_log(running.log_text("expressway-e")) if line.get("Txn-id")}
    c_ids = {int(line.get("Txn-id") or 0) for line in parse_log(running.log_text("expressway-c")) if line.get("Txn-id")}
    assert min(e_ids) == running.lab.edge.txn_start
    assert min(c_ids) == running.lab.core.txn_start
    assert len(e_ids) == 8


async def test_credential_path_when_oauth_is_off(lab: Lab) -> None:
    running = await start_lab(lab.replace_core(oauth_local=False))
    try:
        outcome, entries = await run_login(running)
    finally:
        await running.stop()
    assert outcome.ok and outcome.path == "credentials"
    assert [e.name for e in entries if e.number is not None][:2] == ["get_edge_sso", "get_edge_config"]
    c_lines = parse_log(running.log_text("expressway-c"))
    assert any(line.get("Detail") == "Authentication succeeded" for line in c_lines)
    e_text = running.log_text("expressway-e")
    assert "Set-Cookie: <CONCEALED>" in e_text
