"""Graceful overload on Expressway-E: beyond a bound of transactions in flight, answer ``503`` at once.

An edge that accepts everything under overload queues without bound: its pool toward Expressway-C grows, C's calls to
its own OAuthvalidator time out, and file descriptors run out, so every client waits 30 s and many never get an answer
at all (docs/performance.md, issue 18's storm at 200 logins/s). Shedding early keeps the work that was admitted fast
and tells the others when to come back: ``503 Service Unavailable`` with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3),
which Jabber, like any HTTP client, treats as "try again later". The middleware sits inside traffic_server's, so a
shed request still gets its Txn-id, its "Receive Request" line and its "Sending HTTP error response" line: no
transaction E received ends unlogged. The bound and the Retry-After seconds are modelled (the real Expressway's
limits are not published); ``[expressway_e] max_in_flight`` sets the bound.

XMPP has its own bound (:class:`XmppAdmission`): beyond ``xmpp_max_sessions`` client sessions, or
``xmpp_max_signins`` sign-ins not yet authenticated (each holds C's router and IM&P's auth component), E answers a new
stream with the ``resource-constraint`` stream error (RFC 6120 §4.9.3.17: "the server lacks the system resources
necessary to service the stream") as soon as the client's stream header arrives, and logs it. The bounds are modelled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from common.logformats.expressway import TRAFFIC_SERVER
from common.nodelog import ExpresswayLog
from common.trafficlog import MODULE, TXN_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Admission:
    """Counts the transactions in flight; one more than ``limit`` is refused rather than queued."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.shed = 0

    def admit(self) -> bool:
        if self.in_flight >= self.limit:
            self.shed += 1
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1


def overload_middleware(admission: Admission, log: ExpresswayLog, retry_after: int = 1
                        ) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not admission.admit():
            log.write(TRAFFIC_SERVER, "WARN", {"Detail": "Request refused", "Txn-id": request.get(TXN_KEY, ""),
                                               "Reason": "Service overloaded",
                                               "In-flight": admission.in_flight}, module=MODULE)
            return web.Response(status=503, reason="Service Unavailable", text="Service Unavailable\n",
                                headers={"Retry-After": str(retry_after)})
        try:
            return await handler(request)
        finally:
            admission.release()

    return middleware


class XmppAdmission:
    """Counts E's XMPP client sessions and the sign-ins among them still in progress."""

    def __init__(self, max_sessions: int, max_signins: int) -> None:
        self.max_sessions, self.max_signins = max_sessions, max_signins
        self.sessions = self.signing_in = self.shed = 0

    def enter(self) -> str:
        """Admit a new client stream (it counts as a sign-in in progress), or the reason it is refused."""
        if self.sessions >= self.max_sessions:
            self.shed += 1
            return f"{self.sessions} XMPP sessions (limit {self.max_sessions})"
        if self.signing_in >= self.max_signins:
            self.shed += 1
            return f"{self.signing_in} sign-ins in progress (limit {self.max_signins})"
        self.sessions += 1
        self.signing_in += 1
        return ""

    def signed_in(self) -> None:
        self.signing_in -= 1

    def leave(self, signing_in: bool) -> None:
        self.sessions -= 1
        if signing_in:
            self.signing_in -= 1
