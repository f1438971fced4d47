"""From events to transactions and arrows: what each node received, sent on, and answered.

An Expressway logs one HTTP transaction under one ``Txn-id`` (per node: E and C count separately, seed 2004… and
6114…). Expressway-E forwards to C with a ``TrackingID`` header (X14+), which C logs in the request it receives, so an
E transaction and the C transaction it caused are joined by that ID; without it (older versions, the seed) by the
same path within a few seconds, C's ``Last-via-addr`` naming the E. C's own calls to CUCM (``edgeconfigprovisioning``
``Action="Send"``/``"Received"``, traffic_server ``Sending Request``/``Receive Response``) and its validator verdicts
carry no Txn-id; they belong to the C transaction open on that host at that moment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qs, unquote, urlsplit

from analyzer.model import CORE, CUCM, EDGE, IMP, UNITY, Corpus, Event, Message

_STATUS = re.compile(r"HTTP/1\.[01] (\d{3})")
_TRACKING = re.compile(r"^TrackingID:\s*(\S+)", re.M)
_GRANT = re.compile(r"grant_type=(\w+)")


@dataclass
class Txn:
    """One HTTP transaction on one Expressway, with the calls it made and the verdicts it logged."""

    node: str
    host: str
    txn: str
    start: float | None
    method: str = ""
    url: str = ""
    src: str = ""
    last_via: str = ""
    tracking: str = ""
    request: str = ""
    response: str = ""
    status: int | None = None
    reason: str = ""
    forwarded: str = ""
    user: str = ""
    device: str = ""
    end: float | None = None
    closed: bool = False
    events: list[Event] = field(default_factory=list)
    calls: list[Message] = field(default_factory=list)
    peer: Txn | None = None

    @property
    def path(self) -> str:
        return _path(self.url)

    @property
    def step(self) -> str:
        if not self.url:
            return next((c.step for c in self.calls if c.step), "")
        return step_name(self.url, self.request)


@lru_cache(maxsize=4096)
def _path(url: str) -> str:
    if url.startswith("//"):
        url = "http:" + url
    parts = urlsplit(url)
    return unquote(parts.path) if parts.scheme else url.split("?")[0]


def step_name(url: str, body: str = "") -> str:
    """The name the seed's request sequence gives a request (``{3: localauthentication}``)."""
    return _step_name(url, body) if "access_token" in url or "%" in url else _step_name(url)


@lru_cache(maxsize=4096)
def _step_name(url: str, body: str = "") -> str:
    """Cached: a bundle asks for the same few URLs thousands of times (only an ``access_token`` path reads the body)."""
    path = _path(url).rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if "/cucm-uds/" in path:
        if path.endswith("/devices"):
            return "uds_devices"
        if "/cucm-uds/user/" in path:
            return "uds_user"
        return {"clusterUser": "clusterUser", "servers": "uds_servers"}.get(last, "uds_" + last)
    if last == "access_token" and body:
        grant = _GRANT.search(body)
        if grant and grant.group(1) == "refresh_token":
            return "refresh"
    return last or path


@lru_cache(maxsize=4096)
def user_of(url: str) -> str:
    """The user a request names in its query (``email``, ``username``, ``user_id``) or its UDS path; cached per URL."""
    query = parse_qs(urlsplit(url if "://" in url else "http://x" + url).query)
    for key in ("email", "username", "user_id"):
        if query.get(key) and query[key][0] != "<CONCEALED>":
            return query[key][0].split("@")[0]
    match = re.search(r"/cucm-uds/user/([^/?]+)", url)
    return unquote(match.group(1)) if match else ""


def _device(url: str, current: str) -> str:
    """``device_id`` from the query, else ``current``; a URL that cannot hold one (nor fail to parse) is not parsed."""
    if "device_id" not in url and "%" not in url and "[" not in url and url.isascii():
        return current
    found = _device_of(url)
    return current if found is None else found


@lru_cache(maxsize=4096)
def _device_of(url: str) -> str | None:
    """The query's ``device_id`` (``None`` when it has none); cached per URL, as the steps are."""
    values = parse_qs(urlsplit(url).query).get("device_id")
    return values[0] if values else None


def _split_request(line: str) -> tuple[str, str]:
    parts = line.split(" ")
    return (parts[0], parts[1]) if len(parts) >= 2 else ("", line)


def _target(url: str, corpus_hosts: dict[str, str]) -> str:
    host = _hostname(url)
    if host in ("127.0.0.1", "localhost") or host.split(".")[0] in corpus_hosts:
        return CORE
    short = host.split(".")[0].lower()
    if "unity" in short or short.startswith(("cuc", "cxn")) and not short.startswith("cucm"):
        return UNITY
    if "imp" in short or "cup" in short or "presence" in short:
        return IMP
    return CUCM


@lru_cache(maxsize=4096)
def _hostname(url: str) -> str:
    return urlsplit(url if "://" in url else "http:" + url).hostname or ""


