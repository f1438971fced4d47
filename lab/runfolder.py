"""One folder per run: ``logs/<timestamp>/``, with ``logs/latest`` pointing at the newest.

Every command that starts nodes (``mrasim run``, ``up``, ``up --processes``, ``serve``, ``storm``) writes into a folder
of its own, so two runs never share a log: an Expressway numbers its transactions from the same Txn-id at every start,
and a log holding two runs would hold two ``Txn-id="2004"`` (issue 17). ``latest`` is a relative symbolic link, so the
README's recipes (``logs/latest/expressway-e.log``) hold after any sequence of commands.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

LATEST = "latest"


def new_run_folder(base: Path, now: dt.datetime | None = None) -> Path:
    """Create ``base/<YYYY-MM-DDTHH-MM-SS>`` (``-2``, ``-3`` … when taken) and point ``base/latest`` at it."""
    base.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%dT%H-%M-%S")
    folder, number = base / stamp, 1
    while True:
        try:
            folder.mkdir()
            break
        except FileExistsError:
            number += 1
            folder = base / f"{stamp}-{number}"
    point_latest(base, folder)
    return folder


def point_latest(base: Path, folder: Path) -> None:
    """Replace ``base/latest`` atomically (a rename), so a reader never finds it missing."""
    link = base / LATEST
    temporary = base / f".{LATEST}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(folder.name)
    temporary.replace(link)
