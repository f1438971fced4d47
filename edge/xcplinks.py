"""Expressway-E's XCP listener (7400): the links Expressway-C opened, waiting to carry XMPP sessions.

E never dials C. C's router keeps idle links open to E's 7400 (:class:`core.traversal.XcpLinks`); when a client's
XMPP session needs C, E takes one (:meth:`LinkPool.take`) and opens the link's stream on it, exactly as it opened
the stream of a link it dialled before the traversal zone was modelled. With no link from C — C down, 7400 blocked,
or E listening for 7400 on an interface C does not reach — there is nothing to take, and the client's stream ends
with ``remote-connection-failed`` (RFC 6120 section 4.9.3.16).

An idle link is watched for C closing it (a read that must return nothing until E speaks); taking the link cancels
the watch before the session reads from it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from common.streamserve import READ_SIZE
from common.zone import ACTIVE, FAILED, XCP, ZoneStatus


@dataclass(eq=False)
class PooledLink:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    watch: asyncio.Future[bytes] | None = None
    taken: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.writer.close()
        self.released.set()


class LinkPool:
    def __init__(self, zone: ZoneStatus, now: Callable[[], str]) -> None:
        self.zone, self.now = zone, now
        self.idle: list[PooledLink] = []
        self.busy: set[PooledLink] = set()
        self._arrived = asyncio.Event()
        self._update()

    def _update(self) -> None:
        count = len(self.idle) + len(self.busy)
        if count:
            self.zone.set(XCP, ACTIVE, connections=count, since=self.now())
        else:
            self.zone.set(XCP, FAILED, "No XCP link from Expressway-C", connections=0, since=self.now())

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A link from C: pooled until taken, then held until the session that took it ends."""
        link = PooledLink(reader, writer)
        link.watch = asyncio.ensure_future(reader.read(READ_SIZE))
        self.idle.append(link)
        self._arrived.set()
        self._update()
        try:
            await asyncio.wait({link.watch})
            if link.taken:
                self.busy.add(link)
                await link.released.wait()
        finally:
            if link in self.idle:
                self.idle.remove(link)
            self.busy.discard(link)
            self._update()

    async def take(self, wait: float = 5.0) -> PooledLink | None:
        """An open idle link from C, now the caller's (``release`` it at the session's end), or None.

        While C holds links to E but none is idle (a burst of sign-ins), wait up to ``wait`` seconds for the next one
        C opens: on the real product the sessions share one connection, so a burst never finds the link "busy"."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            link = await self._take_idle()
            if link is not None or not self.busy or loop.time() >= deadline:
                return link
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except asyncio.TimeoutError:
                return await self._take_idle()

    async def _take_idle(self) -> PooledLink | None:
        while self.idle:
            link = self.idle.pop(0)
            if link.reader.at_eof() or link.writer.is_closing() or (link.watch is not None and link.watch.done()):
                continue
            link.taken = True
            assert link.watch is not None
            link.watch.cancel()
            await asyncio.wait({link.watch})  # the watch's read has let go of the reader
            if link.watch.cancelled():
                return link
            link.release()  # C wrote or closed meanwhile: not a link to use
        return None
