"""Read what engineers actually paste: log records in the shapes they take in TAC documents, cases and chats.

:mod:`analyzer.ingest` reads files through the strict format definitions of :mod:`common.logformats` and, for pasted
damage, :mod:`analyzer.normalize`. Whatever those two leave unread comes here, and is read as records of the same
products in their field shapes (issue 12, item 1):

* Expressway lines with or without the syslog prefix, the time with or without milliseconds and offset, the process
  with or without ``[pid]`` and colon (``traffic_server``, ``tvcs``, ``XCP_JABBERD``, ``XCP_CM2``, the web log
  viewer's ``tvcs:``), ``Level="DEBUG"`` with or without the colon, ``Detail``/``Event`` forms, free text after the
  fields (``[ET_NET 1]ERROR:SSL connection failed …``), ``HTTPMSG``/``MSGBODY`` blocks on their own lines, indented,
  or folded into the line;
* Jabber ``csf-unified.log`` lines with or without the date, one or two spaces after the level, truncated source paths,
  the older ``LEVEL [thread] - [logger][function] text`` and bare ``XmppSDK.dll #0, …`` shapes;
* CUCM and IM&P log4j lines (two spaces before the category, stack traces following) and SDL trace lines
  (``08080021.043 |16:31:15.937 |AppInfo |…``); TelePresence endpoint ``HttpClient``/``PROV`` lines;
* several records run together on one line, as copied from a web page or a PDF: a record starts wherever one of the
  shapes above starts, and an Expressway record also where a field it already holds (``Module``, ``Event``,
  ``UTCTime``) begins again.

A line in none of these shapes that still looks like a log line (a level word, a bracket, ``name="value"``, an error
word) is kept as a ``text`` record: it could not be placed, but it is still searched for symptoms. Prose is dropped.
Which product wrote a record is decided from the record itself (:func:`place`), never from the file name.
"""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Iterable

from analyzer.model import CUCM, IDP, IMP, JABBER, UNITY, Event

LEVELS = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL"
PROCESSES = ("traffic_server|tvcs|edgeconfigprovisioning|XCP_JABBERD|XCP_CM2|XCP_ROUTER|XCP_[A-Z_]+|"
             "credentialmanager|fail2ban|httpd|portforwarding|tsh|sshd|ntpd|clusterdb|licensemanager|"
             "app-manager|management|b2bua|ocsp|ivy|mgmt|kernel|apache")
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"

# One alternation, scanned once over the text: each alternative is a shape's opening.
_START = re.compile(
    r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,6})?(?:Z|[+-]\d\d:?\d\d)?)(?=\s)"
    r"|(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d{1,6})?)(?=\s)"
    r"|(?P<bsd>(?:" + _MONTHS + r") [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?)(?=\s)"
    r"|(?P<sdl>\d{8}\.\d{3} +\|\d\d:\d\d:\d\d\.\d{3} +\|)"
    r"|(?<![\w.])(?P<tc>\d{2,7}\.\d\d +(?:HttpClient|PROV|CertificateVerification|SipStack|Provisioning)\b)"
    r"|(?<![\w\[])(?P<csf>(?:" + LEVELS + r") {1,3}\[(?:0x)?[0-9a-fA-F]{4,16}\](?= ))"
    r"|(?:(?<=[\s\"|>])|^)(?P<proc>(?:[A-Za-z0-9][\w.-]* )?(?:" + PROCESSES + r")(?:\[\d+\]:?|:)(?=[\s\[A-Z]))"
    r"|(?P<xmppsdk>(?<![\w@])XmppSDK\.dll #\d+,)",
    re.M,
)
_FIELD = re.compile(r'(?<![\w.-])([A-Za-z][\w.-]*)= ?"([^"]*)"(:?)')
_EXPRESSWAY_FIELD = re.compile(r'(?<![\w.-])(?:Module|Event|Detail|UTCTime|Level|Txn-id|Service|Src-ip|Dst-ip|'
                               r'Action|Request-url|CodeLocation|ThreadID)= ?"')
