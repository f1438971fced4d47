"""``mrasim scenario list | explain NAME | run NAME | run --all``: the catalogue of field failures at the console."""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
from pathlib import Path

from common.config import ConfigError
from scenarios.play import ScenarioResult, StepResult, play
from scenarios.scenario import Scenario, catalog, find


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    scenario = sub.add_parser("scenario", help="the catalogue of field failures: list, explain, run",
                              description="Reproduce a field failure on demand and check it shows what the field "
                                          "shows. Scenario files live in scenarios/catalog/.")
    verbs = scenario.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("list", help="every scenario with its one-line symptom")
    explain = verbs.add_parser("explain", help="symptom, root cause, how to recognise it, the fix, the source")
    explain.add_argument("name")
    run = verbs.add_parser("run", help="run one scenario (or --all) and check its expectations")
    run.add_argument("name", nargs="?", help="scenario name (see 'mrasim scenario list')")
    run.add_argument("--all", action="store_true", help="run the whole catalogue and print a summary table")
    run.add_argument("--out", type=Path, help="write the node logs here (one folder per scenario with --all)")


def main(args: argparse.Namespace) -> int:
    try:
        if args.verb == "list":
            return _list()
        if args.verb == "explain":
            print(explain(find(args.name)))
            return 0
        if args.all:
            return asyncio.run(_run_all(args.out))
        if not args.name:
            print("mrasim: scenario run needs a NAME or --all", file=sys.stderr)
            return 2
        return asyncio.run(_run_one(find(args.name), args.out))
    except ConfigError as exc:
        print(f"mrasim: {exc}", file=sys.stderr)
        return 2


def _list() -> int:
    scenarios = catalog()
    width = max(len(s.name) for s in scenarios)
    for scenario in scenarios:
        print(f"{scenario.name:<{width}}  {scenario.symptom}")
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
    for entry in step.entries:
        print("   " + entry.render())
    mark = "ok " if step.passed else "XX "
    print(f"{mark}{step.index}. {step.summary}")
    for problem in step.problems:
        print(f"      expectation not met: {problem}")


async def _run_one(scenario: Scenario, out: Path | None) -> int:
    print(f"scenario {scenario.name}: {scenario.symptom}\n")
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


async def _run_all(out: Path | None) -> int:
    scenarios = catalog()
    failed = []
    width = max(len(s.name) for s in scenarios)
    for number, scenario in enumerate(scenarios, start=1):
        print(f"[{number:>2}/{len(scenarios)}] {scenario.name:<{width}} ", end="", flush=True)
        result = await play(scenario, out / scenario.name if out else None)
        where = f"  broke at {result.broke_at}" if result.broke_at else ""
        print(f"{'PASS' if result.passed else 'FAIL'} {result.elapsed_ms:6.0f} ms{where[:90]}")
        if not result.passed:
            failed.append(result)
    print(f"\n{len(scenarios) - len(failed)} of {len(scenarios)} scenarios passed")
    for result in failed:
        problems = [p for s in result.steps for p in s.problems] + result.problems
        print(f"  {result.scenario.name}: {'; '.join(problems)}")
    return 0 if not failed else 1
