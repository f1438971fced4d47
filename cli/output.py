"""The conventions every ``mrasim`` command shares (docs/cli.md): one place for them, so a new command follows them
by calling these helpers rather than by copying a neighbour.

- **Global options** (``--lab``, ``--json``) are accepted before or after the subcommand: :func:`add_global_options`
  walks the finished parser and gives every subcommand a copy whose default never overwrites the value given before
  the subcommand.
- **Help**: every command has a description and an ``Example:`` (:func:`command` builds both), every argument a text.
- **Output**: a table that fits the terminal (:func:`table`, cutting a cell at a word boundary with ``…``) by default,
  the same data as JSON with ``--json`` (:func:`emit`).
- **Units**: durations are a signed number and a unit, ``10m``, ``-5m``, ``+61m``, ``2d`` (:func:`duration`, the same
  grammar as the lab clock's :func:`common.clock.parse_step`).
- **Node names**: the lab's names (``cucm:cluster1``, ``imp:imp``), or any unambiguous short form (``cucm``, ``imp``)
  (:func:`node_name`).
- **Errors** say what to do next (:class:`CliError` carries the advice; :func:`fail` prints it and returns 2).

Tables are formatted here rather than with a console library: the products print plain aligned columns, and a cut at a
word boundary is what none of the libraries offers; the module stays import-light so ``mrasim`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from common.clock import parse_step
from common.textfit import ELLIPSIS, cut

__all__ = ["ELLIPSIS", "cut"]  # re-exported: the one word-boundary cut, shared with the analyzer's ladder

GLOBAL_OPTIONS = ("--lab", "--json")


class CliError(Exception):
    """A mistake the user can fix: the message says what went wrong and what to do."""


def fail(message: str | Exception, code: int = 2) -> int:
    print(f"mrasim: {message}", file=sys.stderr)
    return code


# --- parser ---------------------------------------------------------------------------------------------------------


class Parser(argparse.ArgumentParser):
    """argparse's parser whose usage errors end by pointing at the command's own help (subcommands inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n'{self.prog} --help' describes every argument, with examples\n")



def command(sub: argparse._SubParsersAction, name: str, help: str, example: str | Sequence[str],  # type: ignore[type-arg]
            description: str | None = None, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand with its one-line help, a description (the help if none) and its examples as the epilog."""
    examples = [example] if isinstance(example, str) else list(example)
    epilog = "Example:\n" + "\n".join(f"  {line}" for line in examples)
    return sub.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                          epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterable[
        tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (sub)command parser under ``parser`` with its words, e.g. (("fault", "add"), parser), depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from subcommands(child, (*path, name))


# A negative duration (``clock -5m``) is a value, not an option: argparse only knows negative numbers without units.
_NEGATIVE = re.compile(r"^-\d+[smhd]?$|^-\d*\.\d+$")


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """Let the main parser's global options be given after any subcommand too.

    A subcommand's copy has ``default=SUPPRESS``, so ``mrasim --lab X run`` keeps X; a subcommand that defined the
    option itself (``diagnose --json``) has its default suppressed the same way. Every parser also reads ``-5m`` as a
    value.
    """
    globals_ = [a for a in parser._actions if any(o in GLOBAL_OPTIONS for o in a.option_strings)]
    parser._negative_number_matcher = _NEGATIVE  # type: ignore[attr-defined]
    for _, child in subcommands(parser):
        child._negative_number_matcher = _NEGATIVE  # type: ignore[attr-defined]
        for action in globals_:
            own = child._option_string_actions.get(action.option_strings[0])
            if own is not None:
                own.default = argparse.SUPPRESS
                continue
            text = (action.help or "").replace("%(default)s", str(action.default))
            kwargs: dict[str, Any] = {"help": text, "default": argparse.SUPPRESS, "dest": action.dest}
            if isinstance(action, argparse._StoreTrueAction):
                kwargs["action"] = "store_true"
            else:
                kwargs.update(type=action.type, metavar=action.metavar)
            child.add_argument(*action.option_strings, **kwargs)


# --- values ---------------------------------------------------------------------------------------------------------


def duration(text: str) -> int:
    """A signed duration such as ``10m``, ``-5m``, ``+61m`` or ``2d`` in seconds, as argparse ``type``."""
    try:
        return parse_step(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def say_duration(seconds: float) -> str:
    """Seconds in the units a user types: ``+61m``, ``-5m``, ``+2d``, ``0s`` (the largest exact unit)."""
    value = int(seconds)
    if value == 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if value % size == 0:
            return f"{value // size:+d}{unit}"
    return f"{value:+d}s"


def node_name(text: str, known: Sequence[str]) -> str:
    """The lab's full node name for ``text``: itself, or the one node it abbreviates (``cucm`` → ``cucm:cluster1``).

    A short name matches a node whose name starts with it followed by ``:`` (the publisher of the first cluster
    wins over its subscribers, as ``mrasim serve cucm`` always did); anything else is refused with the known names.
    """
    if text in known:
        return text
    matches = [n for n in known if n.startswith(f"{text}:")]
    publishers = [n for n in matches if n.count(":") == 1]
    if len(publishers) == 1 or (len(matches) == 1):
        return (publishers or matches)[0]
    if matches:
        raise CliError(f"{text!r} could mean {', '.join(matches)}; name one of them")
    raise CliError(f"no node {text!r}; nodes: {', '.join(known)} (short forms such as 'cucm' work when unambiguous)")


# --- output ---------------------------------------------------------------------------------------------------------


def width() -> int:
    """The terminal's width (``COLUMNS`` when set, 100 when not a terminal)."""
    return shutil.get_terminal_size((100, 24)).columns


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, room: int | None = None,
          shrink: Sequence[int] | None = None, indent: str = "") -> str:
    """Aligned columns that fit ``room`` (the terminal): the ``shrink`` columns (default: the last) give way."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    grid = [list(headers), *cells] if headers else cells
    if not grid:
        return ""
    columns = len(grid[0])
    widths = [max(len(row[i]) for row in grid) for i in range(columns)]
    total_room = (room or width()) - len(indent)
    flexible = list(shrink) if shrink is not None else [columns - 1]
    excess = sum(widths) + 2 * (columns - 1) - total_room
    for i in sorted(flexible, key=lambda i: -widths[i]):
        if excess <= 0:
            break
        give = min(excess, max(widths[i] - 12, 0))
        widths[i] -= give
        excess -= give
    lines = []
    for row in grid:
        parts = [cut(cell, widths[i]).ljust(widths[i]) if i < columns - 1 else cut(cell, widths[i])
                 for i, cell in enumerate(row)]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def emit(args: argparse.Namespace, data: Any, text: str | None) -> None:
    """Print ``data`` as JSON with ``--json``, else ``text`` (nothing when it is None)."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, default=str))
    elif text is not None:
        print(text)


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False))


def is_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"