_REPEAT = re.compile(r'(?<![\w.-])(Module|Event|UTCTime)= ?"')
_MODULE_NEXT = re.compile(r'[^"]*"\s*(?:Module|ThreadID)= ?"')
_BLOCK = re.compile(r"\s*\b(HTTPMSG|MSGBODY|SIPMSG):\s*")
_TIME = r"(?P<time>\d{4}-\d\d-\d\dT\S+|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\S*|(?:" + _MONTHS + r") [ \d]\d [\d:.]+) +"
_EXPRESSWAY_HEAD = re.compile(
    r"^(?:" + _TIME + r")?(?:(?P<host>[A-Za-z0-9][\w.-]*) +)?"
    r"(?P<process>(?:" + PROCESSES + r")(?![\w-])|[A-Za-z_][\w.-]*(?=\[\d+\]))(?:\[(?P<pid>\d+)\])?:? ?")
_HOST_ONLY = re.compile(r"^(?:" + _TIME + r")?(?P<host>[A-Za-z0-9][\w.-]*) +(?=[A-Z][\w-]*= ?\")")
_CSF = re.compile(
    r"^(?:(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d+) +)?(?P<level>" + LEVELS + r") +\[(?P<thread>[^\]]*)\] *"
    r"(?:\[(?P<location>[^\]]*)\] *)?(?:\[(?P<logger>[^\]]*)\] *)?(?:\[(?P<function>[^\]]*)\])? *-? *(?P<message>.*)$",
    re.S)
_OLD_CSF = re.compile(r"^(?P<level>" + LEVELS + r") +\[(?P<thread>[^\]]*)\] +- +\[(?P<logger>[^\]]*)\] *"
                      r"\[(?P<function>[^\]]*)\] *(?P<message>.*)$", re.S)
_LOG4J = re.compile(r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[,.]\d+) +(?P<level>" + LEVELS + r") +"
                    r"\[(?P<thread>[^\]]+)\] +(?P<category>\S+)(?: +\([\w$.]+:\d+\))? +- +(?P<message>.*)$", re.S)
_SDL = re.compile(r"^\d{8}\.\d{3} +\|(?P<time>[\d:.]+) +\|(?P<level>\w+) *\|(?P<message>.*)$", re.S)
_LOGLIKE = re.compile(r"\b(?:" + LEVELS + r")\b|\w= ?\"|\[[\w.:\\/ -]+\]|<[a-z:]+[ >/]|\bHTTP/1\.[01] \d{3}|\bSIP/2\.0 \d{3} |(?:^|\s)Warning: \d{3} |\bCSeq: \d+ [A-Z]+\b|"
                      r"\d\d:\d\d:\d\d|\w::\w|\w(?:Exception|Error)\b|\b(?:MSIS|ID)\d{4}: |[Ii]nvalid [\w ]{0,40}\b(?:[Rr]esponse|[Aa]ssertion|SAML)\b|\berror:[0-9A-F]{6,}|\b[A-Z][A-Z0-9]+_[A-Z0-9_]{3,}\b")
_PROSE_ONLY = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){3,}[^=\[\]<>|]*[.:]?$")
_EXPRESSWAY_PROCESSES = frozenset(PROCESSES.replace("XCP_[A-Z_]+|", "").split("|"))
_C_PORTS = {"6970", "6972", "5090", "5091", "2445", "3804", "8191"}


