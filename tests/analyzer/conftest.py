"""Real lab logs for every failure situation the lab can produce, made once per test session (about a second)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.analyzer.labruns import produce_all

SEED = Path("/work/shared/reference/seed-understanding-oauth-and-mra.txt")


@pytest.fixture(scope="session")
def lab_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return asyncio.run(produce_all(tmp_path_factory.mktemp("lablogs")))


@pytest.fixture(scope="session")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip("the seed article is not in ../shared/reference")
    return SEED.read_text(encoding="utf-8")
