"""What the signatures look at: the corpus, its transactions and sessions, and the few events worth a second look.

A large bundle is mostly routine DEBUG traffic (every request logged twice with its HTTPMSG). Signatures are
written against :attr:`Facts.notable` — verdict lines, errors, refusals, non-2xx blocks, Jabber/CUCM/IM&P lines — so
running thirty of them costs one pass over the corpus, not thirty.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import re._constants as sre_constants  # the regex parser of the standard library, as re itself uses it
import re._parser as sre_parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from analyzer import fastpath
from analyzer.flows import Txn
from analyzer.model import CORE, CUCM, EDGE, IMP, JABBER, Corpus, Event, Session

_ROUTINE = {"Receive Request", "Sending Request", "Sending Response", "Sending response", "Receive Response",
            "Access Token accepted", "Successful authorization", "Redirected client", "Authentication succeeded"}
_FINE_REASONS = {"Matched AuthZ key"}
_CSF_WORDS = ("stream:features", "SASL", "Refresh", "refresh", "conflict", "certificate", "DEBUG_MARKER")
_ERROR_BLOCK = re.compile(r"^HTTP/1\.[01] [45]\d\d")
SEARCH_WIDTH = 20_000
MIN_NEEDLE = 3
SEARCH_ALL = 5_000
_VERSION = re.compile(r'version="(\d+)\.(\d+)\.(\d+)')


UDS = 2  # not notable, but one of the few routine answers (UDS home cluster, edge config, get_edge_sso) a test reads


def _notable(event: Event) -> bool | int:
    level = event.level
    if event.fmt == "csf":
        return level in ("ERROR", "WARN", "WARNING") or any(w in event.text for w in _CSF_WORDS)
    if event.fmt == "log4j":
        return level != "DEBUG" or "Issuing" in event.text
    if event.fmt != "expressway":
        return True
    fields = event.fields
    if level in ("WARN", "WARNING", "ERROR", "FATAL") or "Status" in fields:
        return True
    if "Reason" in fields:
        return fields["Reason"] not in _FINE_REASONS
    if fields.get("Detail", "") not in _ROUTINE and fields.get("Action") not in ("Send", "Received"):
        return True
    block = event.block
    if block:
        if _ERROR_BLOCK.match(block) or 'found="false"' in block:
            return True
        if "<homeCluster" in block or "userUdsServer" in block or "Token reuse" in block:
            return UDS
    return fields.get("Response-code", "200")[:1] in "45"


def records_holding(joined: str, offsets: list[int], needle: str) -> list[int]:
    """Indexes of the records of ``joined`` (records starting at ``offsets``) that hold ``needle``, each once, in
    order: ``str.find`` over the whole text, skipping to the next record after each hit."""
    holding = []
    at = joined.find(needle)
    while at >= 0:
        index = bisect.bisect_right(offsets, at) - 1
        holding.append(index)
        following = offsets[index + 1] if index + 1 < len(offsets) else len(joined)
        at = joined.find(needle, following)
    return holding


@dataclass
class Facts:
    corpus: Corpus
    txns: list[Txn]
    sessions: list[Session]
    notable: list[Event] = field(default_factory=list)
    uds: list[Event] = field(default_factory=list)
    by_node: dict[str, list[Event]] = field(default_factory=dict)
    memo: dict[str, list[Event]] = field(default_factory=dict)
    _blob: str | None = None
    _offsets: list[int] = field(default_factory=list)
    _found: dict[re.Pattern[str], list[Event]] = field(default_factory=dict)
    _space: list[Event] = field(default_factory=list)
    _texts: list[str] = field(default_factory=list)
    _joined: str | None = None
    _joined_offsets: list[int] = field(default_factory=list)
    _by_needle: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for event in self.corpus.events:
            verdict = _notable(event)
            if verdict is True:
                self.notable.append(event)
            elif verdict:
                self.uds.append(event)
        for event in self.notable:
            self.by_node.setdefault(event.node, []).append(event)

    def find(self, test: Callable[[Event], bool], nodes: Iterable[str] | None = None,
             needles: tuple[str, ...] = ()) -> list[Event]:
        """Notable events (of these nodes) that pass ``test``, in time order; one node reads only its own list.

        ``needles``: ``test`` can pass only for an event whose text, a field value or block holds one of them; the
        test then runs only on those events, found with ``str.find`` in one joined text (:mod:`analyzer.fastpath`)."""
        pool = self._holding_any(needles) if needles else None
        if pool is not None:
            if nodes is None:
                return [e for e in pool if test(e)]
            wanted = set(nodes)
            return [e for e in pool if e.node in wanted and test(e)]
        if nodes is None:
            return [e for e in self.notable if test(e)]
        wanted = set(nodes)
        if len(wanted) == 1:
            return [e for e in self.by_node.get(next(iter(wanted)), ()) if test(e)]
        return [e for e in self.notable if e.node in wanted and test(e)]

    def find_answers(self, test: Callable[[Event], bool], nodes: Iterable[str] | None = None) -> list[Event]:
        """:meth:`find` over the notable events and the routine UDS / edge config / get_edge_sso answers."""
        wanted = set(nodes) if nodes is not None else None
        return [e for e in self.uds if (wanted is None or e.node in wanted) and test(e)] + self.find(test, nodes)

    def text(self, *needles: str, nodes: Iterable[str] | None = None) -> list[Event]:
        """Notable events whose text holds any of the needles (case-sensitive, as the products write them)."""
        if len(needles) == 1:
            needle = needles[0]
            return self.find(lambda e: needle in e.text, nodes, needles)
        return self.find(lambda e: any(n in e.text for n in needles), nodes, needles)

    def _holding_any(self, needles: tuple[str, ...]) -> list[Event] | None:
        """The notable events whose text, field values or block hold one of ``needles``, in order; ``None`` when the
        fast path is off or a needle cannot be looked for this way."""
        if not fastpath.ENABLED or any(not n or "\x00" in n or "\x01" in n for n in needles):
            return None
        if self._joined is None:
            parts = []
            for event in self.notable:  # the text, and whatever field value or block is not already in it
                text = event.text
                extra = [v for v in event.fields.values() if v not in text]
                if event.block and event.block not in text:
                    extra.append(event.block)
                parts.append("\x00".join((text, *extra)) if extra else text)
            self._joined_offsets = list(itertools.accumulate((len(p) + 1 for p in parts[:-1]), initial=0))
            self._joined = "\x01".join(parts)
        joined, offsets, found = self._joined, self._joined_offsets, set()
        for needle in needles:
            holding = self._by_needle.get(needle)
            if holding is None:
                holding = self._by_needle[needle] = records_holding(joined, offsets, needle)
            found.update(holding)
        return [self.notable[i] for i in sorted(found)]

    def search(self, pattern: re.Pattern[str], nodes: frozenset[str] | set[str] = frozenset()) -> list[Event]:
        """``pattern`` (written for lower-cased text, :func:`analyzer.knowledge.compile_lower`) over the records.

        Records in which it matches (within one record), of these nodes; records that could not be placed match any
        node. Every record of an excerpt or a small bundle is searched (a symptom can sit in a DEBUG line); in a large
        bundle only the notable ones. The text is searched first for the literals the pattern cannot match without
        (``str.find``, at memory speed), and the regex runs only on the records that hold one."""
        found = self._found.get(pattern)
        if found is None:
            if self._blob is None:
                self._build_blob()
            found = []
            needles = literals(pattern.pattern)
            if needles is None:
                last = -1
                for match in pattern.finditer(self._blob):  # type: ignore[arg-type]
                    index = bisect.bisect_right(self._offsets, match.start()) - 1
                    if index != last:
                        found.append(self._space[index])
                        last = index
            else:
                for index in sorted(self._holding(needles)):
                    if pattern.search(self._texts[index]) is not None:
                        found.append(self._space[index])
            self._found[pattern] = found
        if not nodes:
            return found
        return [e for e in found if e.node in nodes or not e.node or "guess" in e.fields]

    def _build_blob(self) -> None:
        self._space = self.corpus.events if len(self.corpus.events) <= SEARCH_ALL else self.notable
        at = 0
        for event in self._space:
            text = (event.text if len(event.text) <= SEARCH_WIDTH else event.text[:SEARCH_WIDTH]).lower()
            self._offsets.append(at)
            self._texts.append(text)
            at += len(text) + 1
        self._blob = "\x00".join(self._texts)

    def _holding(self, needles: list[str]) -> set[int]:
        out: set[int] = set()
        for needle in needles:
            out.update(records_holding(self._blob or "", self._offsets, needle))
        return out

    def field(self, name: str, *values: str, nodes: Iterable[str] | None = None) -> list[Event]:
        return self.find(lambda e: any(v in e.fields.get(name, "") for v in values), nodes, values)

    def has(self, node: str) -> bool:
        return any(e.node == node for e in self.corpus.events)

    def failed_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.outcome == "failed"]

    def config(self, pattern: str) -> list[str]:
        """Lines of an ``xconf_dump``/``xstat_dump`` in the input that match ``pattern``."""
        regex = re.compile(pattern, re.I)
        return [line for text in self.corpus.config.values() for line in text.splitlines() if regex.search(line)]

    def versions(self) -> list[tuple[tuple[int, int, int], Event]]:
        """CUCM versions as UDS reports them (``clusterUser version="11.5.1"``)."""
        out = []
        for event in self.uds + self.notable:
            if event.block and "<clusterUser" in event.block:
                match = _VERSION.search(event.block)
                if match:
                    out.append(((int(match.group(1)), int(match.group(2)), int(match.group(3))), event))
        return out

    def skew(self) -> list[tuple[float, Txn]]:
        """C's receive time minus E's forward time, for each E→C pair joined by TrackingID."""
        out = []
        for txn in self.txns:
            if txn.node == EDGE and txn.peer is not None and txn.tracking and txn.peer.start is not None:
                sent = next((e.time for e in txn.events if e.get("Detail") == "Sending Request"), None)
                if sent is not None:
                    out.append((txn.peer.start - sent, txn))
        return out


NODES_E, NODES_C, NODES_J, NODES_U, NODES_I = (EDGE,), (CORE,), (JABBER,), (CUCM,), (IMP,)


@functools.lru_cache(maxsize=512)
def literals(regex: str) -> list[str] | None:
    """Strings of which a match of ``regex`` must contain one (one per alternative), or ``None`` when some alternative
    has no literal of ``MIN_NEEDLE`` characters that every match of it contains."""
    try:
        return _needles(list(sre_parse.parse(regex)))
    except (re.error, TypeError, ValueError):
        return None


def _needles(ops: list[tuple[object, object]]) -> list[str] | None:
    if len(ops) == 1 and ops[0][0] is sre_constants.BRANCH:
        out: list[str] = []
        for branch in ops[0][1][1]:  # type: ignore[index]
            found = _needles(list(branch))
            if found is None:
                return None
            out += found
        return out
    best, run, groups = "", [], []
    for op, value in ops + [(None, None)]:
        if op is sre_constants.LITERAL:
            run.append(chr(value))  # type: ignore[arg-type]
            continue
        if len(run) > len(best):
            best = "".join(run)
        run = []
        if op is sre_constants.SUBPATTERN or op is sre_constants.BRANCH:
            inner = _needles(list(value[-1]) if op is sre_constants.SUBPATTERN else [(op, value)])  # type: ignore
            if inner:
                groups.append(inner)
    if len(best) >= MIN_NEEDLE:
        return [best]
    return next((g for g in groups if all(len(n) >= MIN_NEEDLE for n in g)), None)
