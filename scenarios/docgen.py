"""Write ``docs/scenarios.md`` from the catalogue, so the trainee's page cannot drift from the scenario files.

    python -m scenarios.docgen            # rewrite docs/scenarios.md
    python -m scenarios.docgen --check    # exit 1 if it is out of date (the test suite does this)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scenarios.scenario import Scenario, catalog

DOC = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"
ACTION_WORDS = {
    "login": "Jabber signs in", "refresh": "Jabber refreshes its access token", "session": "Jabber checks its session",
    "edge_config": "Jabber asks for get_edge_config with its token", "clock": "the lab clock jumps",
    "restart": "a node restarts", "stop": "a node stops", "skew": "a node's clock drifts",
    "cucm": "a CUCM CLI command", "xcommand": "an xCommand on Expressway-C", "revoke": "an admin revokes the tokens",
    "unity_mailbox": "Jabber opens voicemail",
    "xmpp": "Jabber signs in over XMPP through the edge", "xconfiguration": "an xConfiguration change on Expressway-C",
    "register": "Jabber registers its softphone (SIP REGISTER through the edge; again: a re-registration)",
    "unregister": "Jabber unregisters its softphone",
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _steps(scenario: Scenario) -> list[str]:
    lines = []
    for number, step in enumerate(scenario.steps, start=1):
        detail = step.command or step.step or step.node or (f"as {step.user}" if step.user else "")
        if step.action == "skew":
            detail = f"{step.node} {step.seconds:+.0f} s"
        expected = []
        if step.expect_ok is not None:
            expected.append("succeeds" if step.expect_ok else "fails")
        if step.expect_failed_step:
            expected.append(f"at `{step.expect_failed_step}`")
        if step.expect_status:
            expected.append(f"with {step.expect_status}")
        if step.expect_session:
            expected.append(f"session: {step.expect_session}")
        text = f"{number}. {ACTION_WORDS[step.action]}" + (f" ({detail})" if detail else "")
        text += (" — " + " ".join(expected)) if expected else ""
        text += f" ×{step.repeat}" if step.repeat > 1 else ""
        lines.append(text)
    return lines


def render(scenarios: list[Scenario]) -> str:
    out = [
        "# The field-failure catalogue",
        "",
        "Generated from `scenarios/catalog/*.toml` by `python -m scenarios.docgen`; edit the scenario files, not this "
        "page. Run one with `mrasim scenario run NAME`, all with `mrasim scenario run --all`, read one at the console "
        "with `mrasim scenario explain NAME`.",
        "",
        "| scenario | what the user sees |",
        "| --- | --- |",
    ]
    out += [f"| [`{s.name}`](#{s.name}) | {_one_line(s.symptom)} |" for s in scenarios]
    for scenario in scenarios:
        out += ["", f"## {scenario.name}", "", f"**Symptom.** {_one_line(scenario.symptom)}", "",
                f"**Root cause.** {_one_line(scenario.root_cause)}", "",
                f"**How to recognise it in the logs.** {_one_line(scenario.recognise)}", "",
                f"**Fix.** {_one_line(scenario.fix)}", "", f"**Source.** {_one_line(scenario.source)}", "",
                "**What the scenario does.**", ""]
        out += _steps(scenario)
        if scenario.faults:
            out += ["", "Faults injected: " + "; ".join(
                f"`{f.kind}` on {f.match.node or 'any node'}" + (f" from {f.match.source}" if f.match.source else "")
                for f in scenario.faults) + "."]
        if scenario.logs:
            out += ["", "Log signatures checked:", ""]
            out += [f"- {'' if sig.present else 'absent from '}`{sig.node}`: `{sig.pattern}`" for sig in scenario.logs]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.docgen", description=f"Write {DOC.name} from the scenario files.",
        epilog="Example:\n  python -m scenarios.docgen           # rewrite docs/scenarios.md\n"
               "  python -m scenarios.docgen --check   # exit 1 if it is out of date (the test suite does this)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the page is up to date; write nothing")
    args = parser.parse_args(argv)
    text = render(catalog())
    if args.check:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python -m scenarios.docgen", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
