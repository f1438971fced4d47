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

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

JWE_HEADER_BASE = {"alg": "dir", "enc": "A128CBC-HS256", "cty": "JWT"}
REFRESH_CLAIMS = ("exp", "iss", "typ", "tid", "ctyp", "ccid")


class TokenError(ValueError):
    """A token that must be refused; ``reason`` is what credentialmanager/OAuthinspector would log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


_URLSAFE_DECODE = bytes.maketrans(b"-_", b"+/")


def b64url_decode(text: str) -> bytes:
    """``base64.urlsafe_b64decode`` of the padded text, without its three layers of Python wrappers.

    Same bytes and the same refusals (a :class:`ValueError`: ``binascii.Error`` for bad padding, the same message for
    non-ASCII text); every token read decodes five to seven segments.
    """
    try:
        data = (text + "=" * (-len(text) % 4)).encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("string argument should contain only ASCII characters") from None
    return binascii.a2b_base64(data.translate(_URLSAFE_DECODE), strict_mode=False)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    public_key: rsa.RSAPublicKey
    private_key: rsa.RSAPrivateKey | None = None

    @property
    def checksum(self) -> str:
        return self.kid.rsplit(":", 1)[1]

    def public_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def private_pem(self) -> str:
        if self.private_key is None:
            raise ValueError("this copy of the signing key holds no private part")
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @classmethod
    def generate(cls, cluster_uuid: str) -> SigningKey:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls(_kid(cluster_uuid, _der(private.public_key())), private.public_key(), private)

    @classmethod
    def from_pem(cls, cluster_uuid: str, pem: str) -> SigningKey:
        loaded = serialization.load_pem_private_key(pem.encode(), None) if "PRIVATE" in pem else None
        if loaded is not None:
            assert isinstance(loaded, rsa.RSAPrivateKey)
            return cls(_kid(cluster_uuid, _der(loaded.public_key())), loaded.public_key(), loaded)
        public = serialization.load_pem_public_key(pem.encode())
        if not isinstance(public, rsa.RSAPublicKey):
            raise ValueError("the signing key must be RSA")
        return cls(_kid(cluster_uuid, _der(public)), public)


@dataclass(frozen=True)
class EncryptionKey:
    kid: str
    secret: bytes

    @property
    def checksum(self) -> str:
        return self.kid.rsplit(":", 1)[1]

    @classmethod
    def generate(cls, cluster_uuid: str) -> EncryptionKey:
        return cls.from_secret(cluster_uuid, os.urandom(32))

    @classmethod
    def from_secret(cls, cluster_uuid: str, secret: bytes) -> EncryptionKey:
        if len(secret) != 32:
            raise ValueError("A128CBC-HS256 needs a 256-bit key")
        return cls(_kid(cluster_uuid, secret), secret)


@dataclass(frozen=True)
class AuthzKeys:
    """A cluster's key pair for OAuth, as generated by its publisher."""

    cluster_uuid: str
    signing: SigningKey
    encryption: EncryptionKey

    @classmethod
    def generate(cls, cluster_uuid: str) -> AuthzKeys:
        return cls(cluster_uuid, SigningKey.generate(cluster_uuid), EncryptionKey.generate(cluster_uuid))

    def export(self) -> dict[str, str]:
        """What a resource server fetches: the public signing key and the encryption key (modelled body)."""
        return {
            "cluster": self.cluster_uuid,
            "signing_kid": self.signing.kid,
            "signing_public_key": self.signing.public_pem(),
            "encryption_kid": self.encryption.kid,
            "encryption_key": b64url(self.encryption.secret),
        }

    @classmethod
    def from_export(cls, data: Mapping[str, Any]) -> AuthzKeys:
        try:
            cluster = str(data["cluster"])
            signing = SigningKey.from_pem(cluster, str(data["signing_public_key"]))
            encryption = EncryptionKey.from_secret(cluster, b64url_decode(str(data["encryption_key"])))
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"not an AuthZ key export: {exc}") from exc
        if signing.kid != data.get("signing_kid") or encryption.kid != data.get("encryption_kid"):
            raise ValueError("AuthZ key export: checksum does not match the key")
        return cls(cluster, signing, encryption)


AUTHZ_KEYS_PATH = "/ssosp/token/authz_keys"


def keys_from_response(status: int, body: bytes) -> AuthzKeys | None:
    """The keys in an answer to ``GET /ssosp/token/authz_keys`` (modelled path), or None if it holds none."""
    if status != 200:
        return None
    try:
        return AuthzKeys.from_export(json.loads(body))
    except ValueError:
        return None


VERIFIED_KEPT = 1024