def build(corpus: Corpus) -> list[Txn]:
    """Every transaction in the corpus, E and C, in the order they started, with their E↔C links."""
    txns: dict[tuple[str, str], Txn] = {}
    open_by_host: dict[str, list[Txn]] = {}
    order: list[Txn] = []
    for event in corpus.events:
        if event.fmt != "expressway":
            continue
        fields = event.fields
        process = fields.get("process", "")
        txn_id = fields.get("Txn-id")
        if process == "traffic_server" and txn_id:
            key = (event.host, txn_id)
            txn = txns.get(key)
            if txn is None or txn.closed and fields.get("Detail") == "Receive Request" and "Msg" in fields:
                txn = Txn(event.node, event.host, txn_id, event.time)
                txns[key] = txn
                order.append(txn)
                open_by_host.setdefault(event.host, []).append(txn)
            _traffic(txn, event, corpus)
            continue
        current = _open(open_by_host.get(event.host, []))
        if current is None:
            current = Txn(event.node, event.host, "", event.time, closed=False)
            order.append(current)
            open_by_host.setdefault(event.host, []).append(current)
        _side(current, event, corpus)
    _link(order)
    for txn in order:
        if not txn.user:
            txn.user = user_of(txn.url) or next((c.user for c in txn.calls if c.user), "")
    for txn in order:
        if not txn.user and txn.peer is not None:
            txn.user = txn.peer.user
    return order


def _open(stack: list[Txn]) -> Txn | None:
    while stack and stack[-1].closed:
        stack.pop()
    return stack[-1] if stack else None


def _traffic(txn: Txn, event: Event, corpus: Corpus) -> None:
    fields = event.fields
    detail = fields.get("Detail", "")
    txn.events.append(event)
    txn.end = event.time
    if detail == "Receive Request":
        if "Msg" in fields:
            txn.method, txn.url = _split_request(fields["Msg"])
        txn.src = fields.get("Src-ip", txn.src)
        txn.last_via = fields.get("Last-via-addr", txn.last_via)
        if event.block:
            txn.request = event.block
            first = event.block.split("\n", 1)[0]
            if not txn.url:
                txn.method, txn.url = _split_request(first)
            tracking = _TRACKING.search(event.block)
            if tracking:
                txn.tracking = tracking.group(1)
        txn.device = _device(txn.url, txn.device)
    elif detail == "Sending Request":
        target = fields.get("Msg") or (event.block or "").split("\n", 1)[0]
        method, url = _split_request(target)
        if "TrackingID" in fields or event.node == EDGE:
            txn.tracking = fields.get("TrackingID", txn.tracking)
            txn.forwarded = url
        else:
            txn.calls.append(Message(CORE, _target(url, corpus.hosts), f"{method} {_path(url)}", event.time,
                                     step=step_name(url), detail=event.block or event.text, events=[event]))
    elif detail == "Receive Response":
        status = _int(fields.get("Response-code"))
        dst = txn.calls[-1].dst if txn.calls else CUCM
        txn.calls.append(Message(dst, CORE, f"{status}", event.time, status=status, detail=event.block or event.text,
                                 events=[event]))
    elif detail in ("Sending Response", "Sending response"):
        status = _int(fields.get("Response-code"))
        if status is None and event.block:
            match = _STATUS.match(event.block)
            status = int(match.group(1)) if match else None
        if status is not None:
            txn.status = status
        if event.block:
            txn.response = (txn.response + "\n" + event.block).strip()
        txn.closed = True
    elif fields.get("Event") == "Sending HTTP error response":
        txn.status = _int(fields.get("Status"))
        txn.reason = fields.get("Reason", "")
    elif fields.get("Reason"):
        txn.reason = txn.reason or f"{detail}: {fields['Reason']}"
    elif detail:
        txn.reason = txn.reason or detail


def _side(txn: Txn, event: Event, corpus: Corpus) -> None:
    """C's calls to CUCM and the validator, and its verdict lines, into the transaction open on that host."""
    fields = event.fields
    txn.events.append(event)
    txn.end = event.time
    action = fields.get("Action")
    user = fields.get("Username") or fields.get("User") or ""
    if action == "Send":
        url = fields.get("Url", "")
        block = event.block or ""
        txn.calls.append(Message(event.node, _target(url, corpus.hosts), f"{block.split(' ', 1)[0] or 'GET'} "
                                 f"{_path(url)}", event.time, step=step_name(url, block), detail=block or event.text,
                                 events=[event], user=user_of(url)))
    elif action in ("Received", "Failed"):
        url = fields.get("Request-url") or fields.get("Url", "")
        block = event.block or ""
        match = _STATUS.match(block)
        status = int(match.group(1)) if match else (502 if action == "Failed" else None)
        label = block.split("\n", 1)[0].replace("HTTP/1.1 ", "") if match else (
            f"connection failed: {fields.get('Detail', fields.get('Reason', ''))}" if action == "Failed" else "reply")
        txn.calls.append(Message(_target(url, corpus.hosts), event.node, label, event.time, status=status,
                                 step=step_name(url), detail=block or event.text, events=[event]))
    else:
        words = fields.get("Detail") or fields.get("Event") or ""
        reason = fields.get("Reason")
        text = f"{words}" + (f": {reason}" if reason else "")
        txn.calls.append(Message(event.node, event.node, text, event.time, detail=event.text, events=[event],
                                 user=user, note=True))
    if user and not txn.user:
        txn.user = user


def _link(order: list[Txn]) -> None:
    """Join each E transaction to the C transaction it caused: TrackingID first, then path and time."""
    c_by_tracking = {t.tracking: t for t in order if t.node == CORE and t.tracking}
    free_c = [t for t in order if t.node == CORE and t.txn and not t.tracking]
    for e in (t for t in order if t.node == EDGE and t.url):
        peer = c_by_tracking.get(e.tracking) if e.tracking else None
        if peer is None:
            target = _path(e.forwarded or e.url)
            best = None
            for c in free_c:
                if c.peer is None and _path(c.url) == target and e.start is not None and c.start is not None \
                        and -2 <= c.start - e.start <= 30:
                    best = c
                    break
            peer = best
        if peer is not None:
            e.peer, peer.peer = peer, e


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None
