"""Bad SIP at Expressway-E's 5061 and bad Bearer tokens at CUCM: RFC 3261's answer, a log line, no crash, no token in
any log; floods caught by intrusion protection."""

from __future__ import annotations

import asyncio

import pytest

from common.sip import auth
from common.sip.link import SipLink, dial_sip
from common.sip.message import SipMessage
from jabber.sipphone import SipPhone
from lab.running import RunningLab

REGISTER = (
    "REGISTER sip:cucm.lab.example SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK{n}\r\n"
    "From: <sip:1000@cucm.lab.example>;tag=bad{n}\r\n"
    "To: <sip:1000@cucm.lab.example>\r\n"
    "Call-ID: bad-input-{n}@127.0.0.1\r\n"
    "CSeq: {n} REGISTER\r\n"
    "Max-Forwards: 70\r\n"
    'Contact: <sip:x@127.0.0.1:5999;transport=tls>;+u.sip!devicename.ccm.cisco.com="CSFAOKANLAWON"\r\n'
    "{extra}"
    "Content-Length: 0\r\n\r\n"
)


def register(n: int, extra: str = "") -> bytes:
    return REGISTER.format(n=n, extra=extra).encode()


async def connect(running: RunningLab) -> SipLink:
    await running.core.sip.wait_status("Active")
    lab = running.lab
    return await dial_sip(running.resolver, lab.sip.edge.host, lab.sip.edge.port, running.resolver.tls.client_context("jabber"),
                          source="jabber")


async def answer(link: SipLink, data: bytes, timeout: float = 5.0) -> SipMessage | None:
    """The final response to ``data``; None when E drops it (no answer in time) or closes the connection."""
    link.writer.write(data)
    await link.writer.drain()
    try:
        async with asyncio.timeout(timeout):
            while (frame := await link.next()) is not None:
                if frame.message is not None and frame.message.status >= 200:
                    return frame.message
    except TimeoutError:
        return None
    return None


@pytest.mark.parametrize(("data", "status"), [
    (register(1).replace(b"CSeq: 1 REGISTER", b"CSeq: 1 INVITE"), 400),
    (register(2, "User-Agent: a\x00b\r\n"), 400),
    (register(3).replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia", 1), 505),
])
async def test_malformed_requests_get_the_rfc_3261_status_and_a_log_line(running: RunningLab, data: bytes,
                                                                         status: int) -> None:
    link = await connect(running)
    reply = await answer(link, data)
    assert reply is not None and reply.status == status
    assert 'Event="Bad SIP Message"' in running.log_text("expressway-e")
    # the node keeps serving on the same connection: a good REGISTER is challenged by CUCM
    again = await answer(link, register(50))
    assert again is not None and again.status == 407
    link.close()


async def test_a_64_kib_header_gets_513_and_the_connection_is_closed(running: RunningLab) -> None:
    link = await connect(running)
    reply = await answer(link, register(4, "X-Big: " + "x" * 65536 + "\r\n"))
    assert reply is not None and reply.status == 513
    assert await link.next() is None
    again = await connect(running)
    assert (await answer(again, register(51))).status == 407
    again.close()


async def test_a_request_without_call_id_is_dropped_and_a_folded_header_is_unfolded(running: RunningLab) -> None:
    link = await connect(running)
    assert await answer(link, register(5).replace(b"Call-ID: bad-input-5@127.0.0.1\r\n", b""), timeout=1) is None
    assert 'Action="Dropped"' in running.log_text("expressway-e")
    folded = register(6).replace(b"Max-Forwards: 70\r\n", b"Max-Forwards:\r\n 70\r\n")
    reply = await answer(link, folded)
    assert reply is not None and reply.status == 407  # RFC 3261 §7.3.1: a folded header is legal SIP
    link.close()


async def test_unreadable_content_length_is_answered_then_the_connection_closed(running: RunningLab) -> None:
    link = await connect(running)
    reply = await answer(link, register(7).replace(b"Content-Length: 0", b"Content-Length: zero"))
    assert reply is not None and reply.status == 400
    assert await link.next() is None


async def test_forged_expired_and_other_user_tokens_are_challenged_again(running: RunningLab) -> None:
    await running.core.sip.wait_status("Active")
    other = running.jabber("ntanborgeson", "Cisco!456")
    assert (await other.login())[0].ok
    client = running.jabber()
    assert (await client.login())[0].ok
    link = await connect(running)
    forged = client.access_token[:-8] + "AAAAAAAA"
    for n, token in enumerate((forged, other.access_token), start=10):
        reply = await answer(link, register(n, f"Proxy-Authorization: {auth.bearer_credentials(token)}\r\n"))
        assert reply is not None and reply.status == 407
        assert 'error="invalid_token"' in (reply.get("Proxy-Authenticate") or "")
    running.clock.advance(61 * 60)
    reply = await answer(link, register(20, f"Proxy-Authorization: {auth.bearer_credentials(client.access_token)}\r\n"))
    assert reply is not None and reply.status == 407 and "invalid_token" in reply.get("Proxy-Authenticate", "")
    sdl = running.cucm[0].sip.log.sink.text()
    assert "token of user ntanborgeson but the device is associated with aokanlawon" in sdl
    for text in (sdl, *(running.log_text(n) for n in ("expressway-e", "expressway-c", "jabber"))):
        assert client.access_token not in text and other.access_token not in text and forged not in text
    link.close()


async def test_a_flood_of_challenged_registers_is_blocked_by_intrusion_protection(running: RunningLab) -> None:
    link = await connect(running)
    trigger = running.lab.edge.intrusion_trigger
    for n in range(trigger + 1):
        reply = await answer(link, register(100 + n))
        assert reply is not None and reply.status == 407
    assert 'Event="Intrusion detected" Category="sip-auth"' in running.log_text("expressway-e")
    assert await answer(link, register(200), timeout=2) is None
    assert 'Event="Connection dropped" Category="sip-auth"' in running.log_text("expressway-e")


async def test_token_refresh_under_a_long_registration_reregisters(running: RunningLab) -> None:
    """Lifecycle: a refresh after the access token expired is challenged again; Jabber refreshes and retries."""
    await running.core.sip.wait_status("Active")
    client = running.jabber()
    assert (await client.login())[0].ok
    phone = SipPhone(client)
    assert (await phone.register()).ok
    first_token = client.access_token
    running.clock.advance(61 * 60)
    result = await phone.refresh()
    assert result.ok, result.reason
    assert result.steps == [("REGISTER", 407), ("REGISTER", 200)]
    assert client.access_token != first_token
    registration = running.cucm[0].sip.state.registrations["CSFAOKANLAWON"]
    assert registration.token_expires > running.clock.timestamp()
    assert (await phone.unregister()).ok
    assert "CSFAOKANLAWON" not in running.cucm[0].sip.state.registrations
    await phone.close()
