"""Lost transactions: every Txn-id an Expressway received must have been answered, read back from its own log.

traffic_server writes ``Detail="Receive Request"`` when a transaction starts and, with ``network.http`` debug on,
``Detail="Sending Response"`` when it answers; an error answer also gets the INFO ``Event="Sending HTTP error
response"``. A Txn-id with a receive and no answer is a transaction the node dropped (a handler that never returned,
a connection reset mid-request). At INFO level a successful answer leaves no line, so only the receive count can be
checked; :class:`TxnReport` says so instead of claiming success.

The scan works on the raw text, line by line, so it keeps up with the logs of a 10,000-login storm; it reads only the
first line of each record, where the fields are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TXN = re.compile(r'Txn-id="(\d+)"')


@dataclass(frozen=True)
class TxnReport:
    node: str
    received: int
    answered: int
    unanswered: tuple[int, ...]
    debug: bool

    @property
    def verifiable(self) -> bool:
        """Answers are visible only with DEBUG on (a 2xx/3xx answer has no INFO line)."""
        return self.debug

    @property
    def lost(self) -> int:
        return len(self.unanswered) if self.debug else 0

    def render(self) -> str:
        if not self.debug:
            return f"{self.node}: {self.received} Txn-ids received; answers not logged at INFO (run with debug on)"
        state = "none lost" if not self.unanswered else f"{len(self.unanswered)} LOST, e.g. {self.unanswered[:5]}"
        return f"{self.node}: {self.received} Txn-ids received, {self.answered} answered, {state}"


def check_lines(node: str, lines: Iterable[str]) -> TxnReport:
    received: set[int] = set()
    answered: set[int] = set()
    debug = False
    for line in lines:
        if not line[:1].isdigit() or "traffic_server" not in line:
            continue
        match = _TXN.search(line)
        if match is None:
            continue
        txn = int(match.group(1))
        if 'Detail="Receive Request"' in line:
            received.add(txn)
        elif 'Detail="Sending Response"' in line or 'Event="Sending HTTP error response"' in line:
            answered.add(txn)
        if not debug and 'Level="DEBUG"' in line:
            debug = True
    return TxnReport(node, len(received), len(answered & received), tuple(sorted(received - answered)), debug)


def check_file(node: str, path: Path) -> TxnReport:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return check_lines(node, handle)


def check_logs(log_dir: Path, names: Iterable[tuple[str, str]] = (("expressway-e", "expressway-e.log"),
                                                                  ("expressway-c", "expressway-c.log"))
               ) -> list[TxnReport]:
    """One report per Expressway whose log exists in ``log_dir``."""
    return [check_file(node, log_dir / file) for node, file in names if (log_dir / file).exists()]
