"""One shared XCP link on a socket: every XMPP session between two nodes on one connection, as the real XCP does.

Expressway-E and Expressway-C, and Expressway-C and IM&P, each keep one link (C dials both; mra-facts §1, §11) and
carry all their sessions on it (:mod:`common.xmpp.xcpsession` has the framing, docs/xmpp.md "The shared XCP link").
:class:`XcpMux` reads the link in one task and

* hands an ``xdb`` answer to the caller that asked the question with that ``id`` (:meth:`XcpMux.ask`);
* hands every other packet, in order, to the owner's ``on_packet`` — a plain function, so a session's packets are
  never reordered;
* when the link ends, fails every question still waiting with ``ConnectionError`` and returns the reason.

Whitespace between packets is the keep-alive (RFC 6120 §4.6.1) the dialling side sends; the reader skips it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

from common.streamserve import LinkReader
from common.xmpp.stream import Stanza, StreamError

LINK_MAX_PACKET = 1 << 20  # a session packet carries a client's read (4 KiB), base64; room for any IM&P stanza
KEEPALIVE = b" "


class XcpMux:
    def __init__(self, link: LinkReader, writer: asyncio.StreamWriter,
                 on_packet: Callable[[Stanza], None]) -> None:
        self.link, self.writer, self.on_packet = link, writer, on_packet
        self._waiting: dict[str, asyncio.Future[Stanza]] = {}
        self.ended = False

    async def run(self) -> str:
        """Read the link until it ends; the reason it ended (for the log)."""
        reason = "closed by peer"
        try:
            while True:
                stanza = await self.link.stanza(timeout=None)  # type: ignore[arg-type]
                node = stanza.element
                waiting = self._waiting.pop(node.get("id", ""), None) if node.get("type") == "result" else None
                if waiting is not None:
                    if not waiting.done():
                        waiting.set_result(stanza)
                    continue
                self.on_packet(stanza)
        except StreamError as exc:
            reason = f"stream error {exc.condition}"
            with contextlib.suppress(Exception):
                self.writer.write(exc.wire())
        except (ConnectionError, OSError, ssl.SSLError) as exc:
            reason = str(exc) or type(exc).__name__
        finally:
            self.close()
        return reason

    def send(self, data: bytes) -> None:
        if not self.ended and not self.writer.is_closing():
            self.writer.write(data)

    async def drain(self) -> None:
        """Wait while the link's send buffer is full (a session that floods it waits, the others do not)."""
        if not self.ended:
            with contextlib.suppress(ConnectionError, OSError):
                await self.writer.drain()

    async def ask(self, data: bytes, packet_id: str, timeout: float = 20.0) -> Stanza:
        """Send a question and wait for the ``result`` with its ``id``; ``ConnectionError`` if the link ends first."""
        if self.ended:
            raise ConnectionError("XCP link closed")
        answer: asyncio.Future[Stanza] = asyncio.get_running_loop().create_future()
        self._waiting[packet_id] = answer
        try:
            self.send(data)
            async with asyncio.timeout(timeout):
                return await answer
        finally:
            self._waiting.pop(packet_id, None)

    def close(self) -> None:
        """End the link: the socket closes and every waiting question fails."""
        if not self.ended:
            self.ended = True
            self.writer.close()
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(ConnectionError("XCP link lost"))
        self._waiting.clear()


async def keep_alive(mux: XcpMux, every: float) -> None:
    """Whitespace on the link every ``every`` seconds, so that a dead peer is found and NAT state kept."""
    while not mux.ended:
        await asyncio.sleep(every)
        mux.send(KEEPALIVE)


def no_verify_context() -> ssl.SSLContext:
    """Encrypt and verify nothing: a dial where the peer's "TLS verify mode" is Off."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
