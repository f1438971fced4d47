"""The house rules of docs/architecture.md, checked on the code: which room may import which, and no import circles.

Rule 1: the product nodes talk only over sockets, so a node package imports ``common`` and itself, never another
node. Above the nodes, each room may import only the rooms beneath it. Imports inside functions count too: a lazy
import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODES = ("edge", "core", "cucm_stub", "presence", "unity", "idp", "jabber")
ROOMS = NODES + ("common", "lab", "scenarios", "analyzer", "load", "ui", "cli", "benchmarks")
ALLOWED: dict[str, set[str]] = {
    **{node: {"common"} for node in NODES},
    "common": set(),
    "lab": set(NODES) | {"common"},
    "analyzer": {"common"},
    # The scenario player drives the Jabber client itself (login, refresh, XMPP hold) as a scenario's steps say.
    "scenarios": {"lab", "analyzer", "jabber", "common"},
    "load": {"lab", "jabber", "common"},
    "ui": {"lab", "scenarios", "analyzer", "jabber", "common"},
    "cli": set(ROOMS) - {"cli", "benchmarks"},
    "benchmarks": set(ROOMS),
}


def _modules() -> dict[str, Path]:
    found = {}
    for room in ROOMS:
        for path in (ROOT / room).rglob("*.py") if (ROOT / room).is_dir() else ():
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Every module named by an import statement anywhere in the file (relative imports resolved)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


MODULES = _modules()
GRAPH = {module: {name for name in _imports(path, module) if name in MODULES} for module, path in MODULES.items()}


@pytest.mark.parametrize("room", ROOMS)
def test_a_room_imports_only_the_rooms_beneath_it(room: str) -> None:
    broken = []
    for module, path in MODULES.items():
        if module.split(".")[0] != room:
            continue
        for name in _imports(path, module):
            other = name.split(".")[0]
            if other in ROOMS and other != room and other not in ALLOWED[room]:
                broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not broken, f"room {room!r} may import only {sorted(ALLOWED[room])}:\n" + "\n".join(broken)


def test_no_module_imports_itself_back_through_others() -> None:
    """No import circle anywhere (Tarjan's strongly connected components over the module graph)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == module:
                    break
            # A package's __init__ naming its own submodules is not a circle of dependencies.
            if len(component) > 1 and not _package_and_children(component):
                circles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not circles, f"import circles: {circles}"


def _package_and_children(component: list[str]) -> bool:
    shortest = min(component, key=len)
    return all(m == shortest or m.startswith(shortest + ".") for m in component)


def test_the_rule_check_sees_a_node_importing_another(tmp_path: Path) -> None:
    """The check above is not vacuous: a file in edge/ that imports core is reported."""
    bad = tmp_path / "edge" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("from core.node import start_core\nimport common.clock\n")
    names = _imports(bad, "edge.bad")
    assert {"core.node", "common.clock"} <= names
    assert [n for n in names if n.split(".")[0] in NODES and n.split(".")[0] not in ALLOWED["edge"]]


def test_the_products_each_have_a_room_of_their_own() -> None:
    for room in ("edge", "core", "cucm_stub", "presence", "unity", "jabber", "lab", "scenarios", "load", "cli"):
        assert (ROOT / room / "__init__.py").exists(), room
    assert not (ROOT / "cucm_stub" / "imp").exists() and not (ROOT / "cucm_stub" / "unity.py").exists()
    scenario_modules = {p.stem for p in (ROOT / "scenarios").glob("*.py")} - {"__init__"}
    assert scenario_modules <= {"scenario", "play", "docgen", "expectations"}, scenario_modules
