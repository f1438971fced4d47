"""The phone-service steps of a sign-in, numbered after the XMPP ones in ``mrasim run``'s table.

``{n: cnf.xml}`` is the device configuration through the edge, followed by Expressway-C's check of the access token
it carried (``{n: OAuthvalidator}``, read back from C's log as :func:`lab.runner.internal_calls` reads the HTTP
steps'); each ``{n: REGISTER}`` is one REGISTER and its final
answer (407 the Bearer challenge, 200 the registration). Beneath each REGISTER, the hop Jabber cannot see —
Expressway-C to CUCM over the CEOAuth (or CEtls) zone — is read back from C's log with the format that wrote it.
"""

from __future__ import annotations

from collections.abc import Callable

from common.logformats.expressway import ExpresswayLine
from common.logformats.sip import parse_detail
from jabber.client import JabberClient
from jabber.sipphone import Registration, SipPhone
from lab.runner import Entry, internal_calls, short_url
from lab.running import RunningLab


def cucm_legs(records: list[str]) -> list[tuple[str, int, float]]:
    """``(method, final status, ms)`` for each REGISTER C sent to CUCM, from C's ``network.sip`` INFO lines."""
    legs: list[tuple[str, int, float]] = []
    sent: dict[str, ExpresswayLine] = {}
    for record in records:
        try:
            line = ExpresswayLine.parse(record)
        except ValueError:
            continue
        detail = line.get("Detail") or ""
        if line.get("Module") != "network.sip" or not detail.startswith(("Receive Response", "Sending Request")):
            continue
        fields = parse_detail(detail)
        if fields.get("Method") != "REGISTER":
            continue
        key = f"{fields.get('Call-ID')} {fields.get('CSeq')}"
        if detail.startswith("Sending Request") and line.get("Dst-port"):
            sent[key] = line
        elif int(fields.get("Code", "0")) >= 200 and key in sent:
            elapsed = (line.utc_time - sent.pop(key).utc_time).total_seconds() * 1000
            legs.append(("REGISTER", int(fields["Code"]), elapsed))
    return legs


async def register_phone(running: RunningLab, client: JabberClient, entries: list[Entry],
                         on_entry: Callable[[Entry], None] | None = None) -> tuple[Registration, SipPhone]:
    """Register the user's CSF device through the edge and add its steps to ``entries``."""
    phone = SipPhone(client)
    core_sink = running.sinks["expressway-c"]
    mark = len(core_sink.records)
    result = await phone.register()
    records = list(core_sink.records)[mark:]
    legs = cucm_legs(records)
    checks = [call for call in internal_calls(records) if call[0] == "OAuthvalidator"]
    number = max((e.number or 0 for e in entries), default=0)
    timings = iter(phone.timings)
    for name, status in result.steps:
        number += 1
        elapsed = next(timings, 0.0)
        target = f"/{phone.device}.cnf.xml (TFTP 6970)" if name == "cnf.xml" else f"sip:{phone.device} over TLS 5061"
        add(entries, on_entry, Entry(number, name, "Jabber → E", "GET" if name == "cnf.xml" else "SIP", target,
                                     status, elapsed))
        if name == "cnf.xml":
            for call_name, method, url, code, ms in checks:
                number += 1
                add(entries, on_entry, Entry(number, call_name, "C → validator", method, short_url(url), code, ms))
        if name == "REGISTER" and legs:
            _, code, ms = legs.pop(0)
            port = running.lab.sip.cucm_zone_port
            add(entries, on_entry, Entry(None, "REGISTER", "C → CUCM", "SIP", f"CUCM port {port}", code, ms))
    return result, phone


def add(entries: list[Entry], on_entry: Callable[[Entry], None] | None, entry: Entry) -> None:
    entries.append(entry)
    if on_entry is not None:
        on_entry(entry)
