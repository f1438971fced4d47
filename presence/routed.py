"""A client session that reaches IM&P through Expressway-C's router: its bytes go back on the shared XCP link.

The node's hub delivers to a bound resource by writing to its endpoint; for a client on this node's own XMPP port
that is its socket, for an MRA client it is this object, which wraps the bytes in the session's packet
(:mod:`common.xmpp.xcpsession`) on the link they came from.
"""

from __future__ import annotations

from common.xcpmux import XcpMux
from common.xmpp.xcpsession import SessionPacket


class RoutedEndpoint:
    def __init__(self, mux: XcpMux, sid: str, component: str, router: str) -> None:
        self.mux, self.sid, self.component, self.router = mux, sid, component, router
        self.ended = False

    def write(self, data: bytes) -> None:
        if not self.is_closing():
            self.mux.send(SessionPacket(self.sid, self.router, self.component, data).wire())

    def is_closing(self) -> bool:
        return self.ended or self.mux.ended

    def end(self) -> None:
        """IM&P closed the session's stream: the router (and E, and the client) are told."""
        if not self.is_closing():
            self.mux.send(SessionPacket(self.sid, self.router, self.component, end=True).wire())
        self.ended = True
