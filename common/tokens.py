"""CUCM's self-describing OAuth tokens (mra-facts section 5), written and read with the same code.

* **Access token** — a JWS (RS256) whose header ``kid`` is ``<cluster uuid>:<sha256 hex>`` of the signing key and whose
  payload is ``{"private": "<JWE>"}``. The JWE is compact, ``alg: dir`` with ``enc: A128CBC-HS256`` (RFC 7516, RFC 7518
  section 5.2.3) under the cluster's encryption key, so its encrypted-key part is empty. Signed *and* encrypted.
* **Refresh token** — a JWS (RS256), signed, not encrypted, carrying exactly ``exp, iss, typ, tid, ctyp, ccid``.

The signing (RSA) and encryption (256-bit, split into a MAC and an AES key) keys belong to a cluster; their two kids
always differ. Whoever holds the public signing key and the encryption key (every CUCM and IM&P node, and Expressway-C
or Unity Connection after "Refresh servers") can validate an access token locally.

The claims inside the JWE are *modelled* (no public capture exists): ``exp, iat, iss, typ, tid, ctyp: "access", ccid``
and ``sub`` (the user id). See ``docs/tokens.md``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# The keys and the JOSE primitives live in their own modules; their names stay importable from here.
from common.authzkeys import (  # noqa: F401
    AUTHZ_KEYS_PATH, VERIFIED_KEPT, AuthzKeys, EncryptionKey, KeyRing, SigningKey, keys_from_response,
)
from common.jose import TokenError, cbc_hmac_tag, pkcs7_unpad, b64url, b64url_decode  # noqa: F401

JWE_HEADER_BASE = {"alg": "dir", "enc": "A128CBC-HS256", "cty": "JWT"}
REFRESH_CLAIMS = ("exp", "iss", "typ", "tid", "ctyp", "ccid")


def issue_access_token(keys: AuthzKeys, claims: Mapping[str, Any]) -> str:
    if keys.signing.private_key is None:
        raise ValueError("only the cluster that owns the signing key issues tokens")
    jwe = encrypt_jwe(keys.encryption, json.dumps(dict(claims), separators=(",", ":")).encode())
    return sign_rs256({"private": jwe}, keys.signing)


def issue_refresh_token(keys: AuthzKeys, claims: Mapping[str, Any]) -> str:
    if set(claims) != set(REFRESH_CLAIMS):
        raise ValueError(f"a refresh token carries exactly {', '.join(REFRESH_CLAIMS)}")
    if keys.signing.private_key is None:
        raise ValueError("only the cluster that owns the signing key issues tokens")
    ordered = {name: claims[name] for name in REFRESH_CLAIMS}
    return sign_rs256(ordered, keys.signing)


_PKCS1V15 = rsa_padding.PKCS1v15()
_SHA256 = hashes.SHA256()


@functools.lru_cache(maxsize=64)
def _jws_header(kid: str) -> str:
    """The encoded protected header PyJWT writes for ``headers={"kid": kid}``: its keys sorted (``sort_headers``)."""
    return b64url(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}, separators=(",", ":"),
                             sort_keys=True).encode())


def sign_rs256(claims: Mapping[str, Any], key: SigningKey) -> str:
    """A compact RS256 JWS (RFC 7515 §7.1, RFC 7518 §3.3) of ``claims``: exactly the string
    ``jwt.encode(claims, key.private_key, algorithm="RS256", headers={"kid": key.kid})`` returns.

    RSASSA-PKCS1-v1_5 is deterministic, so the same header, claims and key give the same bytes; the test compares
    the two. CUCM signs two tokens per login: the RSA private operation (about 1 ms on this machine for a 2048-bit
    key) is the cost that remains; what goes is PyJWT's per-call work around it (the algorithm lookup, header
    checks, building the same header and padding objects again).
    """
    if key.private_key is None:
        raise ValueError("only the cluster that owns the signing key issues tokens")
    if "iss" in claims and not isinstance(claims["iss"], str):
        raise TypeError("Issuer (iss) must be a string.")  # PyJWT's own check (its issue #1039)
    payload = b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{_jws_header(key.kid)}.{payload}"
    signature = key.private_key.sign(signing_input.encode(), _PKCS1V15, _SHA256)
    return f"{signing_input}.{b64url(signature)}"


def read_access_token(token: str, ring: KeyRing, now: float) -> dict[str, Any]:
    """Verify the signature, decrypt, and check type and expiry; raise :class:`TokenError` with the reason.

    In one login the same token is read up to four times by Expressway-C's OAuthvalidator and twice by UDS; the ring
    remembers the tokens it verified (:class:`KeyRing`), so RSA and AES run on the first read and expiry on each.
    """
    claims = ring.verified(token)
    if claims is None:
        payload = _verify_jws(token, ring)
        private = payload.get("private")
        if set(payload) != {"private"} or not isinstance(private, str):
            raise TokenError("Wrong token type", "not an access token")
        claims = decrypt_jwe(private, ring)
        if claims.get("ctyp") != "access":
            raise TokenError("Wrong token type", f"ctyp {claims.get('ctyp')!r}")
        ring.remember(token, claims)
    _check_expiry(claims, now)
    return claims


def read_refresh_token(token: str, ring: KeyRing, now: float) -> dict[str, Any]:
    claims = _verify_jws(token, ring)
    if claims.get("ctyp") != "refresh" or "private" in claims:
        raise TokenError("Wrong token type", "not a refresh token")
    _check_expiry(claims, now)
    return claims


def token_digest(token: str) -> str:
    """The ``SHA256 sum of the refresh token`` CUCM logs and stores instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def access_claims(
    cluster_uuid: str, user: str, client_id: str, issued_at: float, lifetime: int, token_id: str | None = None
) -> dict[str, Any]:
    return {
        "exp": int(issued_at) + lifetime,
        "iat": int(issued_at),
        "iss": cluster_uuid,
        "typ": "user",
        "tid": token_id or str(uuid.uuid4()),
        "ctyp": "access",
        "ccid": client_id,
        "sub": user,
    }


