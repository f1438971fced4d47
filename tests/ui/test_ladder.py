"""The live ladder: the lab's own records through the analyzer, numbered as ``mrasim run`` numbers them."""

from __future__ import annotations

from lab.events import LogRecord, follow
from scenarios.play import play
from scenarios.scenario import find
from ui import ladder


async def _played(name: str) -> tuple[list[LogRecord], list[tuple[int, str]], str]:
    records: list[LogRecord] = []
    scenario = find(name)
    result = await play(scenario, None, on_lab=lambda running: follow(running, records.append))
    entries = [(e.number, e.name) for step in result.steps for e in step.entries if e.number is not None]
    return records, entries, scenario.lab.user(scenario.lab.jabber.userid).password


async def test_live_ladder_numbers_every_hop_as_mrasim_run_does() -> None:
    records, entries, _ = await _played("healthy-login")
    built = ladder.build(records)
    numbers = ladder.runner_numbers(built.rows)
    assert numbers[:len(entries)] == entries
    assert [name for _, name in numbers[:8]] == ["get_edge_sso", "authorize", "localauthentication",
                                                 "edgeconfigprovision", "authorize_proxy", "OAuthcb",
                                                 "access_token", "OAuthvalidator"]
    assert built.broke is None
    assert {r["node"] for r in [{"node": rec.node} for rec in records]} >= {"jabber", "expressway-e", "expressway-c"}


async def test_an_arrow_carries_its_request_answer_and_the_log_lines_tied_to_it() -> None:
    records, _, password = await _played("healthy-login")
    rows = ladder.build(records).rows
    post = next(r for r in rows if r["kind"] == "arrow" and r["src"] == "Jabber" and r["step"] == "localauthentication")
    assert post["request"].startswith("POST ") and "password=<CONCEALED>" in post["request"]
    assert post["answer"].startswith("HTTP/1.1 302")
    logs = post["logs"]
    by_log = {line["log"] for line in logs}
    assert {"expressway-e.log", "expressway-c.log", "cucm.log"} <= by_log
    assert any(line["tie"].startswith(f"Txn-id {post['txn']}") for line in logs if line["log"] == "expressway-e.log")
    assert any(post["tracking"] in line["tie"] for line in logs if line["log"] == "expressway-c.log")
    text = "\n".join(str(r.get(k, "")) for r in rows for k in ("request", "answer", "label")) + "\n".join(
        str(line["text"]) for r in rows for line in r.get("logs", []))
    assert password not in text


async def test_a_failing_login_breaks_where_cucm_refused_it_and_is_diagnosed() -> None:
    records, _, _ = await _played("wrong-password-oauth")
    built = ladder.build(records, final=True)
    broke = built.rows[built.broke]
    assert (broke["src"], broke["dst"], broke["status"]) == ("CUCM", "Expressway-C", 401)
    finding = ladder.diagnosis(built)
    assert finding is not None and finding["fix"] and finding["document"] and finding["evidence"]


def test_lanes_come_from_the_lab_and_sit_in_their_zones() -> None:
    lanes = ladder.lanes(["jabber", "expressway-e", "expressway-c", "cucm:cluster1", "cucm:cluster1:sub1",
                          "imp:imp", "idp", "sip"])
    assert [lane["name"] for lane in lanes] == ["Jabber", "IdP", "Expressway-E", "Expressway-C", "CUCM", "IM&P",
                                                "SIP peer"]
    zones = {lane["name"]: lane["zone"] for lane in lanes}
    assert zones["Jabber"] == zones["IdP"] == "Internet" and zones["Expressway-E"] == "DMZ"
    assert zones["Expressway-C"] == zones["CUCM"] == "Inside"
    assert [lane["name"] for lane in ladder.lanes(["jabber", "tftp"])] == ["Jabber", "tftp"]


def test_a_sink_hands_each_record_to_its_listeners_until_they_unsubscribe() -> None:
    from common.nodelog import LineSink

    sink, seen = LineSink(), []
    stop = sink.subscribe(seen.append)
    sink.msg("one")
    stop()
    sink.msg("two")
    assert seen == ["one"] and list(sink.records) == ["one", "two"]


async def test_an_sso_login_draws_the_browser_at_the_idp_and_keeps_mrasim_runs_numbers() -> None:
    records, entries, _ = await _played("healthy-sso-login")
    built = ladder.build(records)
    assert ladder.runner_numbers(built.rows)[:len(entries)] == entries
    idp = [r for r in built.rows if r["kind"] == "arrow" and "IdP" in (r["src"], r["dst"])]
    assert [(r["src"], r["step"]) for r in idp] == [("Jabber", "idp_sso"), ("IdP", "idp_sso"), ("Jabber", "idp_login"),
                                                     ("IdP", "idp_login")]
    assert any(line["log"] == "idp.log" for r in idp for line in r["logs"])
    assert "IdP" in [lane["name"] for lane in ladder.lanes([r.node for r in records])]


def test_every_scenario_a_lesson_names_is_in_the_catalogue() -> None:
    from scenarios.scenario import catalog
    from ui.lessons import LESSONS

    names = {s.name for s in catalog()}
    named = {name for lesson in LESSONS.values() for name in lesson.scenarios}
    assert named <= names, named - names