class KeyRing:
    """The AuthZ keys a validator holds, found by kid (Expressway-C may hold several clusters' keys).

    It also remembers the access tokens it has already verified and decrypted (:func:`read_access_token`): the
    signature and the JWE are fixed by the token's bytes and these keys, so a second look at the same token comes to
    the same result. Only the outcome of those two steps is kept; expiry is checked on every read against the clock
    of that moment, and any refusal is worked out again each time. Adding a key forgets everything.
    """

    def __init__(self, keys: tuple[AuthzKeys, ...] = ()) -> None:
        self._signing: dict[str, SigningKey] = {}
        self._encryption: dict[str, EncryptionKey] = {}
        self._issuers: dict[str, str] = {}
        self._verified: dict[str, dict[str, Any]] = {}
        for entry in keys:
            self.add(entry)

    def verified(self, token: str) -> dict[str, Any] | None:
        """The claims of an access token this ring verified and decrypted before (a copy), or None."""
        claims = self._verified.get(token)
        return None if claims is None else dict(claims)

    def remember(self, token: str, claims: dict[str, Any]) -> None:
        if len(self._verified) >= VERIFIED_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest: a login reads its token within seconds
        self._verified[token] = dict(claims)

    def add(self, keys: AuthzKeys, issuer: str = "") -> None:
        self._verified.clear()
        self._signing[keys.signing.kid] = keys.signing
        self._encryption[keys.encryption.kid] = keys.encryption
        self._issuers[keys.signing.kid] = issuer or keys.cluster_uuid

    def issuer(self, kid: str) -> str:
        return self._issuers.get(kid, "")

    def __len__(self) -> int:
        return len(self._signing)

    def signing(self, kid: str) -> SigningKey:
        try:
            return self._signing[kid]
        except KeyError:
            raise TokenError("No matching AuthZ key", f"signing kid {kid}") from None

    def encryption(self, kid: str) -> EncryptionKey:
        try:
            return self._encryption[kid]
        except KeyError:
            raise TokenError("No matching AuthZ key", f"encryption kid {kid}") from None


def issue_access_token(keys: AuthzKeys, claims: Mapping[str, Any]) -> str:
    if keys.signing.private_key is None:
        raise ValueError("only the cluster that owns the signing key issues tokens")
    jwe = encrypt_jwe(keys.encryption, json.dumps(dict(claims), separators=(",", ":")).encode())
    return jwt.encode({"private": jwe}, keys.signing.private_key, algorithm="RS256", headers={"kid": keys.signing.kid})


def issue_refresh_token(keys: AuthzKeys, claims: Mapping[str, Any]) -> str:
    if set(claims) != set(REFRESH_CLAIMS):
        raise ValueError(f"a refresh token carries exactly {', '.join(REFRESH_CLAIMS)}")
    if keys.signing.private_key is None:
        raise ValueError("only the cluster that owns the signing key issues tokens")
    ordered = {name: claims[name] for name in REFRESH_CLAIMS}
    return jwt.encode(ordered, keys.signing.private_key, algorithm="RS256", headers={"kid": keys.signing.kid})


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
    tag = _cbc_hmac_tag(mac_key, header.encode(), iv, ciphertext)
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
    if not hmac.compare_digest(tag, _cbc_hmac_tag(mac_key, header_b64.encode(), iv, ciphertext)):
        raise TokenError("Decryption failed", "authentication tag mismatch")
    decryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        claims = json.loads(_pkcs7_unpad(padded))
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


def _cbc_hmac_tag(mac_key: bytes, aad: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    al = (len(aad) * 8).to_bytes(8, "big")
    return hmac.digest(mac_key, aad + iv + ciphertext + al, "sha256")[:16]


def _pkcs7_unpad(padded: bytes) -> bytes:
    """PKCS#7 unpadding for 128-bit blocks, as ``padding.PKCS7(128).unpadder()`` does it: the last byte n (1 to 16)
    and the n bytes it covers must all be n, else :class:`ValueError`. The input is whole blocks (checked above).

    The padder object costs more than the check itself, and the OAuthvalidator and UDS decrypt several tokens a login.
    The tag was verified first, so only a key holder could make the padding wrong; timing reveals nothing new.
    """
    n = padded[-1] if padded else 0
    if not 1 <= n <= 16 or len(padded) < n or padded[-n:] != bytes((n,)) * n:
        raise ValueError("Invalid padding bytes.")
    return padded[:-n]


def _der(public: rsa.RSAPublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _kid(cluster_uuid: str, material: bytes) -> str:
    return f"{cluster_uuid}:{hashlib.sha256(material).hexdigest()}"