def read(text: str, source: str, first_line: int = 1) -> tuple[list[Event], int]:
    """Records found in ``text`` as events, and the number of lines that held no record (prose, separators)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ").replace("\ufeff", "")
    newlines = [i for i, c in enumerate(text) if c == "\n"] if len(text) < 2_000_000 else _newlines(text)
    starts = _starts(text)
    events: list[Event] = []
    covered = set()
    bounds = starts + [len(text)]
    if not starts or starts[0] > 0:
        head = text[:starts[0] if starts else len(text)]
        offset = 0
        for raw in head.split("\n"):
            number = first_line + bisect.bisect_left(newlines, offset)
            offset += len(raw) + 1
            for piece in _split_repeats(raw.strip()) if raw.strip() else ():
                event = record(piece, source, number)
                if event is not None:
                    events.append(event)
                    covered.add(number)
    for start, end in zip(bounds, bounds[1:]):
        chunk = text[start:end].strip()
        if not chunk:
            continue
        line = first_line + bisect.bisect_left(newlines, start)
        for piece in _split_repeats(chunk):
            event = record(piece, source, line)
            if event is not None:
                events.append(event)
                covered.add(line)
    lines = text.count("\n") + 1
    return events, max(0, lines - len(covered) - text.count("\n\n"))


def _newlines(text: str) -> list[int]:
    out, i = [], text.find("\n")
    while i >= 0:
        out.append(i)
        i = text.find("\n", i + 1)
    return out


def _starts(text: str) -> list[int]:
    """Where records start: each shape's opening, with a time, host and process that follow one another kept as one
    opening (the gap between them holds no field)."""
    out: list[int] = []
    last_end = -10
    for match in _START.finditer(text):
        start = match.start()
        kind = match.lastgroup
        if kind == "xmppsdk" and text[text.rfind("\n", 0, start) + 1:start].strip():
            continue
        if out and start - last_end <= 2 and not text[last_end:start].strip():
            last_end = match.end()
            continue
        if kind == "proc" and match.group(0).startswith("UTCTime"):
            continue
        out.append(start)
        last_end = match.end()
    return out


def _split_repeats(chunk: str) -> list[str]:
    """An Expressway record holds each of ``Module``, ``Event`` and ``UTCTime`` once: where one begins again, so does
    the next record (records run together without a header, as in a PDF)."""
    if '="' not in chunk and '= "' not in chunk:
        return [chunk]
    head = chunk.split("HTTPMSG:", 1)[0].split("MSGBODY:", 1)[0]
    seen: set[str] = set()
    cuts = []
    for match in _REPEAT.finditer(head):
        name = match.group(1)
        # An ``Event=`` record (``tvcs: Event="…" … UTCTime="…"``) ends with its time, a ``Module=`` record begins
        # with it: after an Event, a UTCTime opens the next record only when a Module or ThreadID field follows it.
        trailing = name == "UTCTime" and "Event" in seen and "UTCTime" not in seen \
            and _MODULE_NEXT.match(head, match.end()) is None
        if name in seen or name == "UTCTime" and "Event" in seen and not trailing and "UTCTime" not in seen:
            cuts.append(match.start())
            seen = set()
        seen.add(name)
    if not cuts:
        return [chunk]
    pieces, begin = [], 0
    for cut in cuts:
        pieces.append(chunk[begin:cut].strip())
        begin = cut
    pieces.append(chunk[begin:].strip())
    return [p for p in pieces if p]


def record(text: str, source: str, line: int) -> Event | None:
    """One record in any of the shapes of the module docstring, as an event; ``None`` for prose."""
    first = text[:200]
    if _SDL.match(first):
        match = _SDL.match(text)
        assert match is not None
        return Event(CUCM, "cucm", "sdl", None, match.group("level").upper(), {"message": match.group("message")},
                     text, source, line)
    if _EXPRESSWAY_FIELD.search(text[:2000]) is not None and not _CSF.match(first) and not _LOG4J.match(first):
        return _expressway(text, source, line)
    if first.startswith("XmppSDK"):
        return Event(JABBER, "jabber", "csf", None, "INFO", {"message": "@" + text.replace(".dll", ":", 1),
                                                              "logger": "csf.jwcpp", "function": "", "location": ""},
                     text, source, line)
    match = _LOG4J.match(text)
    if match is not None:
        category = match.group("category")
        return Event(_log4j_node(category, text), _host_of(source), "log4j", stamp(match.group("time")),
                     match.group("level").upper(), {"category": category, "thread": match.group("thread"),
                                                    "message": match.group("message")}, text, source, line)
    match = _CSF.match(text) or _OLD_CSF.match(text)
    if match is not None and (match.groupdict().get("logger") or "0x" in match.group("thread")
                              or match.group("thread").isdigit()):
        groups = match.groupdict()
        return Event(JABBER, "jabber", "csf", stamp(groups.get("time") or ""), groups["level"].upper().replace(
            "WARNING", "WARN"), {"logger": groups.get("logger") or "", "function": groups.get("function") or "",
                                 "message": groups.get("message") or "", "location": groups.get("location") or ""},
                     text, source, line)
    proc = _EXPRESSWAY_HEAD.match(text)
    if proc is not None and (proc.group("process") in _EXPRESSWAY_PROCESSES or proc.group("process").startswith(
            "XCP_") or proc.group("pid") and proc.group("time")):
        return _expressway(text, source, line)
    if re.match(r"^\d{2,7}\.\d\d +(?:HttpClient|PROV|CertificateVerification|SipStack|Provisioning)\b", first):
        return Event(JABBER, "endpoint", "text", None, "ERROR" if "error" in text.lower() else "INFO",
                     {"message": text, "client": "TelePresence endpoint"}, text, source, line)
    return _text_record(text, source, line)


def _text_record(raw: str, source: str, line: int) -> Event | None:
    stripped = raw.strip()
    if len(stripped) < 12 or _LOGLIKE.search(stripped) is None or _PROSE_ONLY.match(stripped):
        return None
    node = place(stripped)
    level = "ERROR" if re.search(r"(?i)\b(error|fail|refused|denied|exception)", stripped) else ""
    return Event(node, "", "text", None, level, {"message": stripped, "guess": "1"}, stripped, source, line)


def _expressway(text: str, source: str, line: int) -> Event:
    head, block = text, None
    found = _BLOCK.search(text)
    if found is not None:
        head, rest = text[:found.start()], text[found.end():]
        block = rest.strip()
        if block.startswith("|"):
            block = block[1:]
        end = block.rfind("|")
        if end >= 0:
            block = block[:end]
        block = "\n".join(part.strip() for part in block.split("\n")).strip()
    fields: dict[str, str] = {}
    for name, value, _colon in _FIELD.findall(head):
        fields.setdefault(name, value.strip())
    match = _EXPRESSWAY_HEAD.match(head)
    host, process, local = "", "", ""
    if match is not None:
        process, host, local = match.group("process"), match.group("host") or "", match.group("time") or ""
    else:
        match = _HOST_ONLY.match(head)
        if match is not None:
            host, local = match.group("host"), match.group("time") or ""
    last = head.rfind('"')
    tail = head[last + 1:].strip(" :") if last >= 0 else ""
    if not fields:
        tail = head[match.end():] if match is not None else head
    if tail:
        fields["message"] = tail
        if not fields.get("Level"):
            lvl = re.search(r"\b(" + LEVELS + r")\b", tail)
            if lvl:
                fields["Level"] = lvl.group(1)
    fields["process"] = process or ("XCP_JABBERD" if fields.get("Module") == "Jabber" else
                                    "edgeconfigprovisioning" if "edgeconfigprovisioning" in fields.get("Module", "")
                                    else "")
    if not host:
        fields["guess"] = "1"
    level = fields.get("Level", "").strip().upper()
    if level.isdigit():
        level = {"1": "INFO", "2": "INFO", "3": "DEBUG"}.get(level, "INFO")
    fmt = "xcp" if fields["process"].startswith("XCP_") else "expressway"
    when = _utc(fields.get("UTCTime", "")) or _iso(local)
    return Event("", host or "expressway", fmt, when, level, fields, text, source, line, block)


def _host_of(source: str) -> str:
    return source.rsplit("/", 1)[-1].rsplit("!", 1)[-1].split(".")[0]


# log4j categories only IM and Presence writes: ``services.ServiceUtil`` is ``com.cisco.cup.services.ServiceUtil``
# (the cupadmin log, doc 217514's stack trace).
_IMP_CATEGORIES = ("services.serviceutil", "logging.impcommonlogger")


def _log4j_node(category: str, text: str) -> str:
    low = (category + " " + text[:300]).lower()
    if any(w in low for w in ("xcp", "epas", "cup", "presence", "sync agent", "intercluster", *_IMP_CATEGORIES)):
        return IMP
    if any(w in low for w in ("unity", "vmrest", "authzserver")) or re.search(r"\bcuc\b", low):
        return UNITY
    return CUCM


# The Jabber / Webex app for iOS and macOS writes its UI layer's lines beside the csf ones (doc 223101's current_log.txt):
# ``2024-02-01T05:48:33.551Z <Error> [0x84953][]WebViewController.swift:358 webView(…)``.
_CLIENT_APP = re.compile(r"^\S+ <(?:error|warning|info|debug|notice)> \[0x[0-9a-f]+\]\[[^\]]*\]\w+\.(?:swift|mm?):\d+ ")
_IDP_WORDS = re.compile(r"\bmsis\d{4}\b|microsoft\.identityserver|\bad fs\b|\badfs\b|\bid\d{4}: |okta|pingfederate|"
                        r"net\.shibboleth|relying party trust")


def place(text: str) -> str:
    """The product that wrote an unplaced line, from its content; ``""`` when nothing says. An identity provider's
    words (AD FS's ``MSIS…`` errors and event text, Okta, PingFederate, Shibboleth) place it at the IdP."""
    low = text.lower()
    if _IDP_WORDS.search(low):
        return IDP
    if "csf." in low or "xmppsdk" in low or "jabber" in low and ("[0x" in low or ".cpp" in low) or _CLIENT_APP.search(low):
        return JABBER
    if "|appinfo" in low or "sipstation" in low or "ccm" in low and "|" in low:
        return CUCM
    if "xcp" in low or "presence" in low or "epas" in low or "com.cisco.cup." in low:
        return IMP
    if "unity" in low or "vmrest" in low:
        return UNITY
    return ""


def c_hint(event: Event) -> int:
    """How strongly an Expressway record's content says Expressway-C (positive) or Expressway-E (negative)."""
    fields = event.fields
    text = event.text
    score = 0
    if fields.get("Dst-port") in _C_PORTS or "/cucm-uds/" in fields.get("Request-url", "") \
            or "edgeconfigprovisioning" in fields.get("Module", "") or "credentialmanager" in text[:300]:
        score += 2
    if "port 7400" in text and ("Connecting" in text or "Unable to connect" in text):
        score += 2
    if fields.get("Dst-port") == "7001" and "Outbound" in fields.get("Event", ""):
        score += 2
    if fields.get("Event") == "Authentication Failed" and fields.get("Service") == "SIP":
        score -= 2
    if "Server: CE_E" in (event.block or "") or fields.get("Dst-port") in ("5061", "5222", "8443") \
            and fields.get("Detail") == "Sending Response":
        score -= 1
    return score


def stamp(text: str) -> float | None:
    """``YYYY-MM-DD HH:MM:SS[,.]f…`` → epoch seconds read as UTC; ``None`` otherwise."""
    match = re.match(r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?", text or "")
    if match is None:
        return None
    y, mo, d, h, mi, s = (int(match.group(i)) for i in range(1, 7))
    try:
        base = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    frac = match.group(7) or ""
    return base + (int(frac) / 10 ** len(frac) if frac else 0.0)


def _utc(text: str) -> float | None:
    return stamp(text) if text else None


def _iso(text: str) -> float | None:
    when = stamp(text)
    if when is None:
        return None
    offset = re.search(r"([+-])(\d\d):?(\d\d)$", text)
    if offset:
        seconds = int(offset.group(2)) * 3600 + int(offset.group(3)) * 60
        when -= seconds if offset.group(1) == "+" else -seconds
    return when


def read_lines(pieces: Iterable[tuple[int, str]], source: str) -> tuple[list[Event], int]:
    """Runs of consecutive numbered lines (what the strict readers left), each read as one text."""
    events: list[Event] = []
    dropped = 0
    run: list[str] = []
    begin = previous = 0
    for number, raw in list(pieces) + [(-1, "")]:
        if run and number != previous + 1:
            found, lost = read("\n".join(run), source, begin)
            events.extend(found)
            dropped += lost
            run = []
        if number < 0:
            break
        if not run:
            begin = number
        run.append(raw)
        previous = number + raw.count("\n")
    return events, dropped
