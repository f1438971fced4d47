"""The lab's event stream: every log record of every node, handed on as the node writes it.

Each node's chain ends in a :class:`~common.nodelog.LineSink`; :func:`follow` subscribes to all of a running lab's
sinks, so a watcher (the training page's live ladder, ``ui/``) sees the same lines the log files get, in the order
they were written, without reading the files back. A node restarted by ``RunningLab.restart`` keeps its sink, so
its lines keep coming.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lab.running import RunningLab, log_name


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One record as written: the lab node (``expressway-c``, ``cucm:cluster1``), its log file's name, the text."""

    node: str
    log: str
    text: str


def follow(running: RunningLab, listener: Callable[[LogRecord], None]) -> Callable[[], None]:
    """Call ``listener`` with each record every node writes from now on; returns the function that stops it."""
    stops = []
    for node, sink in running.sinks.items():
        name = log_name(node, running.lab)
        stops.append(sink.subscribe(lambda text, node=node, name=name: listener(LogRecord(node, name, text))))

    def stop() -> None:
        for unsubscribe in stops:
            unsubscribe()

    return stop
