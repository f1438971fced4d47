"""No log of any catalogue scenario holds a secret (issue 13). ``tests/scenarios/test_catalog.py`` plays every
scenario once with its logs written to files and calls :func:`secrets_in_logs`, which searches every file for the
lab's passwords and client secrets, the passwords its steps type, whole tokens (a JWS/JWE with all its parts),
authorization codes, private keys and encryption keys."""

from __future__ import annotations

import re
from pathlib import Path

from scenarios.scenario import catalog

SHAPES = {
    "whole token": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,}"),
    "JWE": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\."
                      r"[A-Za-z0-9_-]{16,}"),
    "authorization code": re.compile(r"\bcode=(?!<CONCEALED>|Hidden)[A-Za-z0-9_-]{8,}"),
    "private key": re.compile(r"PRIVATE KEY"),
    "encryption key": re.compile(r'"encryption_key":\s*"(?!<CONCEALED>)'),
    "client secret in a form": re.compile(r"client_secret=(?!<CONCEALED>)[^&\s|]+"),
    "password in a form": re.compile(r"\bpassword=(?!<CONCEALED>)[^&\s|]+"),
}


def lab_secrets(scenario) -> set[str]:  # type: ignore[no-untyped-def]
    lab = scenario.lab
    found = {u.password for u in lab.users} | {c.client_secret for c in lab.clients}
    found |= {lab.core.axl_password, lab.core.admin_password, lab.core.traversal_password}
    found |= {c.admin_password for c in lab.clusters}
    if lab.unity is not None:
        found.add(lab.unity.axl_password)
    found |= {step.password for step in scenario.steps if getattr(step, "password", None)}
    return {s for s in found if s and len(s) >= 6}


def secrets_in_logs(scenario, logs: Path) -> list[str]:  # type: ignore[no-untyped-def]
    """``file: what`` for every secret found in the scenario's log files (``[]`` when none)."""
    files = sorted(logs.rglob("*.log"))
    assert files, "the scenario wrote no log"
    found = []
    secrets = lab_secrets(scenario)
    for path in files:
        text = path.read_text(errors="replace")
        found += [f"{path.name}: {secret[:3]}…" for secret in secrets if secret in text]
        found += [f"{path.name}: {shape} {m.group(0)[:16]}…" for shape, pattern in SHAPES.items()
                  for m in pattern.finditer(text)]
    return found


def test_the_scan_finds_each_shape_of_secret(tmp_path: Path) -> None:
    scenario = next(s for s in catalog() if s.name == "healthy-login")
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhb2thbmxhd29uIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    (tmp_path / "x.log").write_text(f"{token}\ncode=abcdefgh12\npassword=hunter2\nCisco!123\n")
    found = secrets_in_logs(scenario, tmp_path)
    assert len(found) >= 4
