"""A whole Jabber sign-in: the HTTP login of :func:`lab.runner.run_login`, then XMPP through the edge.

The XMPP steps are numbered after the HTTP ones (``{17: xmpp stream}`` …), only those a ladder drawn from the logs
can show (``NUMBERED``: the stream, SASL and bind, which Jabber or the Expressways log); STARTTLS, the stream opened
again after it, the restart after SASL and the initial presence are rows of their own without a number, so
``mrasim run``, ``mrasim ladder`` and docs/flow.md number every step the same (issue 12). Beneath each, the XCP packets Expressway-C
routed to IM&P's auth component for it are read back from C's log with the format that wrote them — the seed's
``xdb`` ``get`` (mechanisms) and ``set`` (the client's ``<auth>``). XMPP has no HTTP status: the status column shows
``ok`` for a step that worked and ``failed`` for one the server refused (the SASL failure or stream error is in the
reason), and ``sent`` for a routed XCP packet.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from common.logformats.expressway import ExpresswayLine
from jabber.client import JabberClient
from jabber.flow import Outcome
from jabber.xmppclient import XmppConnection, connect_xmpp
from jabber.xmppflow import XmppOutcome
from lab.running import RunningLab
from lab.runner import Entry, run_login

# The XMPP steps the analyzer's ladder draws (analyzer/xmpp.py: STREAM, SASL, BIND), so the ones that take a number.
NUMBERED = ("stream", "sasl", "bind")


def xcp_routes(records: list[str]) -> list[str]:
    """``xdb get``/``xdb set`` for each packet C's router delivered to an IM&P auth component."""
    found = []
    for record in records:
        try:
            line = ExpresswayLine.parse(record)
        except ValueError:
            continue
        detail = line.get("Detail") or ""
        if line.process == "XCP_JABBERD" and detail.startswith("DELIVER: type:8"):
            kind = "get" if "type='get'" in detail else "set"
            found.append(f"xdb sasl {kind}")
    return found


async def run_sign_in(running: RunningLab, on_entry: Callable[[Entry], None] | None = None,
                      userid: str | None = None, password: str | None = None, keep_open: bool = False,
                      client: JabberClient | None = None,
                      ) -> tuple[Outcome, XmppOutcome | None, list[Entry], XmppConnection | None]:
    """HTTP login, then XMPP; the outcome is a failure at step ``xmpp`` when the HTTP part worked and XMPP did not."""
    client = client or running.jabber(userid, password)
    outcome, entries = await run_login(running, on_entry, client=client)
    if not outcome.ok:
        return outcome, None, entries, None
    core_sink = running.sinks["expressway-c"]
    mark = len(core_sink.records)
    result, connection = await connect_xmpp(client, outcome)
    routes = xcp_routes(list(core_sink.records)[mark:])
    number = max((e.number or 0 for e in entries), default=0)
    numbered: set[str] = set()
    for record in connection.records if connection else []:
        counted = record.name in NUMBERED and record.name not in numbered
        if counted:
            number += 1
            numbered.add(record.name)
        _add(entries, on_entry, Entry(number if counted else None, f"xmpp {record.name}", "Jabber → E", "XMPP",
                                      record.detail, "ok" if record.ok else "failed", record.elapsed_ms))
    if connection is None:
        number += 1
        _add(entries, on_entry, Entry(number, f"xmpp {result.failed_step}", "Jabber → E", "XMPP",
                                      result.reason, "failed", 0.0))
    for route in routes:
        _add(entries, on_entry, Entry(None, route, "C → IM&P", "XCP", "auth-1 (SASL mechanisms / <auth>)", "sent", 0.0))
    if connection is not None and not keep_open:
        await connection.close()
        connection = None
    if not result.ok:
        outcome = dataclasses.replace(outcome, ok=False, failed_step=f"xmpp {result.failed_step}",
                                      reason=result.reason)
    return outcome, result, entries, connection


def _add(entries: list[Entry], on_entry: Callable[[Entry], None] | None, entry: Entry) -> None:
    entries.append(entry)
    if on_entry is not None:
        on_entry(entry)
