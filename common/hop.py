"""The HTTP client a node uses to reach the next hop, by name, through the lab's resolver.

A request to ``http://cucm.lab.example:8443/…`` is sent to the loopback listener the resolver names, with
``Host: cucm.lab.example:8443``, so the receiving node sees what the real one would. Failures to reach the next hop
are one exception, :class:`HopError`, which an Expressway turns into ``502 Next Hop Connection Failed``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from common.faults import Exchange
from common.resolver import LabResolver, NameError_
from common.serve import tls_reason


class HopError(Exception):
    """The next hop could not be reached or did not answer: ``kind`` is ``dns``, ``connect``, ``tls`` (the handshake
    failed: ``detail`` has OpenSSL's reason, ``verify`` is True when *we* refused the peer's certificate) or
    ``timeout``."""

    def __init__(self, url: str, kind: str, detail: str) -> None:
        super().__init__(f"{url}: {kind}: {detail}")
        self.url, self.kind, self.detail = url, kind, detail
        self.verify = kind == "tls" and detail.startswith("certificate verify failed")


@dataclass(frozen=True)
class HopResponse:
    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    body: bytes
    elapsed: float

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


# Connections a node keeps toward all its peers at most. Beyond it a request waits for a free one rather than opening
# more: an unbounded pool grew to ~4,800 connections from E to C under overload (issue 18). Expressway-E sheds load
# long before (edge/overload.py), so in normal running the bound is never reached.
POOL_LIMIT = 512


class HopClient:
    """One per node: a pooled aiohttp session whose connections leave from the node's own address."""

    def __init__(self, resolver: LabResolver, local_address: str = "127.0.0.1", timeout: float = 10.0,
                 name: str = "", keepalive: float = 15.0, verify_name: str | None = None,
                 view: str = "internal", verify: bool = True,
                 connector: Callable[..., aiohttp.TCPConnector] = aiohttp.TCPConnector) -> None:
        """``keepalive``: how long an idle connection stays open for reuse (a storm client holds its own longer).
        ``connector``: the pool's class (Expressway-E's opens its connections to C as SSH channels, :mod:`edge.tunnel`).

        Over TLS the peer's certificate must carry the host name of the URL, or ``verify_name`` when given (Jabber
        checks Expressway-E against the services domain it discovered it through, RFC 6125 §6.2.1). ``verify`` False:
        encrypt, check no certificate (an administrator moving files, not a product checking a peer).
        """
        self.resolver = resolver
        self.name = name
        self.verify_name = verify_name
        self.view = view  # the DNS view the client resolves names in: Jabber is outside ("public")
        self.verify = verify
        self._local = local_address
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None
        self._connector = connector

    async def start(self) -> None:
        if self._session is None:
            # The lab's resolver has already turned the name into an address: no DNS resolver is needed, and the
            # default one (aiodns, when installed) left a ``DNSResolver.__del__`` traceback at a node's exit.
            connector = self._connector(limit=POOL_LIMIT, local_addr=(self._local, 0), force_close=False,
                                             keepalive_timeout=self._keepalive, resolver=aiohttp.ThreadedResolver())
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout,
                                                  skip_auto_headers=("User-Agent",), auto_decompress=True)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HopClient:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def target(self, url: str) -> tuple[URL, str]:
        """The loopback URL to dial for ``url``, and the ``Host`` header that names the real one."""
        nominal = URL(url)
        if nominal.host is None or nominal.port is None:
            raise HopError(url, "dns", "no host in URL")
        try:
            address, port = self.resolver.locate(nominal.host, nominal.port, self.view)
        except NameError_ as exc:
            raise HopError(url, "dns", str(exc)) from None
        dialled = nominal.with_host(address).with_port(port)
        if self.resolver.tls is None and dialled.scheme == "https":
            dialled = dialled.with_scheme("http")  # a plain-transport lab: the nodes listen without TLS
        return dialled, f"{nominal.host}:{nominal.port}"

    def _tls(self, target: URL, host: str) -> dict[str, Any]:
        """The ``ssl`` and ``server_hostname`` arguments for a request to ``host`` (nothing for plain HTTP)."""
        tls = self.resolver.tls
        if tls is None or target.scheme != "https":
            return {}
        context = tls.client_context(self.name, host) if self.verify else False
        if context is False:
            return {"ssl": False}
        return {"ssl": context, "server_hostname": self.verify_name or host}

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | CIMultiDict[str] | None = None,
        data: bytes | str | None = None,
    ) -> HopResponse:
        if self._session is None:
            await self.start()
        assert self._session is not None
        target, host = self.target(url)
        sent = CIMultiDict(headers or {})
        sent["Host"] = host
        started = time.perf_counter()
        if self.resolver.faults.faults:  # no coroutine to create and await on every request while none is set
            await self._connection_faults(url, method)
        try:
            async with self._session.request(method, target, headers=sent, data=data, allow_redirects=False,
                                             **self._tls(target, host.rpartition(":")[0])) as resp:
                body = await resp.read()
                return HopResponse(resp.status, resp.reason or "", resp.headers, body, time.perf_counter() - started)
        except asyncio.TimeoutError:
            raise HopError(url, "timeout", "no answer in time") from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise HopError(url, "tls", tls_reason(exc.certificate_error)) from None
        except aiohttp.ClientSSLError as exc:
            cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
            raise HopError(url, "tls", tls_reason(cause)) from None
        except aiohttp.ClientConnectionError as exc:
            raise HopError(url, "connect", str(exc) or type(exc).__name__) from None

    async def _connection_faults(self, url: str, method: str) -> None:
        """Carry out the connection faults injected on this hop (:mod:`common.faults`)."""
        engine = self.resolver.faults
        if not engine.faults:
            return
        nominal = URL(url)
        exchange = Exchange(self.resolver.node_name(nominal.host or "", nominal.port or 0), method, nominal.path,
                            source=self.name, host=nominal.host or "")
        for fault in engine.decide(exchange, http=False):
            if fault.kind == "latency":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "refuse":
                raise HopError(url, "connect", "Connection refused (fault)")
            elif fault.kind == "reset":
                raise HopError(url, "connect", "Connection reset by peer (fault)")
            elif fault.kind == "blackhole":
                await asyncio.sleep(fault.seconds)
                raise HopError(url, "timeout", "no answer in time (fault: black hole)")
