"""The tools around the storm: the login benchmark measures the lab against its pass-through baseline, and the
Locust file loads (only where Locust is installed; it is a ``bench`` extra, never needed by ``make test``)."""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.login import render, run
from common.config import load_lab

ROOT = Path(__file__).resolve().parents[2]
STEPS = ["get_edge_sso", "authorize", "localauthentication", "OAuthcb", "access_token", "get_edge_config",
         "uds_user", "uds_devices"]


async def test_the_benchmark_times_every_step_on_the_lab_and_on_the_baseline() -> None:
    lab = dataclasses.replace(load_lab().with_ephemeral_ports(), debug=False)
    ours, base, _ = await run(lab, 2, None)
    assert list(ours.per_step) == list(base.per_step) == STEPS
    assert len(ours.totals) == len(base.totals) == 2
    text = render(lab, 2, ours, base)
    assert "full login ours/baseline (median) =" in text and all(step in text for step in STEPS)


@pytest.mark.skipif(importlib.util.find_spec("locust") is None, reason="locust is a bench extra, not installed")
def test_the_locustfile_defines_the_mra_users() -> None:
    # In a subprocess: importing locust monkey-patches the standard library with gevent.
    code = ("import load.locustfile as f; print(sorted(c.__name__ for c in (f.MraLogin, f.MraConnected))); "
            "print(f.MraLogin.abstract, f.MraConnected.abstract)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["['MraConnected', 'MraLogin']", "False False"]


def test_mrasim_storm_runs_from_the_command_line_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    code = main(["storm", "--users", "6", "--rate", "200", "--ramp", "0", "--keepalive", "0", "--session", "http",
                 "--debug", "on", "--logs", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "6 started, 6 ok, 0 shed (503 Retry-After), 0 failed" in out and "errors by kind: none" in out
    assert "expressway-e: 48 Txn-ids received, 48 answered, none lost" in out
    assert "full login: n=6" in out and "memory: lab" in out


def test_the_connected_benchmark_raises_its_descriptor_limit_and_counts_descriptors() -> None:
    import os
    import resource

    from benchmarks.connected import descriptors, raise_descriptor_limit

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        limit = raise_descriptor_limit()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert limit == soft and (soft == hard or hard == resource.RLIM_INFINITY)
        assert descriptors(os.getpid()) >= 3  # stdin, stdout, stderr at least
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, before)
