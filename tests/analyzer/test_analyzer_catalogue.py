"""Done-when of issue 6: for every catalogue scenario of issue 5, 'mrasim diagnose' on that scenario's logs puts the
right root cause first, and on healthy-login reports no issue. The analyzer is given the logs only; the scenario's
name is what it must find."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from analyzer.diagnose import analyze, render_text
from scenarios.play import play
from scenarios.scenario import catalog


@pytest.fixture(scope="session")
def catalogue_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("catalogue")

    async def run_all() -> dict[str, Path]:
        out = {}
        for scenario in catalog():
            await play(scenario, root / scenario.name)
            out[scenario.name] = root / scenario.name
        return out

    return asyncio.run(run_all())


def test_the_catalogue_has_its_25_scenarios(catalogue_logs: dict[str, Path]) -> None:
    assert len(catalogue_logs) >= 25


@pytest.mark.parametrize("name", sorted(p.stem for p in Path("scenarios/catalog").glob("*.toml")))
def test_diagnose_names_the_catalogue_scenario_first(catalogue_logs: dict[str, Path], name: str) -> None:
    report = analyze([catalogue_logs[name]])
    if name.startswith("healthy-"):
        assert not report.issues, render_text(report)
        return
    assert report.root_cause is not None and report.root_cause.id == name, render_text(report)
