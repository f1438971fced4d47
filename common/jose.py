"""JOSE primitives shared by CUCM's tokens: base64url segments (RFC 7515 section 2), the refusal error, and the
A128CBC-HS256 tag and padding of RFC 7518 section 5.2.
"""

from __future__ import annotations

import base64
import binascii
import hmac


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


def cbc_hmac_tag(mac_key: bytes, aad: bytes, iv: bytes, ciphertext: bytes) -> bytes:
    al = (len(aad) * 8).to_bytes(8, "big")
    return hmac.digest(mac_key, aad + iv + ciphertext + al, "sha256")[:16]


def pkcs7_unpad(padded: bytes) -> bytes:
    """PKCS#7 unpadding for 128-bit blocks, as ``padding.PKCS7(128).unpadder()`` does it: the last byte n (1 to 16)
    and the n bytes it covers must all be n, else :class:`ValueError`. The input is whole blocks (checked above).

    The padder object costs more than the check itself, and the OAuthvalidator and UDS decrypt several tokens a login.
    The tag was verified first, so only a key holder could make the padding wrong; timing reveals nothing new.
    """
    n = padded[-1] if padded else 0
    if not 1 <= n <= 16 or len(padded) < n or padded[-n:] != bytes((n,)) * n:
        raise ValueError("Invalid padding bytes.")
    return padded[:-n]
