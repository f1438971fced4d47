"""The links a trainer shares: ``/?scenario=NAME``, ``/?step=1``, ``/?exercise=a,b,c``, read into what the page does
when it loads — or into a sentence saying what was wrong with the link, never a blank page.

Parsing happens on the server, before the page is sent, so a stale or hand-edited link is explained in the page
itself (the ``problems`` list) and the rest of the link still works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

KNOWN = ("scenario", "step", "exercise")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")
MAX_VALUE = 1000


@dataclass
class Boot:
    """What the page does on load."""

    scenario: str | None = None
    step: bool = False
    exercise: list[str] | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"scenario": self.scenario, "step": self.step, "exercise": self.exercise, "problems": self.problems}


def read_link(query: Mapping[str, str] | Sequence[tuple[str, str]], names: Sequence[str],
              exercise_default: Sequence[str]) -> Boot:
    """``query`` as (key, value) pairs in URL order; ``names`` the catalogue; ``exercise_default`` what
    ``/?exercise`` (no list) means."""
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    boot = Boot()
    seen: set[str] = set()
    for key, value in pairs:
        if key not in KNOWN:
            boot.problems.append(f"The link has a parameter this page does not know, {_show(key)}; it was ignored "
                                 f"(known: {', '.join(KNOWN)}).")
            continue
        if key in seen:
            boot.problems.append(f"The link gives {key} more than once; the first one is used.")
            continue
        seen.add(key)
        if len(value) > MAX_VALUE:
            boot.problems.append(f"The link's {key} is {len(value)} characters long; it was ignored.")
            continue
        if key == "scenario":
            if value in names:
                boot.scenario = value
            else:
                boot.problems.append(f"There is no scenario named {_show(value)}. Pick one from the list; "
                                     "'mrasim scenario list' prints them too.")
        elif key == "step":
            if value.lower() in TRUE:
                boot.step = True
            elif value.lower() not in FALSE:
                boot.problems.append(f"step={_show(value)} is neither 1 nor 0; step mode is off.")
        else:
            wanted = [name.strip() for name in value.split(",") if name.strip()]
            unknown = [name for name in wanted if name not in names]
            if unknown:
                boot.problems.append(f"The exercise names {len(unknown)} scenario(s) the catalogue does not have: "
                                     f"{', '.join(_show(u) for u in unknown[:5])}; "
                                     + ("they were left out." if len(unknown) < len(wanted) else
                                        "the whole catalogue is used instead."))
            kept = list(dict.fromkeys(name for name in wanted if name in names))
            boot.exercise = kept or list(exercise_default)
    if boot.exercise is not None and boot.scenario is not None:
        boot.problems.append("The link asks for a scenario and an exercise; the exercise starts (it must not name "
                             "its scenario).")
        boot.scenario = None
    return boot


def _show(text: str) -> str:
    """A value quoted for a message, shortened; the page sets it as text, never as markup."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return repr(text if len(text) <= 60 else text[:57] + "...")
