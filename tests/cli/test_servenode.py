"""A node process of ``mrasim up --processes`` imports its own node only (cli.servenode), not the whole command line:
that import was most of each node process's start-up (issue 18)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.servenode import node_module

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("analyzer.diagnose", "cli.main", "core.samlsp", "ui.trainer")


@pytest.mark.parametrize("node, own, others", [
    ("cucm:cluster1", "cucm_stub.app", ("edge.node", "core.node", "presence.node", "asyncssh")),
    ("expressway-e", "edge.node", ("core.node", "cucm_stub.app", "presence.node")),
])
def test_a_node_process_imports_its_node_and_nothing_of_the_others(node: str, own: str,
                                                                   others: tuple[str, ...]) -> None:
    script = ("import sys, cli.servenode as n; n.preload(['--lab', 'x', 'serve', sys.argv[1]]); "
              "print(' '.join(m for m in sys.argv[2:] if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", script, node, own, *others, *HEAVY], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    assert found == [own]


def test_every_servable_node_has_its_module() -> None:
    assert [node_module(n) for n in ("expressway-e", "expressway-c", "cucm:c1:sub", "imp:imp", "idp", "unity")] == [
        "edge.node", "core.node", "cucm_stub.app", "presence.node", "idp.node", None]


def test_a_node_process_writes_its_log_file_and_keeps_no_ring_in_memory(tmp_path: Path) -> None:
    from cli.servenode import node_sink
    from common.config import DEFAULT_LAB, load_lab

    sink = node_sink(tmp_path, "expressway-e", load_lab(DEFAULT_LAB))
    for n in range(3):
        sink.msg(f"line {n}")
    sink.close()
    assert sink.path is not None and sink.path.read_text() == "line 0\nline 1\nline 2\n"
    assert sink.keep == 0 and not sink.records


def test_the_command_line_imports_the_analyzer_the_page_and_the_player_only_for_their_commands() -> None:
    """``mrasim up --processes`` imports the command line before it forks its nodes (lab/forkserver.py): the
    analyzer, the training page and the scenario player are no part of that."""
    script = "import sys, cli.main; print(' '.join(m for m in sys.argv[1:] if m in sys.modules))"
    found = subprocess.run([sys.executable, "-c", script, "analyzer.diagnose", "analyzer.ladder", "ui.trainer",
                            "ui.server", "scenarios.play", "edge.node", "core.node"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    assert found == ["edge.node", "core.node"]
