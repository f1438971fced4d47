"""What ssosp remembers between requests: authorization codes and issued refresh tokens.

Codes (RFC 6749 §4.1.2, §10.5) are opaque, short-lived and single-use: ssosp hands one out from ``authorize_proxy``
with ``expires_in=299`` and redeems it once at ``access_token``. A code is kept under its SHA-256, so the store holds
nothing a memory dump could replay, and redeemed codes are remembered until they would have expired so that a second
use is told apart from a code never issued.

Refresh tokens are self-describing (a signed JWT) but CUCM still records each one in ``refreshtokendetails
(pkid, refreshtokenindex, userid, clientid, validity, state)`` so it can revoke them (mra-facts §5). The store here is
that table behind a small protocol; an in-memory implementation serves now and a SQLite one can replace it unchanged.
"""

from __future__ import annotations

import heapq
import secrets
from dataclasses import dataclass, replace
from typing import Protocol

from common.tokens import token_digest
from cucm_stub.errors import InvalidGrant

CODE_LIFETIME = 299
ACTIVE = "active"
REVOKED = "revoked"


@dataclass(frozen=True)
class AuthorizationCode:
    """A code's record; ``value`` is only set on the copy returned by :meth:`CodeStore.issue`."""

    userid: str
    client_id: str
    realm: str
    expires_at: float
    value: str = ""

    def __repr__(self) -> str:
        return f"AuthorizationCode(userid={self.userid!r}, client_id={self.client_id!r}, expires_at={self.expires_at})"


class CodeStore:
    """Authorization codes bound to a user and a client, valid ``lifetime`` seconds of lab time, usable once."""

    def __init__(self, lifetime: int = CODE_LIFETIME) -> None:
        self.lifetime = lifetime
        self._live: dict[str, AuthorizationCode] = {}
        self._redeemed: dict[str, float] = {}
        # (forget at, key) for each entry: a purge pops what is due instead of scanning every code of a login storm
        self._live_due: list[tuple[float, str]] = []
        self._redeemed_due: list[tuple[float, str]] = []

    def issue(self, userid: str, client_id: str, realm: str, now: float) -> AuthorizationCode:
        self._purge(now)
        value = secrets.token_urlsafe(32)
        record = AuthorizationCode(userid, client_id, realm, now + self.lifetime)
        key = token_digest(value)
        self._live[key] = record
        heapq.heappush(self._live_due, (record.expires_at + self.lifetime, key))
        return replace(record, value=value)

    def redeem(self, value: str, client_id: str, now: float) -> AuthorizationCode:
        """The code's record, consumed; :class:`InvalidGrant` if it is unknown, used, expired or someone else's.

        A code presented by the wrong client is not consumed: the rightful client may still redeem it (RFC 6749
        §4.1.3 asks only that it be refused to the other one).
        """
        key = token_digest(value)
        self._purge(now)
        record = self._live.get(key)
        if record is None:
            if key in self._redeemed:
                raise InvalidGrant("authorization code already used")
            raise InvalidGrant("invalid authorization code", "authorization code unknown or expired")
        if now >= record.expires_at:
            del self._live[key]
            raise InvalidGrant("authorization code expired")
        if record.client_id != client_id:
            raise InvalidGrant("authorization code was issued to another client",
                               f"authorization code was issued to client {record.client_id}, not {client_id}")
        del self._live[key]
        self._redeemed[key] = record.expires_at
        heapq.heappush(self._redeemed_due, (record.expires_at, key))
        return record

    def __len__(self) -> int:
        return len(self._live)

    def _purge(self, now: float) -> None:
        while self._live_due and now >= self._live_due[0][0]:
            due, key = heapq.heappop(self._live_due)
            record = self._live.get(key)
            if record is not None and record.expires_at + self.lifetime == due:
                del self._live[key]
        while self._redeemed_due and now >= self._redeemed_due[0][0]:
            due, key = heapq.heappop(self._redeemed_due)
            if self._redeemed.get(key) == due:
                del self._redeemed[key]


@dataclass(frozen=True)
class RefreshTokenRecord:
    """One row of ``refreshtokendetails``; ``index`` is the token's SHA-256 (what CUCM logs), ``validity`` its exp."""

    tid: str
    index: str
    userid: str
    client_id: str
    validity: int
    state: str = ACTIVE


class RefreshTokenStore(Protocol):
    """The table of issued refresh tokens, keyed by token id (the ``tid`` claim)."""

    def add(self, record: RefreshTokenRecord) -> None: ...

    def get(self, tid: str) -> RefreshTokenRecord | None: ...

    def revoke(self, userid: str, client_id: str | None = None) -> int: ...

    def flush_expired(self, now: float) -> int: ...


class MemoryRefreshTokenStore:
    """:class:`RefreshTokenStore` in a dict; lost when the node stops, like a CUCM without a database."""

    def __init__(self) -> None:
        self._rows: dict[str, RefreshTokenRecord] = {}

    def add(self, record: RefreshTokenRecord) -> None:
        self._rows[record.tid] = record

    def get(self, tid: str) -> RefreshTokenRecord | None:
        return self._rows.get(tid)

    def revoke(self, userid: str, client_id: str | None = None) -> int:
        """Mark a user's tokens revoked (``/ssosp/token/revoke?user_id=…[&client_id=…]``); returns how many."""
        hits = [r for r in self._rows.values()
                if r.userid == userid and r.state == ACTIVE and client_id in (None, r.client_id)]
        for row in hits:
            self._rows[row.tid] = replace(row, state=REVOKED)
        return len(hits)

    def flush_expired(self, now: float) -> int:
        """Drop expired rows, as CUCM's daily 02:00 job does; returns how many."""
        gone = [tid for tid, row in self._rows.items() if now >= row.validity]
        for tid in gone:
            del self._rows[tid]
        return len(gone)

    def __len__(self) -> int:
        return len(self._rows)
