"""Expressway-E's automated intrusion protection for the "HTTP proxy authorization failure" category.

Expressway counts failed authorizations of proxied MRA requests per source address; more than the trigger level within
the detection window blocks that address for the block duration (mra-facts section 6: more than 5 failures → 10
minutes). A client that keeps replaying an expired token locks itself out — and, behind a shared NAT address,
everybody else with it. The real product blocks in its firewall, so a blocked client's connections are dropped before
traffic_server sees them; the security log says so.

The decision is pure: :class:`IntrusionProtection` is told about failures and asked about addresses, on the lab clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from common.clock import LabClock
from common.logformats.expressway import FAIL2BAN
from common.nodelog import ExpresswayLog
from common.trafficlog import peer

CATEGORY = "http-proxy-auth-failure"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class IntrusionProtection:
    trigger: int = 5
    window: float = 60.0
    block: float = 600.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _blocked: dict[str, float] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        """Whether any address is blocked now or was until it expired (a single look on every request)."""
        return bool(self._blocked)

    def blocked_until(self, address: str, now: float) -> float | None:
        until = self._blocked.get(address)
        if until is not None and now >= until:
            del self._blocked[address]
            self._failures.pop(address, None)
            return None
        return until

    def failure(self, address: str, now: float) -> bool:
        """Count one authorization failure; True when it tips the address over the trigger level."""
        recent = self._failures.setdefault(address, deque())
        recent.append(now)
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) > self.trigger and address not in self._blocked:
            self._blocked[address] = now + self.block
            return True
        return False


def intrusion_middleware(protection: IntrusionProtection, clock: LabClock,
                         log: ExpresswayLog) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Drop blocked addresses before traffic_server sees them; count the 401s the edge relays back to clients."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        address = peer(request)[0]
        # Nothing blocked (the usual case): no clock read and no lookup; a block is seen from its first request on.
        until = protection.blocked_until(address, clock.timestamp()) if protection.blocking else None
        if until is not None:
            log.write(FAIL2BAN, "INFO", {"Event": "Connection dropped", "Category": CATEGORY, "Src-ip": address,
                                         "Blocked-for": f"{int(until - clock.timestamp())}s"})
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=403)
        response = await handler(request)
        if response.status == 401 and protection.failure(address, clock.timestamp()):
            log.write(FAIL2BAN, "WARN", {"Event": "Intrusion detected", "Category": CATEGORY, "Src-ip": address,
                                         "Detail": f"more than {protection.trigger} authorization failures in "
                                                   f"{int(protection.window)}s; address blocked",
                                         "Duration": f"{int(protection.block)}s"})
        return response

    return middleware
