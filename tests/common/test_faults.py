"""The fault engine's decisions, without sockets."""

from __future__ import annotations

import pytest

from common.faults import Count, Exchange, Fault, FaultEngine, Match

E_TO_C = Exchange("expressway-c", "POST", "/bGFiLmV4YW1wbGU/localauthentication", "aokanlawon", "expressway-e",
                  "expc.lab.example")


def test_match_on_node_or_host_method_path_user_and_source() -> None:
    assert Match(node="expressway-c").matches(E_TO_C)
    assert Match(node="expc.lab.example").matches(E_TO_C)
    assert Match(method="post", path="localauth", user="AOKANLAWON", source="expressway-e").matches(E_TO_C)
    assert not Match(node="cucm:cluster1").matches(E_TO_C)
    assert not Match(path="^/OAuthcb").matches(E_TO_C)
    assert not Match(user="ntanborgeson").matches(E_TO_C)


@pytest.mark.parametrize(("count", "hits"), [
    (Count(first=2), [1, 2]),
    (Count(after=3), [4, 5, 6]),
    (Count(every=2), [2, 4, 6]),
    (Count(after=1, every=2), [2, 4, 6]),
    (Count(), [1, 2, 3, 4, 5, 6]),
])
def test_counts_pick_which_matching_exchanges_are_hit(count: Count, hits: list[int]) -> None:
    assert [n for n in range(1, 7) if count.admits(n)] == hits


def test_engine_counts_only_matching_exchanges_and_keeps_http_and_connection_apart() -> None:
    engine = FaultEngine()
    fault = engine.add(Fault("respond", Match(node="expressway-c"), Count(first=1), status=500))
    engine.add(Fault("refuse", Match(node="expressway-c")))
    other = Exchange("cucm:cluster1", "GET", "/cucm-uds/servers")
    assert engine.decide(other, http=True) == []
    assert [f.kind for f in engine.decide(E_TO_C, http=True)] == ["respond"]
    assert engine.decide(E_TO_C, http=True) == []
    assert engine.hits(fault.id) == 2
    assert [f.kind for f in engine.decide(E_TO_C, http=False)] == ["refuse"]
    assert engine.remove(fault.id) and not engine.remove(fault.id)
    engine.clear()
    assert engine.decide(E_TO_C, http=False) == []


def test_probability_is_seeded_and_repeatable() -> None:
    def draw(seed: int) -> list[bool]:
        engine = FaultEngine(seed=seed)
        engine.add(Fault("delay", probability=0.5, seconds=0))
        return [bool(engine.decide(E_TO_C, http=True)) for _ in range(40)]

    assert draw(7) == draw(7)
    assert 5 < sum(draw(7)) < 35


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "explode"}, "unknown fault kind"),
    ({"kind": "respond", "probability": 1.5}, "probability"),
    ({"kind": "respond", "status": 42}, "not an HTTP status"),
    ({"kind": "delay", "seconds": -1}, "negative"),
    ({"kind": "refuse", "match": Match(user="u")}, "cannot match a user"),
])
def test_impossible_faults_are_refused_with_a_reason(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        Fault(**kwargs)


def test_a_fault_on_a_node_reaches_the_ports_it_owns_and_one_on_a_port_only_that_port() -> None:
    xcp = Exchange("imp:imp:xcp", "TCP", source="expressway-c", host="imp.lab.example", owner="imp:imp")
    assert Match(node="imp:imp", source="expressway-c").matches(xcp)
    assert Match(node="imp:imp:xcp").matches(xcp)
    assert not Match(node="imp:imp:epas").matches(xcp)
    assert not Match(node="imp:imp").matches(Exchange("imp:imp:epas", "POST", host="imp.lab.example"))
