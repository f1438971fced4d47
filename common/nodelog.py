"""Each node's log: a structlog processor chain ending in that product's renderer, written to the node's own file.

The chain is ``stamp`` (time from the lab clock) → vendor renderer (one of :mod:`common.logformats`) → :class:`LineSink`.
Nodes never format log text themselves; they hand the renderer fields, and the one definition of the format does the
rest. Each node gets its own chain (``structlog.wrap_logger``), so several nodes can share a process without sharing
global logging configuration.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import structlog

from common.clock import LabClock
from common.logformats.csf import CsfLine, LogPoint
from common.logformats.expressway import ExpresswayLine, ProcessStyle
from common.logformats.log4j import Log4jLine
from common.logformats.shibboleth import ShibbolethLine
from common.logformats.sip import SdlLine

EventDict = dict[str, Any]
RING = 100_000  # records a sink keeps in memory for readers in the same process (the runner, the training page)


class LineSink:
    """The end of a chain: appends each rendered record to a file (if any) and keeps the recent ones in memory.

    Lines are written at once but flushed once per turn of the event loop, the way syslog daemons batch their writes:
    a relayed request writes several lines per node, and one ``write(2)`` for all of them costs a fraction of one per
    line. The flush is the loop's next callback: an answer the node sends in the same turn may reach a peer in another
    process a moment before the lines it caused are in the file, so a reader of the file (``mrasim run --processes``)
    reads again rather than assume. Outside a running loop every line is flushed as it comes, and closing flushes
    what is left.

    ``keep`` bounds the in-memory ring (the newest records; :data:`RING` by default). A node alone in its process
    (``mrasim serve``) keeps none: nothing in that process reads it, the file is the record, and 100,000 records of
    300 bytes were about 40 MB in each node process of a large storm (docs/performance.md, issue 18 round 4).
    """

    def __init__(self, path: Path | None = None, keep: int = RING) -> None:
        self.keep = keep
        self.records: deque[str] = deque(maxlen=keep)
        self._file: IO[str] | None = None
        self._flush_due = False
        self._listeners: list[Callable[[str], None]] = []
        self.path = path
        if path is not None:
            self.open(path)

    def open(self, path: Path) -> None:
        self.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("a", encoding="utf-8", buffering=1 << 16)

    def msg(self, record: str) -> None:
        self.records.append(record)
        for listener in self._listeners:
            listener(record)
        if self._file is not None:
            self._file.write(record + "\n")
            if not self._flush_due:
                try:
                    asyncio.get_running_loop().call_soon(self.flush)
                except RuntimeError:  # no loop: a command-line tool or a test writing directly
                    self._file.flush()
                    return
                self._flush_due = True

    def flush(self) -> None:
        self._flush_due = False
        if self._file is not None:
            self._file.flush()

    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener`` with every record from now on, as it is written (the training page's live ladder);
        returns the function that stops it. A listener must not block: it runs inside the node's log call."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    debug = info = warning = error = critical = msg

    def text(self) -> str:
        return "\n".join(self.records) + ("\n" if self.records else "")

    def close(self) -> None:
        self._flush_due = False
        if self._file is not None:
            self._file.close()
            self._file = None


class _NodeLog:
    def __init__(self, clock: LabClock, sink: LineSink, render: Callable[[EventDict], str], debug: bool) -> None:
        self.clock = clock
        self.sink = sink
        self.debug_enabled = debug

        def stamp(_: object, __: str, event: EventDict) -> EventDict:
            event.setdefault("when", clock.now())
            return event

        def renderer(_: object, __: str, event: EventDict) -> str:
            return render(event)

        # ``bind()`` once: the lazy proxy ``wrap_logger`` returns would rebuild the bound logger on every line.
        self._log = structlog.wrap_logger(
            sink, processors=[stamp, renderer], wrapper_class=structlog.BoundLogger, context_class=dict
        ).bind()

    def _emit(self, level: str, **event: Any) -> None:
        if level == "DEBUG" and not self.debug_enabled:
            return
        self._log.info("", level=level, **event)


class ExpresswayLog(_NodeLog):
    """An Expressway node's ``network_log``: traffic_server, edgeconfigprovisioning, credentialmanager lines."""

    def __init__(self, host: str, clock: LabClock, sink: LineSink, utc_offset: dt.timedelta, pid: int,
                 debug: bool = True) -> None:
        def render(event: EventDict) -> str:
            return ExpresswayLine.line(
                event["when"], host, event["style"], event["level"], event["fields"],
                module=event.get("module"), pid=pid, utc_offset=utc_offset,
                block_tag=event.get("block_tag"), block=event.get("block"),
            )

        super().__init__(clock, sink, render, debug)

    def write(self, style: ProcessStyle, level: str, fields: Mapping[str, object] | Iterable[tuple[str, object]],
              *, module: str | None = None, block_tag: str | None = None, block: str | None = None) -> None:
        # dict, list and tuple first: the Mapping check goes through ABCMeta (2 µs on a loaded machine, per line)
        pairs = fields.items() if isinstance(fields, dict) else fields if isinstance(fields, (list, tuple)) \
            else fields.items() if isinstance(fields, Mapping) else fields
        self._emit(level, style=style, fields=[(k, str(v)) for k, v in pairs], module=module,
                   block_tag=block_tag, block=block)


