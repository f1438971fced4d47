"""Authorization codes (single use, 299 s of lab time, bound to a client) and the refresh token table."""

from __future__ import annotations

import pytest

from common.clock import LabClock
from cucm_stub.errors import InvalidGrant
from cucm_stub.stores import ACTIVE, REVOKED, CodeStore, MemoryRefreshTokenStore, RefreshTokenRecord

CLIENT, OTHER = "C" + "1" * 64, "C" + "2" * 64


def test_code_is_redeemed_once() -> None:
    clock, codes = LabClock(), CodeStore()
    code = codes.issue("aokanlawon", CLIENT, "local", clock.timestamp())
    record = codes.redeem(code.value, CLIENT, clock.timestamp())
    assert (record.userid, record.client_id, record.realm) == ("aokanlawon", CLIENT, "local")
    with pytest.raises(InvalidGrant, match="already used"):
        codes.redeem(code.value, CLIENT, clock.timestamp())


def test_code_is_valid_for_299_seconds_of_lab_time() -> None:
    clock, codes = LabClock(), CodeStore()
    early = codes.issue("aokanlawon", CLIENT, "local", clock.timestamp())
    late = codes.issue("aokanlawon", CLIENT, "local", clock.timestamp())
    clock.advance(298)
    codes.redeem(early.value, CLIENT, clock.timestamp())
    clock.advance(1)
    with pytest.raises(InvalidGrant, match="expired") as caught:
        codes.redeem(late.value, CLIENT, clock.timestamp())
    assert caught.value.log_message() == "invalid_grant: authorization code expired"


def test_expired_codes_are_forgotten_and_refused() -> None:
    clock, codes = LabClock(), CodeStore()
    code = codes.issue("aokanlawon", CLIENT, "local", clock.timestamp())
    clock.advance(3600)
    codes.issue("ntanborgeson", CLIENT, "local", clock.timestamp())
    assert len(codes) == 1
    with pytest.raises(InvalidGrant):
        codes.redeem(code.value, CLIENT, clock.timestamp())


def test_code_of_another_client_is_refused_but_not_burnt() -> None:
    clock, codes = LabClock(), CodeStore()
    code = codes.issue("aokanlawon", CLIENT, "local", clock.timestamp())
    with pytest.raises(InvalidGrant, match="another client"):
        codes.redeem(code.value, OTHER, clock.timestamp())
    assert codes.redeem(code.value, CLIENT, clock.timestamp()).userid == "aokanlawon"


def test_unknown_code_is_invalid_grant() -> None:
    with pytest.raises(InvalidGrant, match="invalid authorization code"):
        CodeStore().redeem("never-issued", CLIENT, LabClock().timestamp())


def test_codes_are_opaque_unique_and_kept_out_of_repr() -> None:
    clock, codes = LabClock(), CodeStore()
    issued = [codes.issue("aokanlawon", CLIENT, "local", clock.timestamp()) for _ in range(50)]
    values = {c.value for c in issued}
    assert len(values) == 50
    assert all(len(v) >= 40 and "aokanlawon" not in v for v in values)
    assert issued[0].value not in repr(issued[0])


def test_code_lifetime_is_configurable() -> None:
    clock, codes = LabClock(), CodeStore(lifetime=10)
    code = codes.issue("aokanlawon", CLIENT, "local", clock.timestamp())
    clock.advance(10)
    with pytest.raises(InvalidGrant, match="expired"):
        codes.redeem(code.value, CLIENT, clock.timestamp())


def row(tid: str, user: str = "aokanlawon", client: str = CLIENT, validity: int = 1000) -> RefreshTokenRecord:
    return RefreshTokenRecord(tid, "digest-" + tid, user, client, validity)


def test_refresh_store_revokes_by_user_and_client() -> None:
    store = MemoryRefreshTokenStore()
    for record in (row("t1"), row("t2", client=OTHER), row("t3", user="ntanborgeson")):
        store.add(record)
    assert store.revoke("aokanlawon", OTHER) == 1
    assert [store.get(t).state for t in ("t1", "t2", "t3")] == [ACTIVE, REVOKED, ACTIVE]  # type: ignore[union-attr]
    assert store.revoke("aokanlawon") == 1
    assert store.get("t1").state == REVOKED  # type: ignore[union-attr]
    assert store.revoke("aokanlawon") == 0


def test_refresh_store_flushes_expired_rows() -> None:
    store = MemoryRefreshTokenStore()
    store.add(row("old", validity=100))
    store.add(row("new", validity=200))
    assert store.flush_expired(150) == 1
    assert store.get("old") is None and store.get("new") is not None
