"""The analyzer's vocabulary: an :class:`Event` per log record, a :class:`Message` per arrow of a ladder diagram, a
:class:`Session` per login attempt and a :class:`Finding` per diagnosis.

Events keep the record's text and where it came from (file and line), because every finding must quote its evidence
the way an engineer would paste it into a case note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

JABBER, EDGE, CORE, CUCM, IMP, UNITY = "Jabber", "Expressway-E", "Expressway-C", "CUCM", "IM&P", "Unity"
IDP = "IdP"  # the SAML identity provider: our idp-process.log, and pasted AD FS / Okta / PingFederate errors
NODE_ORDER = (JABBER, EDGE, CORE, CUCM, IMP, UNITY, IDP)
SHORT = {JABBER: "Jabber", EDGE: "E", CORE: "C", CUCM: "CUCM", IMP: "IM&P", UNITY: "Unity", IDP: "IdP"}
ZONES = {JABBER: "Internet", EDGE: "DMZ", CORE: "Internal", CUCM: "Internal", IMP: "Internal", UNITY: "Internal",
         IDP: "Internet"}

ISSUE, MISSING, POTENTIAL = "Issues Found", "Missing Information", "Potential Problem"
GROUPS = (ISSUE, MISSING, POTENTIAL)


@dataclass(slots=True)
class Event:
    """One log record, parsed through its format in :mod:`common.logformats`.

    ``fields`` holds an Expressway line's ``name="value"`` pairs, or for the other formats ``logger``/``function``/
    ``category``/``thread`` and ``message``; ``block`` is a ``HTTPMSG``/``MSGBODY`` body. ``time`` is UTC epoch
    seconds after the corpus's clocks were aligned (``None`` when the record carries no usable time).
    """

    node: str
    host: str
    fmt: str
    time: float | None
    level: str
    fields: dict[str, str]
    text: str
    source: str
    line: int
    block: str | None = None

    def get(self, key: str, default: str = "") -> str:
        return self.fields.get(key, default)

    @property
    def message(self) -> str:
        return self.fields.get("message", "")

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def quote(self, width: int = 400) -> str:
        """The record's first line (and block opening) as evidence, cut at ``width``."""
        text = self.text if len(self.text) <= width else self.text[:width] + " …"
        return text


@dataclass(slots=True)
class Message:
    """An arrow (or a note, when ``src == dst``) of a ladder diagram."""

    src: str
    dst: str
    label: str
    time: float | None
    status: int | None = None
    step: str = ""
    detail: str = ""
    txn: str = ""
    tracking: str = ""
    user: str = ""
    client: str = ""
    events: list[Event] = field(default_factory=list)
    note: bool = False

    @property
    def failed(self) -> bool:
        return self.status is not None and self.status >= 400


@dataclass(slots=True)
class Session:
    """One login attempt (or token refresh) of one user from one client, across every node."""

    number: int
    user: str
    client: str
    kind: str
    messages: list[Message] = field(default_factory=list)
    outcome: str = "incomplete"
    stopped_at: str = ""
    status: int | None = None

    @property
    def start(self) -> float | None:
        return next((m.time for m in self.messages if m.time is not None), None)

    @property
    def end(self) -> float | None:
        return next((m.time for m in reversed(self.messages) if m.time is not None), None)

    @property
    def ok(self) -> bool:
        return self.outcome == "succeeded"

    def summary(self) -> str:
        if self.kind == "start-up":
            return "start-up: the nodes' AuthZ key exports and fetches (not a login session)"
        where = f" at {self.stopped_at}" + (f" ({self.status})" if self.status else "") if not self.ok else ""
        return f"#{self.number} {self.kind} {self.user or '?'} from {self.client or '?'}: {self.outcome}{where}"


@dataclass(slots=True)
class Finding:
    """A diagnosis: a signature that matched, with the lines that matched it."""

    id: str
    group: str
    title: str
    root_cause: str
    fix: str
    document: str
    priority: int
    evidence: list[Event] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id, "group": self.group, "title": self.title, "root_cause": self.root_cause, "fix": self.fix,
            "document": self.document, "priority": self.priority, "note": self.note,
            "evidence": [{"where": e.where, "node": e.node, "host": e.host, "line": e.quote()} for e in self.evidence],
        }


@dataclass
class Corpus:
    """Everything read from the inputs: events in time order, plus what could not be read and why."""

    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unknown_modules: dict[str, int] = field(default_factory=dict)
    unparsed: int = 0
    files: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    bytes_read: int = 0
    startup: Session | None = None

    def nodes(self) -> set[str]:
        return {e.node for e in self.events}
