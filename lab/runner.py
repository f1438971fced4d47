"""Run a login through a running lab and lay out the request sequence the way the seed article numbers it.

The client's own steps come from the Jabber client; the hops it cannot see (Expressway-C's ``clusterUser`` lookup,
``authorize_proxy``, its leg of the token request, the OAuthvalidator) are read back from Expressway-C's log with the
same format definition that wrote them (:mod:`common.logformats.expressway`). An internal call with the same name as
the client step that caused it (the token request) is shown under that step rather than numbered again, so the
healthy login reads ``{1: get_edge_sso}`` … ``{8: OAuthvalidator}`` as in the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from yarl import URL

from common.logformats.expressway import ExpresswayLine
from jabber.client import JabberClient, StepRecord
from jabber.flow import Outcome
from lab.running import RunningLab

INTERNAL_NAMES = {
    "/cucm-uds/clusterUser": "edgeconfigprovision",
    "/cucm-uds/servers": "uds_servers",
    "/ssosp/token/authorize_proxy": "authorize_proxy",
    "/ssosp/token/access_token": "access_token",
    "/OAuthvalidator": "OAuthvalidator",
    "/ssosp/token/authz_keys": "authz_keys",
}


@dataclass(frozen=True)
class Entry:
    number: int | None
    name: str
    hop: str
    method: str
    target: str
    status: int | str  # the HTTP status; for XMPP "ok" or "failed", for a routed XCP packet "sent"
    elapsed_ms: float


def internal_calls(records: list[str]) -> list[tuple[str, str, str, int, float]]:
    """(name, method, url, status, ms) for each Send/Received pair in a slice of Expressway-C's log."""
    return _pairs(records)[0]


def unanswered_from(records: list[str]) -> int:
    """The index of the first ``Send`` after the slice's last answer whose own answer is not in it yet
    (``len(records)`` if none): a log written by another process may be read before the rest of a call is flushed, so
    the next slice starts there."""
    return _pairs(records)[1]


def _pairs(records: list[str]) -> tuple[list[tuple[str, str, str, int, float]], int]:
    calls = []
    pending: dict[str, tuple[str, ExpresswayLine]] = {}
    sent_at: dict[str, int] = {}
    answered = -1  # the index of the last answer in the slice
    for index, record in enumerate(records):
        try:
            line = ExpresswayLine.parse(record)
        except ValueError:
            continue
        action = line.get("Action")
        if action == "Send":
            url = line.get("Url", "") or ""
            method = (line.block or "GET").split(" ", 1)[0]
            pending[url] = (method, line)
            sent_at[url] = index
        elif action in ("Received", "Failed"):
            url = line.get("Request-url") or line.get("Url") or ""
            if url not in pending:
                continue
            method, sent = pending.pop(url)
            sent_at.pop(url, None)
            answered = index
            status = 0
            if action == "Received" and line.block:
                parts = line.block.split(" ", 2)
                status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            elapsed = (line.utc_time - sent.utc_time).total_seconds() * 1000
            path = URL(url).path
            calls.append((INTERNAL_NAMES.get(path, path), method, url, status, elapsed))
    first = min(sent_at.values(), default=len(records))
    return calls, first if first > answered else len(records)  # a Send never answered is not waited for forever


async def run_login(running: RunningLab, on_entry: Callable[[Entry], None] | None = None,
                    userid: str | None = None, password: str | None = None,
                    client: JabberClient | None = None) -> tuple[Outcome, list[Entry]]:
    entries: list[Entry] = []
    core_sink = running.sinks["expressway-c"]
    mark = len(core_sink.records)
    number = 0

    def add(entry: Entry) -> None:
        entries.append(entry)
        if on_entry is not None:
            on_entry(entry)

    def on_step(step: StepRecord) -> None:
        nonlocal mark, number
        number += 1
        hop = "Jabber → IdP" if step.name.startswith("idp_") else "Jabber → E"
        add(Entry(number, step.name, hop, step.method, short_url(step.url), step.status, step.elapsed_ms))
        written = list(core_sink.records)  # read once: C's log may be a file another process is still appending to
        unanswered = unanswered_from(written[mark:])
        records, mark = written[mark:mark + unanswered], mark + unanswered
        for name, method, url, status, elapsed in internal_calls(records):
            hop = "C → validator" if name == "OAuthvalidator" else "C → CUCM"
            if name == step.name:
                add(Entry(None, name, hop, method, short_url(url), status, elapsed))
            else:
                number += 1
                add(Entry(number, name, hop, method, short_url(url), status, elapsed))

    client = client or running.jabber(userid, password)
    outcome, _ = await client.login(on_step)
    return outcome, entries


def short_url(url: str) -> str:
    parsed = URL(url)
    text = parsed.path + (f"?{parsed.query_string}" if parsed.query_string else "")
    for secret in ("username=", "code="):
        if secret in text:
            text = text.split(secret, 1)[0] + secret + "<CONCEALED>"
    return text