def refresh_claims(cluster_uuid: str, client_id: str, issued_at: float, lifetime: int, token_id: str) -> dict[str, Any]:
    return {
        "exp": int(issued_at) + lifetime,
        "iss": cluster_uuid,
        "typ": "user",
        "tid": token_id,
        "ctyp": "refresh",
        "ccid": client_id,
    }


def encrypt_jwe(key: EncryptionKey, plaintext: bytes) -> str:
    header = b64url(json.dumps({**JWE_HEADER_BASE, "kid": key.kid}, separators=(",", ":")).encode())
    iv = os.urandom(16)
    mac_key, enc_key = key.secret[:16], key.secret[16:]
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    tag = cbc_hmac_tag(mac_key, header.encode(), iv, ciphertext)
    return ".".join((header, "", b64url(iv), b64url(ciphertext), b64url(tag)))


def decrypt_jwe(compact: str, ring: KeyRing) -> dict[str, Any]:
    parts = compact.split(".")
    if len(parts) != 5:
        raise TokenError("Malformed token", "the JWE does not have five parts")
    header_b64, encrypted_key, iv_b64, ct_b64, tag_b64 = parts
    try:
        header = json.loads(b64url_decode(header_b64))
        iv, ciphertext, tag = b64url_decode(iv_b64), b64url_decode(ct_b64), b64url_decode(tag_b64)
    except ValueError as exc:
        raise TokenError("Malformed token", "the JWE does not decode") from exc
    if not isinstance(header, dict) or {k: header.get(k) for k in JWE_HEADER_BASE} != JWE_HEADER_BASE:
        raise TokenError("Malformed token", "the JWE is not dir/A128CBC-HS256")
    if encrypted_key or len(iv) != 16 or not ciphertext or len(ciphertext) % 16:
        raise TokenError("Malformed token", "the JWE parts have the wrong size")
    key = ring.encryption(str(header.get("kid", "")))
    mac_key, enc_key = key.secret[:16], key.secret[16:]
    if not hmac.compare_digest(tag, cbc_hmac_tag(mac_key, header_b64.encode(), iv, ciphertext)):
        raise TokenError("Decryption failed", "authentication tag mismatch")
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        claims = json.loads(pkcs7_unpad(padded))
    except ValueError as exc:
        raise TokenError("Decryption failed", "bad padding or content") from exc
    if not isinstance(claims, dict):
        raise TokenError("Malformed token", "the claims are not an object")
    return claims


_COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")
_PLAIN_HEADER = frozenset({"alg", "typ", "kid"})
_CHECKED_CLAIMS = frozenset({"iat", "nbf", "aud"})


def _verify_jws(token: str, ring: KeyRing) -> dict[str, Any]:
    """Verify an RS256 JWS: the common case directly with ``cryptography``, anything unusual through PyJWT.

    PyJWT 2.15 checks every base64 character in Python on each of its three parses (header, decode, kid), which was
    the largest single cost of a login under load (docs/performance.md). A well-formed token signed by a lab key is
    verified here in one pass; a token that is malformed, forged, oddly padded or carries claims PyJWT would check
    goes to :func:`_verify_jws_pyjwt`, so every refusal keeps PyJWT's verdict and reason.
    """
    match = _COMPACT_JWS.fullmatch(token)
    if match is None or any(len(part) % 4 == 1 for part in match.groups()):
        return _verify_jws_pyjwt(token, ring)
    try:
        header = json.loads(b64url_decode(match[1]))
    except ValueError:
        return _verify_jws_pyjwt(token, ring)
    if not isinstance(header, dict) or not set(header) <= _PLAIN_HEADER or not isinstance(header.get("kid", ""), str):
        return _verify_jws_pyjwt(token, ring)
    if header.get("alg") != "RS256":
        raise TokenError("Invalid signature", f"algorithm {header.get('alg')!r} is not accepted")
    key = ring.signing(str(header.get("kid", "")))
    signing_input = f"{match[1]}.{match[2]}".encode()
    try:
        key.public_key.verify(b64url_decode(match[3]), signing_input, rsa_padding.PKCS1v15(), hashes.SHA256())
        claims = json.loads(b64url_decode(match[2]))
    except (InvalidSignature, ValueError):
        return _verify_jws_pyjwt(token, ring)
    if not isinstance(claims, dict) or _CHECKED_CLAIMS & set(claims):
        return _verify_jws_pyjwt(token, ring)
    return claims


def token_kid(token: str) -> str:
    """The ``kid`` of a JWS header, without verifying anything ("" when there is none or it cannot be read)."""
    head = token.split(".", 1)[0]
    try:
        header = json.loads(b64url_decode(head))
    except ValueError:
        return ""
    return str(header.get("kid", "")) if isinstance(header, dict) else ""


def _verify_jws_pyjwt(token: str, ring: KeyRing) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("Malformed token", str(exc)) from exc
    if header.get("alg") != "RS256":
        raise TokenError("Invalid signature", f"algorithm {header.get('alg')!r} is not accepted")
    key = ring.signing(str(header.get("kid", "")))
    try:
        claims = jwt.decode(token, key.public_key, algorithms=["RS256"], options={"verify_exp": False, "verify_aud": False})
    except jwt.InvalidSignatureError as exc:
        raise TokenError("Invalid signature", str(exc)) from exc
    except jwt.PyJWTError as exc:
        raise TokenError("Malformed token", str(exc)) from exc
    return claims


def _check_expiry(claims: Mapping[str, Any], now: float) -> None:
    exp = claims.get("exp")
    if not isinstance(exp, int):
        raise TokenError("Malformed token", "no exp claim")
    if now >= exp:
        raise TokenError("Token expired", f"expired {int(now - exp)} s ago")
