"""The scenario catalogue played once per test session, shared by the tests that judge the plays and those that read
their logs (:func:`tests.conftest.catalogue_plays`)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterable
from pathlib import Path

from scenarios.play import ScenarioResult, play
from scenarios.scenario import find


class CataloguePlays:
    """Each catalogue scenario played at most once per test session, its logs left in a directory of its own.

    The catalogue test judges each play; the analyzer's tests diagnose the same logs. Playing the catalogue once for
    both halves what it costs the suite (it is the suite's largest single cost). The plays are plain data and files,
    bound to no event loop, so an async test and a fixture running its own loop share them.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.results: dict[str, ScenarioResult] = {}

    async def play(self, name: str) -> tuple[ScenarioResult, Path]:
        """The play of scenario ``name`` and the directory of its logs (read them; do not write there)."""
        out = self.root / name
        if name not in self.results:
            if out.exists():  # an earlier play of it was interrupted: start again from nothing
                shutil.rmtree(out)
            self.results[name] = await play(find(name), out)
        return self.results[name], out

    def logs(self, names: Iterable[str]) -> dict[str, Path]:
        """The log directories of ``names``, playing (in a loop of their own) those not played yet."""
        async def play_all() -> dict[str, Path]:
            return {name: (await self.play(name))[1] for name in names}

        return asyncio.run(play_all())
