"""Phone service over the edge: Jabber registers its CSF device through E and C to CUCM with SIP OAuth."""

from __future__ import annotations

from common.logformats.expressway import ExpresswayLine, split_records
from common.logformats.sip import parse_detail
from jabber.sipphone import SipPhone
from lab.running import RunningLab


async def signed_in_phone(running: RunningLab) -> SipPhone:
    await running.core.sip.wait_status("Active")
    client = running.jabber()
    outcome, _ = await client.login()
    assert outcome.ok, outcome.reason
    return SipPhone(client)


def sip_details(text: str) -> list[dict[str, str]]:
    found = []
    for record in split_records(text):
        line = ExpresswayLine.parse(record)
        if line.get("Module") == "network.sip" and line.get("Detail", "").startswith(("Receive", "Sending")):
            found.append({"Action": line.get("Action"), **parse_detail(line.get("Detail"))})
    return found


async def test_healthy_oauth_registration_is_challenged_then_accepted(running: RunningLab) -> None:
    phone = await signed_in_phone(running)
    result = await phone.register()
    assert result.ok, result.reason
    assert result.steps == [("cnf.xml", 200), ("REGISTER", 407), ("REGISTER", 200)]
    assert result.expires == running.lab.sip.granted_expires
    registrations = running.cucm[0].sip.state.registrations
    assert registrations["CSFAOKANLAWON"].user == "aokanlawon"
    assert registrations["CSFAOKANLAWON"].port == 5091 and registrations["CSFAOKANLAWON"].auth == "oauth"
    jabber = running.log_text("jabber")
    assert 'sipio-recv<--- SIP/2.0 407 Proxy Authentication Required' in jabber
    assert 'Proxy-Authenticate: Bearer realm="ccmsipline"' in jabber
    assert 'Proxy-Authorization: Bearer token="<CONCEALED>"' in jabber
    assert "sip OAuth Mode=1" in jabber
    for node in ("expressway-e", "expressway-c", "jabber"):
        assert phone.client.access_token not in running.log_text(node)
    sdl = running.cucm[0].sip.log.sink.text()
    assert "Incoming SIP TCP message from" in sdl and phone.client.access_token not in sdl
    e_lines = sip_details(running.log_text("expressway-e"))
    registers = [d for d in e_lines if d.get("Method") == "REGISTER" and d["Kind"] == "Request"]
    assert [d["Action"] for d in registers] == ["Received", "Sent", "Received", "Sent"]
    assert 'Event="Registration Accepted" Service="SIP" AOR="sip:1000@cucm.lab.example"' in running.log_text(
        "expressway-c")
    codes = [d.get("Code") for d in sip_details(running.log_text("expressway-c")) if d["Kind"] == "Response"]
    assert "407" in codes and "200" in codes
    status = running.sip_status()
    assert status["traversal_zone"]["expressway-c"]["status"] == "Active"
    assert status["traversal_zone"]["expressway-e"]["status"] == "Active"
    assert [(r["device"], r["user"], r["port"], r["auth"]) for r in status["registrations"]] == [
        ("CSFAOKANLAWON", "aokanlawon", 5091, "oauth")]
    await phone.close()


async def dump(running: RunningLab) -> None:  # pragma: no cover - a helper to look at the logs by hand
    for node in ("jabber", "expressway-e", "expressway-c"):
        print(running.log_text(node)[-6000:])


async def test_a_registration_not_refreshed_expires_on_cucm(running: RunningLab) -> None:
    phone = await signed_in_phone(running)
    assert (await phone.register()).ok
    assert [r["device"] for r in running.sip_status()["registrations"]] == ["CSFAOKANLAWON"]
    running.clock.advance(running.lab.sip.granted_expires + 1)
    assert running.sip_status()["registrations"] == []
    again = await phone.refresh()
    assert again.ok and again.steps == [("REGISTER", 200)]  # the token is still valid: no new challenge
    assert [r["device"] for r in running.sip_status()["registrations"]] == ["CSFAOKANLAWON"]
    await phone.close()
