"""Expressway-E's XCP listener (7400): the one link Expressway-C dialled, carrying every XMPP session.

E never dials C. C's router keeps one XCP link open to E's 7400 (:class:`core.traversal.XcpLinks`) and every client
session of E's connection manager rides it (:mod:`common.xcpmux`, framing in :mod:`common.xmpp.xcpsession`), as on
the real product: a client costs E its own socket and nothing more. C speaks first (it dialled) with its link header;
E answers with its own. Over TLS (the lab's default) the handshake comes first, and E checks C's certificate when it
presents one, as on the traversal zone's other links; a failed handshake is logged with OpenSSL's reason.

A second link from C (C restarted before E saw the first one go) replaces the first; the sessions of the old link end.
With no link — C down, 7400 blocked, or E listening for 7400 on an interface C does not reach — a client's stream
ends with ``remote-connection-failed`` (RFC 6120 section 4.9.3.16).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from common.streamserve import LinkReader
from common.xcpmux import LINK_MAX_PACKET, XcpMux
from common.xmpp.stream import StreamError, StreamOpened
from common.xmpp.xcp import link_header
from common.xmpp.xcpsession import SessionPacket, is_session, read_session
from common.zone import ACTIVE, FAILED, XCP, ZoneStatus


class RiddenSession(Protocol):
    """A client session riding the link, told what C sends it."""

    def from_core(self, packet: SessionPacket) -> None: ...

    def link_lost(self) -> None: ...


@dataclass(eq=False)
class EdgeLink:
    """The link C opened, and the sessions riding it by session id."""

    mux: XcpMux
    sessions: dict[str, RiddenSession] = field(default_factory=dict)


class CoreLink:
    def __init__(self, zone: ZoneStatus, now: Callable[[], str], cm: str, log: Callable[[str, str, str], None],
                 zone_log: Callable[[str, str, dict[str, object]], None]) -> None:
        """``log(level, location, detail)`` writes E's XCP_JABBERD line, ``zone_log(level, detail, fields)`` its
        ``tvcs`` line for the zone (``Module="network.xcp"``, as C logs its end of the link)."""
        self.zone, self.now, self.cm, self.log, self.zone_log = zone, now, cm, log, zone_log
        self.current: EdgeLink | None = None
        self._update()

    def _update(self) -> None:
        if self.current is not None:
            self.zone.set(XCP, ACTIVE, connections=1, since=self.now())
        else:
            self.zone.set(XCP, FAILED, "No XCP link from Expressway-C", connections=0, since=self.now())

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A link from C (over TLS, the listener's handshake done): the headers, then every session's packets."""
        link = LinkReader(reader, LINK_MAX_PACKET)
        try:
            opened = await link.next(timeout=10)
        except (ConnectionError, TimeoutError, StreamError, ssl.SSLError) as exc:
            self.log("ERROR", "JabberdConnection.cpp:233", f"XCP link from Expressway-C not opened: {exc}")
            return
        if not isinstance(opened, StreamOpened):
            return
        writer.write(link_header(opened.get("from"), self.cm))
        edge_link = EdgeLink(XcpMux(link, writer, lambda stanza: self._packet(edge_link, stanza)))
        old, self.current = self.current, edge_link
        if old is not None:
            old.mux.close()
        self._update()
        peer = writer.get_extra_info("peername") or ("", 0)
        self.zone_log("INFO", "XCP link accepted", {"Peer": f"{peer[0]}:{peer[1]}"})
        reason = await edge_link.mux.run()
        if self.current is edge_link:
            self.current = None
            self._update()
        self.zone_log("WARN", "XCP link lost", {"Peer": f"{peer[0]}:{peer[1]}", "Reason": reason,
                                                "Sessions": len(edge_link.sessions)})
        for session in list(edge_link.sessions.values()):
            session.link_lost()
        edge_link.sessions.clear()

    def _packet(self, edge_link: EdgeLink, stanza: object) -> None:
        element = stanza.element  # type: ignore[attr-defined]
        if not is_session(element):
            return  # an answer nobody waits for any more (its session ended)
        try:
            packet = read_session(element)
        except ValueError as exc:
            self.log("ERROR", "JabberdConnection.cpp:301", f"Bad session packet from Expressway-C: {exc}")
            return
        session = edge_link.sessions.get(packet.sid)
        if session is not None:
            if packet.end:
                edge_link.sessions.pop(packet.sid, None)
            session.from_core(packet)

    def count(self) -> int:
        return 1 if self.current is not None else 0
