"""Time-based authentication on the traversal link between Expressway-E and Expressway-C.

The traversal zone authenticates with the zone's credentials and a timestamp, which is why Cisco requires both
Expressways to be synchronised to NTP: when their clocks drift apart, the link's authentication fails and MRA requests
are refused (mra-facts section 9, "clock skew between E and C → 403"). The exact mechanism is not public; mrasim
models it as a header E adds to every request it relays — ``X-Traversal-Auth: <unix time>:<HMAC-SHA256 of the time
with the zone password>`` — which C checks against its own clock within :data:`WINDOW` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

HEADER = "X-Traversal-Auth"
WINDOW = 120


def stamp(password: str, now: float) -> str:
    moment = str(int(now))
    return f"{moment}:{_mac(password, moment)}"


def check(value: str | None, password: str, now: float, window: int = WINDOW) -> str | None:
    """None when the stamp is good; otherwise why it is not (the reason C logs)."""
    if not value:
        return "no traversal authentication"
    moment, _, mac = value.partition(":")
    if not moment.isdigit() or not hmac.compare_digest(mac, _mac(password, moment)):
        return "traversal credentials do not match"
    drift = now - int(moment)
    if abs(drift) > window:
        return f"timestamp {drift:+.0f} s outside the allowed {window} s (check NTP on both Expressways)"
    return None


@lru_cache(maxsize=256)
def _mac(password: str, moment: str) -> str:
    """Pure and per second: E stamps and C checks every relayed request, so each second's MAC is computed once."""
    return hmac.new(password.encode(), moment.encode(), hashlib.sha256).hexdigest()
