"""Every catalogue scenario reproduces its failure; scenario files are validated before anything starts."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from common.config import ConfigError
from scenarios import docgen
from scenarios.scenario import CATALOG, parse_scenario
from cli.scenario import main as scenario_main
from tests.catalogue import CataloguePlays
from tests.hardening.test_catalogue_secrets import secrets_in_logs

NAMES = sorted(p.stem for p in CATALOG.glob("*.toml"))


@pytest.mark.parametrize("name", NAMES)
async def test_catalogue_scenario_reproduces_its_failure(name: str, catalogue_plays: CataloguePlays) -> None:
    """…and none of its logs holds a secret (issue 13, :mod:`tests.hardening.test_catalogue_secrets`)."""
    result, logs = await catalogue_plays.play(name)
    scenario = result.scenario
    problems = [f"step {s.index} {s.step.action}: {p}" for s in result.steps for p in s.problems] + result.problems
    assert result.passed, "\n".join(problems)
    assert secrets_in_logs(scenario, logs) == []
    failing = not name.startswith("healthy-")
    assert (result.broke_at is not None) == failing or name in {"ils-missing-two-clusters"}


def test_docs_scenarios_md_is_generated_from_the_catalogue() -> None:
    assert docgen.main(["--check"]) == 0, "run: python -m scenarios.docgen"


def base() -> dict[str, Any]:
    return tomllib.loads((CATALOG / "healthy-login.toml").read_text())


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.update(surprise=1), "surprise: unknown key"),
    (lambda d: d["steps"][0].update(do="dance"), "unknown action 'dance'"),
    (lambda d: d["steps"][0].update(expect_ok="yes"), "expected true or false"),
    (lambda d: d.update(steps=[{"do": "restart", "node": "expressway-x"}]), "unknown node 'expressway-x'"),
    (lambda d: d.update(steps=[{"do": "clock"}]), "needs 'step'"),
    (lambda d: d.update(steps=[{"do": "clock", "step": "soon"}]), "clock step"),
    (lambda d: d.update(faults=[{"kind": "meteor"}]), "unknown fault kind 'meteor'"),
    (lambda d: d.update(faults=[{"kind": "refuse", "node": "nowhere"}]), "unknown node 'nowhere'"),
    (lambda d: d.update(faults=[{"kind": "respond", "first": 2, "after": 3}]), "can never match"),
    (lambda d: d.update(faults=[{"kind": "respond", "probability": 0.0}]), "can never happen"),
    (lambda d: d.update(faults=[{"kind": "respond", "path": "("}]), "not a regular expression"),
    (lambda d: d.update(faults=[{"kind": "refuse", "user": "u"}]), "cannot match a user"),
    (lambda d: d["steps"][0].update(expect_ok=True, expect_failed_step="authorize"), "contradicts"),
    (lambda d: d.update(lab={"expressway_c": {"oauth_local": "Maybe"}}), "oauth_local"),
    (lambda d: d.update(lab={"clusters": [{"enterprise": {"oauth_access_token_expiry_minutes": 5000}}]}),
     "OAuth Access Token Expiry Timer"),
    (lambda d: d["expect"].update(final="happy"), "expected one of"),
    (lambda d: d.update(steps=[]), "at least one"),
])
def test_a_broken_scenario_file_is_refused_with_file_key_and_reason(change: Any, message: str) -> None:
    data = base()
    change(data)
    with pytest.raises(ConfigError) as error:
        parse_scenario(data, "healthy-login.toml")
    assert message in str(error.value) and "healthy-login.toml" in str(error.value)


def test_scenario_cli_lists_explains_and_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import argparse

    assert scenario_main(argparse.Namespace(verb="list")) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in NAMES) and len(NAMES) >= 22
    assert scenario_main(argparse.Namespace(verb="explain", name="ssh-tunnel-down")) == 0
    assert "Root cause" in capsys.readouterr().out
    assert scenario_main(argparse.Namespace(verb="run", name="ssh-tunnel-down", all=False, out=tmp_path)) == 0
    out = capsys.readouterr().out
    assert "where it broke: step 1 (login) at get_edge_sso" in out and "PASS" in out
    assert (tmp_path / "expressway-e.log").exists()
    assert scenario_main(argparse.Namespace(verb="explain", name="no-such-thing")) == 2


def test_docgen_help_prints_help_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    before = docgen.DOC.stat().st_mtime_ns
    with pytest.raises(SystemExit) as done:
        docgen.main(["--help"])
    assert done.value.code == 0 and "--check" in capsys.readouterr().out
    assert docgen.DOC.stat().st_mtime_ns == before


def test_scenario_run_echoes_the_setting_it_changed_and_never_says_ok_beside_failed(
        capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    assert main(["scenario", "run", "oauthlocal-off"]) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert steps[0].endswith("*c xConfiguration CollaborationEdge OAuthLocal: Off")
    assert steps[2].endswith("*c xConfiguration CollaborationEdge OAuthLocal: On")
    assert any("xmpp: FAILED at xmpp sasl" in line for line in steps)
    assert not any(line.startswith("ok") for line in out.splitlines())
    assert out.rstrip().splitlines()[-1].startswith("PASS: oauthlocal-off")
