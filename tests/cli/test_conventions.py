"""The conventions every ``mrasim`` command shares (docs/cli.md), checked on the whole parser, so a command added later
is held to them too."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli.main import build_parser, main
from cli.output import CliError, cut, node_name, say_duration, subcommands, table

NODES = ["cucm:cluster1", "cucm:cluster1:cucm-sub1", "imp:imp", "unity", "expressway-c", "expressway-e"]


def all_commands() -> list[tuple[str, ...]]:
    return [words for words, _ in subcommands(build_parser())]


@pytest.mark.parametrize("words", all_commands(), ids=" ".join)
def test_every_command_help_has_a_description_an_example_and_text_for_each_argument(
        words: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*words, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    parser = dict(subcommands(build_parser()))[words]
    assert parser.description and len(parser.description) > 20
    assert "Example:" in out and f"mrasim {' '.join(words)}" in out.split("Example:")[1]
    for action in parser._actions:
        if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            assert action.help and action.help != argparse.SUPPRESS, f"{words}: {action.dest} has no help"
    assert "--lab" in out and "--json" in out


def test_global_options_work_before_and_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--lab", "x.toml", "--json", "status"])
    after = parser.parse_args(["status", "--lab", "x.toml", "--json"])
    assert before.lab == after.lab == Path("x.toml") and before.json and after.json
    nested = parser.parse_args(["fault", "list", "--lab", "y.toml"])
    assert nested.lab == Path("y.toml") and nested.json is False
    assert parser.parse_args(["--json", "diagnose", "logs"]).json  # diagnose defined --json itself


def test_durations_take_units_and_a_sign_everywhere() -> None:
    parser = build_parser()
    assert parser.parse_args(["clock", "-5m"]).step == -300
    assert parser.parse_args(["clock", "+61m"]).step == 3660
    assert parser.parse_args(["skew", "expressway-c", "10m"]).offset == 600
    assert parser.parse_args(["skew", "expressway-c", "-2d"]).offset == -172800
    assert [say_duration(s) for s in (3660, -300, 172800, 0, 61)] == ["+61m", "-5m", "+2d", "0s", "+61s"]


def test_a_duration_without_unit_is_refused_with_the_grammar(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["clock", "+1w"])
    err = capsys.readouterr().err
    assert "e.g. +61m, -5m, 2d" in err and "{" not in err
    assert "'mrasim clock --help' describes every argument, with examples" in err


def test_short_node_names_are_accepted_when_unambiguous() -> None:
    assert node_name("cucm", NODES) == "cucm:cluster1"
    assert node_name("imp", NODES) == "imp:imp"
    assert node_name("expressway-c", NODES) == "expressway-c"
    with pytest.raises(CliError, match="nodes: cucm:cluster1"):
        node_name("cucn", NODES)
    with pytest.raises(CliError, match="could mean"):
        node_name("cucm", ["cucm:a", "cucm:b"])


def test_cells_are_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    assert cut("the refresh was refused and the full login failed", 30) == "the refresh was refused and…"
    assert cut("/bGFiLmV4YW1wbGU/get_edge_config?service_name=_cisco-uds", 40) == "/bGFiLmV4YW1wbGU/get_edge_config?…"
    assert cut("short", 10) == "short"
    lines = table(("NAME", "SYMPTOM"), [("a", "one two three four five six seven eight nine ten")], room=30).split("\n")
    assert all(len(line) <= 30 for line in lines) and lines[1].endswith("…")
    assert not lines[1].rstrip("…").endswith(("fiv", "si", "seve"))


def test_run_help_names_every_log_and_serve_help_names_imp() -> None:
    commands = dict(subcommands(build_parser()))
    run = " ".join(commands[("run",)].format_help().split())
    assert "expressway-e, expressway-c, cucm, imp, unity, jabber" in run and "logs/latest" in run
    serve = commands[("serve",)].format_help()
    assert "imp" in serve and "cucm:CLUSTER" in " ".join(serve.split())
    fault = " ".join(commands[("fault", "add")].format_help().split())
    assert all(kind in fault for kind in ("respond", "delay", "drop", "corrupt", "refuse", "reset", "blackhole",
                                          "latency"))