class CsfLog(_NodeLog):
    """Jabber's ``csf-unified.log``."""

    def __init__(self, clock: LabClock, sink: LineSink, thread: int = 0x2B04, debug: bool = True) -> None:
        def render(event: EventDict) -> str:
            return CsfLine.build(event["when"], event["level"], thread, event["point"], event["message"]).render()

        super().__init__(clock, sink, render, debug)

    def write(self, level: str, point: LogPoint, message: str) -> None:
        self._emit(level, point=point, message=message)


class Log4jLog(_NodeLog):
    """CUCM's Tomcat application logs (ssosp, UDS) in log4j layout."""

    def __init__(self, clock: LabClock, sink: LineSink, utc_offset: dt.timedelta, debug: bool = True) -> None:
        def render(event: EventDict) -> str:
            return Log4jLine.build(event["when"], event["level"], event["thread"], event["category"],
                                   event["message"], utc_offset).render()

        super().__init__(clock, sink, render, debug)

    def write(self, level: str, thread: str, category: str, message: str) -> None:
        self._emit(level, thread=thread, category=category, message=message)


class ShibbolethLog(_NodeLog):
    """The identity provider's ``idp-process.log`` (:mod:`common.logformats.shibboleth`)."""

    def __init__(self, clock: LabClock, sink: LineSink, utc_offset: dt.timedelta, debug: bool = True) -> None:
        def render(event: EventDict) -> str:
            return ShibbolethLine.build(event["when"], event["remote"], event["level"], event["logger"],
                                        event["line"], event["message"], utc_offset).render()

        super().__init__(clock, sink, render, debug)

    def write(self, level: str, remote: str, logger: str, line: int, message: str) -> None:
        self._emit(level, remote=remote, logger=logger, line=line, message=message)


class SdlLog(_NodeLog):
    """CUCM's CallManager SDL trace (``SDL001_100_*.txt``): numbered ``AppInfo`` records, SIP messages inline."""

    def __init__(self, clock: LabClock, sink: LineSink, utc_offset: dt.timedelta, start: int = 2760551,
                 debug: bool = True) -> None:
        self.seq = start

        def render(event: EventDict) -> str:
            return SdlLine.build(event["seq"], event["sub"], event["when"], utc_offset, event["text"],
                                 event.get("body", "")).render()

        super().__init__(clock, sink, render, debug)

    def write(self, text: str, body: str = "", sub: int = 1) -> None:
        self.seq += 1
        self._emit("INFO", seq=self.seq, sub=sub, text=text, body=body)
