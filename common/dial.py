"""The raw TCP dial of the XMPP path (Jabber → E's XMPP port, E → C's XCP link, C → IM&P), through the lab.

HTTP hops go through :class:`common.hop.HopClient`, which carries out the connection faults injected on them. The
XMPP/XCP links are plain streams, so without this one function a ``refuse`` on IM&P would leave C's router unharmed.
Every node dials here: the name is resolved by the lab's resolver, the faults are decided for the dialled port (and
the node behind it), and they fail the dial with the errors a real socket would raise — which the callers already
handle — with the same semantics as HopClient: ``refuse`` and ``reset`` at once, ``blackhole`` after its ``seconds``
as a timeout, ``latency`` as a wait before the real connection.
"""

from __future__ import annotations

import asyncio
import errno
import ssl

from common.faults import Exchange
from common.resolver import LabResolver


async def open_connection(resolver: LabResolver, host: str, port: int, *, source: str,
                          local_addr: tuple[str, int] | None = None, view: str = "internal",
                          tls: ssl.SSLContext | None = None, server_hostname: str | None = None,
                          ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Dial ``host:port`` by its lab name on behalf of the node ``source``.

    Raises :class:`common.resolver.NameError_` for a name the lab does not know, ``ConnectionRefusedError`` /
    ``ConnectionResetError`` for a refuse / reset fault, ``TimeoutError`` for a black hole, and whatever
    :func:`asyncio.open_connection` raises otherwise (all ``OSError``, ``ssl.SSLError`` for a failed handshake when
    ``tls`` is given; ``server_hostname`` is the name the peer's certificate must carry, ``host`` by default).
    """
    address, listen_port = resolver.locate(host, port, view)
    await connection_faults(resolver, host, port, source)
    if tls is None:
        return await asyncio.open_connection(address, listen_port, local_addr=local_addr)
    return await asyncio.open_connection(address, listen_port, local_addr=local_addr, ssl=tls,
                                         server_hostname=server_hostname or host, ssl_handshake_timeout=10)


async def connection_faults(resolver: LabResolver, host: str, port: int, source: str) -> None:
    """Carry out the connection faults on a dial of ``host:port`` by ``source`` (for a dial made by a library,
    such as asyncssh's for the SSH tunnel, that cannot go through :func:`open_connection`)."""
    if resolver.faults.faults:  # nothing to decide, and no counter to move, while no fault is set
        exchange = Exchange(resolver.node_name(host, port), "TCP", "", source=source, host=host,
                            owner=resolver.owner(host, port))
        for fault in resolver.faults.decide(exchange, http=False):
            if fault.kind == "latency":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "refuse":
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused (fault)")
            elif fault.kind == "reset":
                raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer (fault)")
            elif fault.kind == "blackhole":
                await asyncio.sleep(fault.seconds)
                raise TimeoutError("no answer in time (fault: black hole)")
