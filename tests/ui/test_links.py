"""Shared links read into what the page does, or into a sentence on the page."""

from __future__ import annotations

from ui.links import read_link

NAMES = ["healthy-login", "oauthlocal-off", "wrong-password-oauth"]


def test_a_good_link_starts_its_scenario_in_step_mode() -> None:
    boot = read_link([("scenario", "oauthlocal-off"), ("step", "1")], NAMES, NAMES[1:])
    assert (boot.scenario, boot.step, boot.exercise, boot.problems) == ("oauthlocal-off", True, None, [])


def test_an_exercise_link_keeps_the_known_names_and_says_which_were_not() -> None:
    boot = read_link([("exercise", "wrong-password-oauth,nope,oauthlocal-off")], NAMES, NAMES[1:])
    assert boot.exercise == ["wrong-password-oauth", "oauthlocal-off"]
    assert "'nope'" in boot.problems[0]
    assert read_link([("exercise", "")], NAMES, NAMES[1:]).exercise == NAMES[1:]


def test_bad_links_explain_themselves_and_never_fail() -> None:
    boot = read_link([("scenario", "</script>x"), ("step", "maybe"), ("zoom", "2"), ("step", "1"),
                      ("exercise", "a" * 5000)], NAMES, NAMES[1:])
    assert boot.scenario is None and boot.step is False
    assert len(boot.problems) == 5
    assert any("no scenario named '</script>x'" in p for p in boot.problems)
    both = read_link([("scenario", "healthy-login"), ("exercise", "oauthlocal-off")], NAMES, NAMES[1:])
    assert both.scenario is None and both.exercise == ["oauthlocal-off"] and both.problems
