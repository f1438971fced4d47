"""Done-when of issue 6: for every catalogue scenario of issue 5, 'mrasim diagnose' on that scenario's logs puts the
right root cause first, and on healthy-login reports no issue. The analyzer is given the logs only; the scenario's
name is what it must find."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.diagnose import analyze, render_text
from scenarios.scenario import catalog
from tests.catalogue import CataloguePlays


NAMES = sorted(p.stem for p in Path("scenarios/catalog").glob("*.toml"))


def test_the_catalogue_has_its_25_scenarios() -> None:
    assert len(NAMES) >= 25 and sorted(scenario.name for scenario in catalog()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_diagnose_names_the_catalogue_scenario_first(catalogue_plays: CataloguePlays, name: str) -> None:
    """Each scenario is played once per session for this test and the catalogue's own (tests/scenarios)."""
    report = analyze([catalogue_plays.logs([name])[name]])
    if name.startswith("healthy-"):
        assert not report.issues, render_text(report)
        return
    assert report.root_cause is not None and report.root_cause.id == name, render_text(report)


def test_cucms_sdl_trace_alone_names_the_profile_missing_from_cs_certificate(catalogue_plays: CataloguePlays) -> None:
    """The lab's CUCM writes the SDL lines of a real one (Cisco doc 211304, Issue 5): given only that file, diagnose
    names it with the knowledge entry written from the real excerpt (real_logs/cucm-rejects-expc-cert-…)."""
    logs = catalogue_plays.logs(["profile-name-not-in-c-san"])["profile-name-not-in-c-san"]
    sdl = sorted(logs.glob("sdl-*.txt"))
    assert sdl and "did not find matching SAN either" in sdl[0].read_text()
    report = analyze(sdl)
    root = report.root_cause
    assert root is not None and root.id == "cucm-rejects-expc-cert-security-profile-san", render_text(report)
