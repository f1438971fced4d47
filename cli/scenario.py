"""``mrasim scenario list | explain NAME | run NAME | run --all``: the catalogue of field failures at the console."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cli.output import command, cut, emit, table, wants_json, width
from cli.runcmd import row
from common.config import ConfigError
from scenarios.scenario import Scenario, catalog, find

if TYPE_CHECKING:
    from scenarios.play import ScenarioResult, StepResult


async def play(scenario: Scenario, out: Path | None, on_step: Callable[[StepResult], None] | None = None,
               ) -> ScenarioResult:
    """Play ``scenario`` (:func:`scenarios.play.play`), imported only when one runs: the player brings the analyzer
    and every node, which no other command should pay for at its start."""
    from scenarios.play import play as run

    return await run(scenario, out, on_step)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    scenario = command(sub, "scenario", "the catalogue of field failures: list, explain, run",
                       ["mrasim scenario list", "mrasim scenario explain oauthlocal-off",
                        "mrasim scenario run oauthlocal-off --out logs/seed", "mrasim scenario run --all"],
                       description="Reproduce a field failure on demand and check it shows what the field shows. "
                                   "Scenario files live in scenarios/catalog/.")
    verbs = scenario.add_subparsers(dest="verb", required=True, metavar="VERB")
    command(verbs, "list", "every scenario with its one-line symptom", ["mrasim scenario list",
                                                                        "mrasim scenario list --json"])
    explain = command(verbs, "explain", "symptom, root cause, how to recognise it, the fix, the source",
                      "mrasim scenario explain oauthlocal-off")
    explain.add_argument("name", help="scenario name (see 'mrasim scenario list')")
    run = command(verbs, "run", "run one scenario (or --all) and check its expectations",
                  ["mrasim scenario run ssh-tunnel-down", "mrasim scenario run --all --json"])
    run.add_argument("name", nargs="?", help="scenario name (see 'mrasim scenario list')")
    run.add_argument("--all", action="store_true", help="run the whole catalogue and print a summary table")
    run.add_argument("--out", type=Path, help="write the node logs here (one folder per scenario with --all)")


def main(args: argparse.Namespace) -> int:
    try:
        if args.verb == "list":
            return _list(args)
        if args.verb == "explain":
            print(explain(find(args.name)))
            return 0
        if args.all:
            return asyncio.run(_run_all(args.out, wants_json(args)))
        if not args.name:
            print("mrasim: scenario run needs a NAME or --all; 'mrasim scenario list' shows the names",
                  file=sys.stderr)
            return 2
        return asyncio.run(_run_one(find(args.name), args.out, wants_json(args)))
    except ConfigError as exc:
        print(f"mrasim: {exc}", file=sys.stderr)
        return 2


def _list(args: argparse.Namespace) -> int:
    scenarios = catalog()
    emit(args, [{"name": s.name, "symptom": s.symptom} for s in scenarios],
         table(("SCENARIO", "SYMPTOM"), [(s.name, s.symptom) for s in scenarios]))
    return 0


def explain(scenario: Scenario) -> str:
    def block(title: str, text: str) -> str:
        return f"{title}\n" + textwrap.indent(textwrap.fill(" ".join(text.split()), 100), "  ")

    return "\n\n".join([
        f"{scenario.name}",
        block("Symptom", scenario.symptom),
        block("Root cause", scenario.root_cause),
        block("How to recognise it in the logs", scenario.recognise),
        block("Fix", scenario.fix),
        block("Source", scenario.source),
    ])


def _show_step(step: StepResult) -> None:
    """A step's requests, then its outcome; a step whose expectations were not met says which, on lines of their own
    (an expected failure is simply the outcome: the scenario's verdict says whether it was expected)."""
    room = width()
    for entry in step.entries:
        print("   " + row(entry, room - 3))
    print(f"{step.index:>2}. {step.summary}")
    for problem in step.problems:
        print(f"    NOT AS EXPECTED: {problem}")


def _as_json(result: ScenarioResult) -> dict[str, object]:
    return {"scenario": result.scenario.name, "passed": result.passed, "elapsed_ms": round(result.elapsed_ms),
            "broke_at": result.broke_at,
            "problems": [p for s in result.steps for p in s.problems] + result.problems,
            "steps": [{"index": s.index, "summary": s.summary, "passed": s.passed, "problems": s.problems}
                      for s in result.steps]}


async def _run_one(scenario: Scenario, out: Path | None, as_json: bool = False) -> int:
    if as_json:
        result = await play(scenario, out)
        print(json.dumps(_as_json(result), indent=2))
        return 0 if result.passed else 1
    print(textwrap.fill(f"scenario {scenario.name}: {scenario.symptom}", width()) + "\n")
    result = await play(scenario, out, _show_step)
    _verdict(result)
    return 0 if result.passed else 1


def _verdict(result: ScenarioResult) -> None:
    print()
    if result.broke_at:
        print(f"where it broke: {result.broke_at}")
    for problem in result.problems:
        print(f"expectation not met: {problem}")
    print(f"{'PASS' if result.passed else 'FAIL'}: {result.scenario.name} ({result.elapsed_ms:.0f} ms)")


async def _run_all(out: Path | None, as_json: bool = False) -> int:
    """Every scenario in turn, each line printed as it finishes (the progress), then what failed."""
    scenarios = catalog()
    results = []
    name_width = max(len(s.name) for s in scenarios)
    room = width()
    counter = len(f"[{len(scenarios)}/{len(scenarios)}] ")
    for number, scenario in enumerate(scenarios, start=1):
        if not as_json:
            print(f"[{number:>2}/{len(scenarios)}] {scenario.name:<{name_width}} ", end="", flush=True)
        result = await play(scenario, out / scenario.name if out else None)
        results.append(result)
        if not as_json:
            verdict = f"{'PASS' if result.passed else 'FAIL'} {result.elapsed_ms:6.0f} ms"
            where = f"  broke at {result.broke_at}" if result.broke_at else ""
            print(verdict + cut(where, room - counter - name_width - 1 - len(verdict)), flush=True)
    failed = [r for r in results if not r.passed]
    if as_json:
        print(json.dumps([_as_json(r) for r in results], indent=2))
        return 0 if not failed else 1
    print(f"\n{len(scenarios) - len(failed)} of {len(scenarios)} scenarios passed")
    for result in failed:
        problems = [p for s in result.steps for p in s.problems] + result.problems
        print(f"  {result.scenario.name}: {'; '.join(problems)}")
    return 0 if not failed else 1
