"""CUCM's self-describing tokens (mra-facts section 5): shape, independent verification with joserfc, refusals."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

import jwt
import pytest
from joserfc import jwe, jws
from joserfc.jwk import OctKey, RSAKey

from common.tokens import (
    REFRESH_CLAIMS,
    AuthzKeys,
    KeyRing,
    TokenError,
    access_claims,
    b64url,
    b64url_decode,
    decrypt_jwe,
    encrypt_jwe,
    issue_access_token,
    issue_refresh_token,
    read_access_token,
    read_refresh_token,
    refresh_claims,
    sign_rs256,
    token_digest,
)

CLUSTER = "6a2d4bd9-3bf6-4bfa-a9f2-9a15c53b6737"
OTHER_CLUSTER = "0b1e3c55-7d3f-4c4e-9a49-2f1c2b8de001"
CLIENT_ID = "C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1"
TOKEN_ID = "fcae3404-ca38-46c4-b579-10af3f51d361"
ISSUED = 1_585_089_083  # 2020-03-24 22:31:23 UTC
KID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Minted:
    keys: AuthzKeys
    other: AuthzKeys
    ring: KeyRing
    access: str
    access_claims: dict
    refresh: str
    refresh_claims: dict


@pytest.fixture(scope="module")
def minted() -> Minted:
    keys = AuthzKeys.generate(CLUSTER)
    other = AuthzKeys.generate(OTHER_CLUSTER)
    a_claims = access_claims(CLUSTER, "aokanlawon", CLIENT_ID, ISSUED, 3600, token_id=TOKEN_ID)
    r_claims = refresh_claims(CLUSTER, CLIENT_ID, ISSUED, 5_184_000, TOKEN_ID)
    return Minted(keys, other, KeyRing((keys,)), issue_access_token(keys, a_claims), a_claims,
                  issue_refresh_token(keys, r_claims), r_claims)


def _segments(token: str) -> list[dict]:
    head, payload, _ = token.split(".")
    return [json.loads(b64url_decode(head)), json.loads(b64url_decode(payload))]


def _sign(keys: AuthzKeys, payload: dict, kid: str | None = None) -> str:
    return jwt.encode(payload, keys.signing.private_key, algorithm="RS256", headers={"kid": kid or keys.signing.kid})


def _refusal(call, *args) -> str:
    with pytest.raises(TokenError) as info:
        call(*args)
    return info.value.reason


# --- shape ---------------------------------------------------------------------------------------------------------

def test_access_token_header_is_rs256_with_cluster_kid(minted: Minted) -> None:
    header, payload = _segments(minted.access)
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    assert header["kid"] == minted.keys.signing.kid
    assert KID.match(header["kid"]) and header["kid"].startswith(f"{CLUSTER}:")
    assert minted.access.startswith("eyJhbGciOiJSUzI1Ni")  # as every token the seed shows


def test_access_token_payload_is_exactly_private_jwe(minted: Minted) -> None:
    _, payload = _segments(minted.access)
    assert list(payload) == ["private"] and isinstance(payload["private"], str)


def test_access_token_jwe_is_dir_a128cbc_hs256_with_empty_key_part(minted: Minted) -> None:
    compact = _segments(minted.access)[1]["private"]
    parts = compact.split(".")
    assert len(parts) == 5 and parts[1] == ""
    header = json.loads(b64url_decode(parts[0]))
    assert header == {"alg": "dir", "enc": "A128CBC-HS256", "cty": "JWT", "kid": minted.keys.encryption.kid}
    assert len(b64url_decode(parts[2])) == 16 and len(b64url_decode(parts[4])) == 16  # IV, tag


def test_signing_and_encryption_kids_differ_and_have_the_kid_shape(minted: Minted) -> None:
    keys = minted.keys
    assert keys.signing.kid != keys.encryption.kid
    assert KID.match(keys.signing.kid) and KID.match(keys.encryption.kid)
    assert keys.encryption.checksum == hashlib.sha256(keys.encryption.secret).hexdigest()
    assert keys.signing.checksum == keys.signing.kid.rsplit(":", 1)[1]


# --- independent verification (joserfc) --------------------------------------------------------------------------

def test_access_token_verifies_and_decrypts_with_joserfc(minted: Minted) -> None:
    public = RSAKey.import_key(minted.keys.signing.public_pem())
    outer = jws.deserialize_compact(minted.access, public, algorithms=["RS256"])
    assert outer.protected["kid"] == minted.keys.signing.kid
    inner = json.loads(outer.payload)["private"]
    secret = OctKey.import_key(minted.keys.encryption.secret)
    decrypted = jwe.decrypt_compact(inner, secret, algorithms=["dir", "A128CBC-HS256"])
    assert decrypted.protected == {"alg": "dir", "enc": "A128CBC-HS256", "cty": "JWT",
                                   "kid": minted.keys.encryption.kid}
    claims = json.loads(decrypted.plaintext)
    assert claims == minted.access_claims
    assert claims == {"exp": ISSUED + 3600, "iat": ISSUED, "iss": CLUSTER, "typ": "user", "tid": TOKEN_ID,
                      "ctyp": "access", "ccid": CLIENT_ID, "sub": "aokanlawon"}


def test_joserfc_refuses_the_access_token_under_another_clusters_key(minted: Minted) -> None:
    """The negative control for the test above: joserfc really checks the signature."""
    with pytest.raises(Exception):
        jws.deserialize_compact(minted.access, RSAKey.import_key(minted.other.signing.public_pem()),
                                algorithms=["RS256"])


def test_jwe_encrypted_by_joserfc_is_read_by_decrypt_jwe(minted: Minted) -> None:
    key = minted.keys.encryption
    compact = jwe.encrypt_compact({"alg": "dir", "enc": "A128CBC-HS256", "cty": "JWT", "kid": key.kid},
                                  b'{"ctyp":"access","exp":1}', OctKey.import_key(key.secret))
    assert decrypt_jwe(compact, minted.ring) == {"ctyp": "access", "exp": 1}


def test_refresh_token_claims_are_exactly_the_six_in_order(minted: Minted) -> None:
    public = RSAKey.import_key(minted.keys.signing.public_pem())
    payload = jws.deserialize_compact(minted.refresh, public, algorithms=["RS256"]).payload
    claims = json.loads(payload)
    assert list(claims) == ["exp", "iss", "typ", "tid", "ctyp", "ccid"] == list(REFRESH_CLAIMS)
    assert claims == {"exp": ISSUED + 5_184_000, "iss": CLUSTER, "typ": "user", "tid": TOKEN_ID, "ctyp": "refresh",
                      "ccid": CLIENT_ID}
    assert _segments(minted.refresh)[0]["kid"] == minted.keys.signing.kid


def test_tokens_are_byte_for_byte_what_pyjwt_signs(minted: Minted) -> None:
    """CUCM signs without PyJWT's per-call machinery; RS256 (PKCS#1 v1.5) is deterministic, so PyJWT's own
    ``jwt.encode`` of the same claims under the same key must give the very same string."""
    payload = json.loads(b64url_decode(minted.access.split(".")[1]))
    assert minted.access == _sign(minted.keys, payload)
    assert minted.refresh == _sign(minted.keys, minted.refresh_claims)
    odd = {"iss": CLUSTER, "sub": "usér \"quoted\" \u2603", "n": [1, 2.5, None, True], "exp": ISSUED}
    assert sign_rs256(odd, minted.keys.signing) == _sign(minted.keys, odd)
    with pytest.raises(TypeError, match="Issuer"):
        sign_rs256({"iss": 1}, minted.keys.signing)
    public_only = AuthzKeys.from_export(minted.keys.export())
    with pytest.raises(ValueError, match="owns the signing key"):
        sign_rs256(odd, public_only.signing)


def test_issue_refresh_token_refuses_other_claim_sets(minted: Minted) -> None:
    with pytest.raises(ValueError, match="exactly"):
        issue_refresh_token(minted.keys, {**minted.refresh_claims, "sub": "aokanlawon"})
    claims = dict(minted.refresh_claims)
    del claims["ccid"]
    with pytest.raises(ValueError, match="exactly"):
        issue_refresh_token(minted.keys, claims)


def test_read_tokens_accept_valid_tokens(minted: Minted) -> None:
    assert read_access_token(minted.access, minted.ring, ISSUED + 3599) == minted.access_claims
    assert read_refresh_token(minted.refresh, minted.ring, ISSUED + 5_183_999) == minted.refresh_claims


def test_token_digest_is_sha256_hex_of_the_token(minted: Minted) -> None:
    assert token_digest(minted.refresh) == hashlib.sha256(minted.refresh.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", token_digest("x"))


# --- key export ----------------------------------------------------------------------------------------------------

def test_export_round_trip_validates_tokens_without_private_key(minted: Minted) -> None:
    data = json.loads(json.dumps(minted.keys.export()))
    copy = AuthzKeys.from_export(data)
    assert copy.signing.kid == minted.keys.signing.kid and copy.encryption.kid == minted.keys.encryption.kid
    assert copy.encryption.secret == minted.keys.encryption.secret
    assert copy.signing.private_key is None
    assert "PRIVATE" not in json.dumps(data)
    ring = KeyRing((copy,))
    assert read_access_token(minted.access, ring, ISSUED)["sub"] == "aokanlawon"
    with pytest.raises(ValueError, match="only the cluster"):
        issue_access_token(copy, minted.access_claims)
    with pytest.raises(ValueError, match="no private part"):
        copy.signing.private_pem()


@pytest.mark.parametrize("tamper", [
    lambda d, o: d.update(encryption_key=b64url(bytes(32))),
    lambda d, o: d.update(signing_public_key=o["signing_public_key"]),
    lambda d, o: d.update(signing_kid=d["signing_kid"][:-1] + ("0" if d["signing_kid"][-1] != "0" else "1")),
    lambda d, o: d.update(encryption_kid=o["encryption_kid"]),
    lambda d, o: d.update(cluster=OTHER_CLUSTER),
    lambda d, o: d.update(encryption_key=b64url(bytes(16))),
    lambda d, o: d.update(signing_public_key="-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n"),
    lambda d, o: d.pop("encryption_key"),
], ids=["enc-key", "signing-pem", "signing-kid", "enc-kid", "cluster", "short-key", "bad-pem", "missing"])
def test_tampered_export_is_refused(minted: Minted, tamper) -> None:
    data = minted.keys.export()
    tamper(data, minted.other.export())
    with pytest.raises(ValueError):
        AuthzKeys.from_export(data)


def test_export_with_a_non_rsa_signing_key_is_refused(minted: Minted) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    data = {**minted.keys.export(), "signing_public_key": pem}
    with pytest.raises(ValueError, match="RSA"):
        AuthzKeys.from_export(data)


# --- refusals ------------------------------------------------------------------------------------------------------

def test_alg_none_token_is_refused(minted: Minted) -> None:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": minted.keys.signing.kid}).encode())
    payload = minted.access.split(".")[1]
    assert _refusal(read_access_token, f"{header}.{payload}.", minted.ring, ISSUED) == "Invalid signature"
    refresh_payload = minted.refresh.split(".")[1]
    assert _refusal(read_refresh_token, f"{header}.{refresh_payload}.", minted.ring, ISSUED) == "Invalid signature"


def test_hs256_signed_with_public_pem_is_refused(minted: Minted) -> None:
    """Algorithm confusion: the public key PEM used as an HMAC secret (built with hmac, since pyjwt refuses)."""
    secret = minted.keys.signing.public_pem().encode()
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": minted.keys.signing.kid}).encode())
    payload = minted.access.split(".")[1]
    signing_input = f"{header}.{payload}".encode()
    signature = b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
    assert _refusal(read_access_token, f"{header}.{payload}.{signature}", minted.ring, ISSUED) == "Invalid signature"


def test_another_clusters_token_has_no_matching_key(minted: Minted) -> None:
    claims = access_claims(OTHER_CLUSTER, "aokanlawon", CLIENT_ID, ISSUED, 3600)
    foreign = issue_access_token(minted.other, claims)
    assert _refusal(read_access_token, foreign, minted.ring, ISSUED) == "No matching AuthZ key"
    foreign_refresh = issue_refresh_token(minted.other, refresh_claims(OTHER_CLUSTER, CLIENT_ID, ISSUED, 60, TOKEN_ID))
    assert _refusal(read_refresh_token, foreign_refresh, minted.ring, ISSUED) == "No matching AuthZ key"


def test_jwe_under_another_clusters_encryption_key_has_no_matching_key(minted: Minted) -> None:
    inner = encrypt_jwe(minted.other.encryption, json.dumps(minted.access_claims).encode())
    token = _sign(minted.keys, {"private": inner})
    assert _refusal(read_access_token, token, minted.ring, ISSUED) == "No matching AuthZ key"


def test_token_signed_by_another_key_under_our_kid_is_refused(minted: Minted) -> None:
    forged = _sign(minted.other, _segments(minted.access)[1], kid=minted.keys.signing.kid)
    assert _refusal(read_access_token, forged, minted.ring, ISSUED) == "Invalid signature"


def test_tampered_payload_is_refused(minted: Minted) -> None:
    head, _, signature = minted.refresh.split(".")
    claims = {**minted.refresh_claims, "exp": minted.refresh_claims["exp"] + 10**6}
    forged = f"{head}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"
    assert _refusal(read_refresh_token, forged, minted.ring, ISSUED) == "Invalid signature"
    head, payload, signature = minted.access.split(".")
    swapped = _segments(issue_access_token(minted.keys, {**minted.access_claims, "sub": "admin"}))[1]
    forged = f"{head}.{b64url(json.dumps(swapped, separators=(',', ':')).encode())}.{signature}"
    assert _refusal(read_access_token, forged, minted.ring, ISSUED) == "Invalid signature"


def test_tampered_signature_is_refused(minted: Minted) -> None:
    head, payload, signature = minted.access.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[len(raw) // 2] ^= 0x01
    forged = f"{head}.{payload}.{b64url(bytes(raw))}"
    assert _refusal(read_access_token, forged, minted.ring, ISSUED) == "Invalid signature"


@pytest.mark.parametrize("mangle", [
    lambda c: ".".join(c.split(".")[:4]),                     # four parts
    lambda c: c.rsplit(".", 1)[0],                            # tag missing
    lambda c: ".".join(p if i != 1 else "AAAA" for i, p in enumerate(c.split("."))),  # encrypted key not empty
    lambda c: ".".join(p if i != 2 else b64url(bytes(8)) for i, p in enumerate(c.split("."))),  # short IV
    lambda c: ".".join(p if i != 3 else b64url(bytes(17)) for i, p in enumerate(c.split("."))),  # not blocks
    lambda c: ".".join(p if i != 0 else b64url(b'{"alg":"RSA-OAEP","enc":"A128CBC-HS256","cty":"JWT"}')
                       for i, p in enumerate(c.split("."))),  # not dir
    lambda c: ".".join(p if i != 0 else b64url(b"\xff\xfe") for i, p in enumerate(c.split("."))),  # header not JSON
    lambda c: "x",
], ids=["four-parts", "no-tag", "key-part", "short-iv", "partial-block", "not-dir", "bad-header", "garbage"])
def test_truncated_or_malformed_jwe_is_malformed(minted: Minted, mangle) -> None:
    compact = _segments(minted.access)[1]["private"]
    token = _sign(minted.keys, {"private": mangle(compact)})
    assert _refusal(read_access_token, token, minted.ring, ISSUED) == "Malformed token"


@pytest.mark.parametrize("part", [2, 3, 4], ids=["iv", "ciphertext", "tag"])
def test_tampered_jwe_fails_decryption(minted: Minted, part: int) -> None:
    parts = _segments(minted.access)[1]["private"].split(".")
    raw = bytearray(b64url_decode(parts[part]))
    raw[0] ^= 0x80
    parts[part] = b64url(bytes(raw))
    token = _sign(minted.keys, {"private": ".".join(parts)})
    assert _refusal(read_access_token, token, minted.ring, ISSUED) == "Decryption failed"


def test_expired_tokens_are_refused_from_exp_on(minted: Minted) -> None:
    exp = minted.access_claims["exp"]
    assert read_access_token(minted.access, minted.ring, exp - 1)["exp"] == exp
    assert _refusal(read_access_token, minted.access, minted.ring, exp) == "Token expired"
    assert _refusal(read_access_token, minted.access, minted.ring, exp + 61 * 60) == "Token expired"
    r_exp = minted.refresh_claims["exp"]
    assert _refusal(read_refresh_token, minted.refresh, minted.ring, r_exp) == "Token expired"


def test_tokens_presented_as_the_other_type_are_refused(minted: Minted) -> None:
    assert _refusal(read_access_token, minted.refresh, minted.ring, ISSUED) == "Wrong token type"
    assert _refusal(read_refresh_token, minted.access, minted.ring, ISSUED) == "Wrong token type"


def test_access_jwe_with_refresh_ctyp_is_wrong_type(minted: Minted) -> None:
    inner = encrypt_jwe(minted.keys.encryption, json.dumps(minted.refresh_claims).encode())
    token = _sign(minted.keys, {"private": inner})
    assert _refusal(read_access_token, token, minted.ring, ISSUED) == "Wrong token type"


def test_access_token_without_exp_is_malformed(minted: Minted) -> None:
    claims = {k: v for k, v in minted.access_claims.items() if k != "exp"}
    token = _sign(minted.keys, {"private": encrypt_jwe(minted.keys.encryption, json.dumps(claims).encode())})
    assert _refusal(read_access_token, token, minted.ring, ISSUED) == "Malformed token"


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "eyJ.eyJ.sig", "...", "a.b.c.d.e"])
def test_garbage_is_malformed(minted: Minted, garbage: str) -> None:
    assert _refusal(read_access_token, garbage, minted.ring, ISSUED) == "Malformed token"
    assert _refusal(read_refresh_token, garbage, minted.ring, ISSUED) == "Malformed token"


def test_empty_key_ring_has_no_matching_key(minted: Minted) -> None:
    ring = KeyRing()
    assert len(ring) == 0
    assert _refusal(read_access_token, minted.access, ring, ISSUED) == "No matching AuthZ key"


def test_key_ring_remembers_issuer(minted: Minted) -> None:
    ring = KeyRing()
    ring.add(minted.keys, "cucm.lab.com")
    ring.add(minted.other)
    assert len(ring) == 2
    assert ring.issuer(minted.keys.signing.kid) == "cucm.lab.com"
    assert ring.issuer(minted.other.signing.kid) == OTHER_CLUSTER
    assert ring.issuer("nope") == ""


def test_token_error_message_carries_reason_and_detail() -> None:
    error = TokenError("Token expired", "expired 5 s ago")
    assert error.reason == "Token expired" and str(error) == "Token expired: expired 5 s ago"
    assert str(TokenError("Malformed token")) == "Malformed token"


# --- the ring remembers verified tokens ----------------------------------------------------------------------------

def test_a_remembered_token_is_still_checked_for_expiry_and_hands_out_copies(minted: Minted) -> None:
    ring = KeyRing((minted.keys,))
    exp = minted.access_claims["exp"]
    first = read_access_token(minted.access, ring, exp - 10)
    first["sub"] = "mallory"  # a caller changing its claims changes nothing the ring keeps
    assert read_access_token(minted.access, ring, exp - 1) == minted.access_claims
    assert _refusal(read_access_token, minted.access, ring, exp) == "Token expired"


def test_only_verified_tokens_are_remembered_and_adding_keys_forgets(minted: Minted) -> None:
    ring = KeyRing((minted.keys,))
    read_access_token(minted.access, ring, ISSUED)
    forged = _sign(minted.other, _segments(minted.access)[1], kid=minted.keys.signing.kid)
    assert _refusal(read_access_token, forged, ring, ISSUED) == "Invalid signature"
    assert _refusal(read_access_token, forged, ring, ISSUED) == "Invalid signature"
    assert ring.verified(minted.access) is not None and ring.verified(forged) is None
    ring.add(minted.other)
    assert ring.verified(minted.access) is None
    assert read_access_token(minted.access, ring, ISSUED) == minted.access_claims
