"""Headless Chromium for the SSO test: the training page's DevTools driver (``tests/ui/cdpbrowser.py``) pointed at
the lab's names.

``--host-resolver-rules`` is the browser's view of the lab's DNS, mapping each nominal ``host:port`` onto the
loopback port the node really listens on, so the browser sends the real ``Host`` and follows the real redirects.
HTTPS-Upgrades stay off (a plain-HTTP lab stays plain). Over TLS the browser trusts the lab's certificates by
their public keys (``--ignore-certificate-errors-spki-list``, Chromium's way to trust given keys without an NSS
database), as a browser with the enterprise CA installed trusts them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typing import Any

from tests.ui.cdpbrowser import READY, Browser, chromium

__all__ = ["Chromium", "chromium"]


class Chromium(Browser):
    """``async with Chromium({"expe.lab.example:8443": "127.0.0.1:18443"}) as browser``."""

    def __init__(self, hosts: Mapping[str, str], trusted: Iterable[bytes] = ()) -> None:
        """``trusted``: PEM certificates whose keys the browser accepts (the lab's, from ``LabTls``)."""
        rules = ",".join(f"MAP {name} {target}" for name, target in hosts.items())
        spki = ",".join(_spki(pem) for pem in trusted)
        super().__init__(f"--host-resolver-rules={rules}",
                         "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
                         *([f"--ignore-certificate-errors-spki-list={spki}"] if spki else []))

    async def __aenter__(self) -> Chromium:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def evaluate(self, expression: str) -> Any:
        """None while the page is being replaced (a redirect, a form POST): the caller polls again."""
        try:
            return await super().evaluate(expression)
        except AssertionError:
            return None

    async def wait_for(self, expression: str, timeout: float = READY) -> Any:
        """Poll until ``expression`` is truthy: a readiness wait, so a slow machine only waits longer."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                seen = await self.evaluate("location.href + ' | ' + document.body.innerText.slice(0, 300)")
                raise AssertionError(f"never true: {expression}; page: {seen}")
            await asyncio.sleep(0.1)


def _spki(pem: bytes) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)), the form Chromium's SPKI list takes."""
    key = x509.load_pem_x509_certificate(pem).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()
