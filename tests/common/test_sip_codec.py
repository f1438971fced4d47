"""The SIP codec (common/sip): RFC 3261 parsing rules, stream framing, Digest and Bearer (RFC 8898)."""

from __future__ import annotations

import pytest

from common.sip import auth, proxy
from common.sip.message import NameAddr, SipError, parse, request, response_to
from common.sip.stream import SipStream

# Jabber's first REGISTER from Cisco TAC 215572 ("Cisco Jabber and SIP OAuth Mode"), headers as captured.
TAC_REGISTER = (
    "REGISTER sip:10.10.10.1 SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00001188\r\n"
    "From: <sip:1010@10.10.10.1>;tag=882323451234089000003bdd-00005eff\r\n"
    "To: <sip:1010@10.10.10.1>\r\n"
    "Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10\r\n"
    "Max-Forwards: 70\r\n"
    "Date: Mon, 30 Mar 2020 11:03:19 GMT\r\n"
    "CSeq: 2270 REGISTER\r\n"
    "User-Agent: Cisco-CSF\r\n"
    'Contact: <sip:a8ae9f92-4b07-a0d7-d701-29320aed1e2e@10.10.10.10:62162;transport=tls>;+sip.instance='
    '"<urn:uuid:00000000-0000-0000-0000-882323451234>";+u.sip!devicename.ccm.cisco.com="CSFrado";'
    '+u.sip!model.ccm.cisco.com="503";video\r\n'
    "Content-Length: 0\r\n\r\n"
).encode()


def test_tac_register_parses_and_renders_back_byte_for_byte():
    msg = parse(TAC_REGISTER)
    assert msg.method == "REGISTER" and msg.uri == "sip:10.10.10.1"
    assert msg.cseq == (2270, "REGISTER")
    assert NameAddr.parse(msg.get("From")).tag == "882323451234089000003bdd-00005eff"
    assert 'devicename.ccm.cisco.com="CSFrado"' in msg.get("Contact")
    assert msg.render() == TAC_REGISTER


def test_compact_forms_expand_and_folded_values_unfold():
    raw = (b"OPTIONS sip:expe.lab.example SIP/2.0\r\nv: SIP/2.0/TLS a:1;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\n"
           b"t: <sip:c@d>\r\ni: abc\r\nCSeq: 1\r\n OPTIONS\r\nl: 0\r\n\r\n")
    msg = parse(raw)
    assert msg.get("Via").startswith("SIP/2.0/TLS") and msg.call_id == "abc"
    assert msg.cseq == (1, "OPTIONS")  # RFC 3261 §7.3.1: a folded line is part of the previous header


@pytest.mark.parametrize("raw, status, answerable", [
    (TAC_REGISTER.replace(b"Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10\r\n", b""), 400, False),
    (TAC_REGISTER.replace(b"CSeq: 2270 REGISTER", b"CSeq: 2270 INVITE"), 400, True),
    (TAC_REGISTER.replace(b"Content-Length: 0", b"Content-Length: 5"), 400, True),
    (TAC_REGISTER.replace(b"User-Agent: Cisco-CSF", b"User-Agent: Cisco\x00CSF"), 400, True),
    (TAC_REGISTER.replace(b"REGISTER sip:10.10.10.1 SIP/2.0", b"REGISTER sip:10.10.10.1 SIP/3.0"), 505, True),
    (TAC_REGISTER.replace(b"REGISTER sip:10.10.10.1 SIP/2.0", b"REGISTER  SIP/2.0"), 400, True),
    (TAC_REGISTER.replace(b"User-Agent: Cisco-CSF", b"User-Agent: " + b"x" * 70000), 513, True),
    (TAC_REGISTER.replace(b"Max-Forwards: 70", b"Max-Forwards: 900"), 400, True),
    (b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS a\r\nl: 0\r\n\r\n", 400, False),  # malformed response: dropped
])
def test_malformed_messages_get_the_rfc_3261_answer(raw, status, answerable):
    with pytest.raises(SipError) as caught:
        parse(raw)
    assert caught.value.status == status
    assert caught.value.answerable is answerable


def test_stream_frames_by_content_length_and_answers_pings():
    stream = SipStream()
    body_msg = TAC_REGISTER.replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: 4\r\n\r\nabcd")
    frames = stream.feed(b"\r\n\r\n" + body_msg[:50])
    assert [f.ping for f in frames] == [True]
    frames = stream.feed(body_msg[50:] + TAC_REGISTER)
    assert [f.message.body for f in frames] == [b"abcd", b""]


def test_stream_with_unreadable_content_length_is_fatal():
    frames = SipStream().feed(TAC_REGISTER.replace(b"Content-Length: 0", b"Content-Length: -1"))
    assert frames[0].fatal and frames[0].error.status == 400


def test_stream_without_header_end_over_the_limit_is_dropped():
    frames = SipStream(max_bytes=1024).feed(b"REGISTER sip:a SIP/2.0\r\nX: " + b"y" * 2000)
    assert frames[0].fatal and frames[0].error.status == 513


def test_response_copies_the_dialog_headers():
    req = parse(TAC_REGISTER)
    resp = response_to(req, 407, extra=[("Proxy-Authenticate", auth.bearer_challenge())], to_tag="441122775")
    again = parse(resp.render())
    assert again.status == 407 and again.reason == "Proxy Authentication Required"
    assert again.get("To").endswith(";tag=441122775")
    assert again.get("Proxy-Authenticate") == 'Bearer realm="ccmsipline"'


def test_bearer_token_is_read_in_cisco_and_rfc_6750_forms():
    assert auth.bearer_token('Bearer token="eyJ.a.b"') == "eyJ.a.b"
    assert auth.bearer_token("Bearer eyJhbGciOi.x-y_z") == "eyJhbGciOi.x-y_z"
    assert auth.bearer_token("Basic abc") is None
    assert auth.bearer_token('Bearer token=""') is None


def test_digest_round_trip_and_wrong_password():
    challenge = auth.Credentials.parse(auth.digest_challenge("TraversalZone", "n0nce"))
    value = auth.digest_credentials(challenge, "expc", "Trav!Zone42", "OPTIONS", "sip:expe.lab.example", "c1")
    assert auth.check_digest(value, "OPTIONS", "expc", "Trav!Zone42", "n0nce")
    assert not auth.check_digest(value, "OPTIONS", "expc", "wrong", "n0nce")
    assert not auth.check_digest(value, "OPTIONS", "expc", "Trav!Zone42", "other-nonce")


def test_rfc_2617_digest_example():
    # RFC 2617 §3.5
    assert auth.digest_response("Mufasa", "Circle Of Life", "testrealm@host.com", "GET", "/dir/index.html",
                                "dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b", "00000001", "auth"
                                ) == "6629fae49393a05397450978507c4ef1"


def test_proxy_adds_via_and_pops_it_from_the_response():
    req = parse(TAC_REGISTER)
    out = proxy.forwarded(req, "expe.lab.example:7001", "z9hG4bKabc", received=("192.0.2.1", 62162))
    assert out.vias[0] == "SIP/2.0/TLS expe.lab.example:7001;branch=z9hG4bKabc"
    assert out.vias[1].endswith(";received=192.0.2.1") and out.get("Max-Forwards") == "69"
    resp = response_to(out, 200)
    assert proxy.top_branch(resp) == "z9hG4bKabc"
    assert proxy.popped(resp).vias == out.vias[1:]
    with pytest.raises(ValueError):
        proxy.forwarded(req.replace_header("Max-Forwards", "0"), "x", "y")


def test_request_builder_renders_content_length_last():
    msg = request("OPTIONS", "sip:a", [("v", "SIP/2.0/TLS h;branch=z9hG4bK1"), ("From", "<sip:a>;tag=1"),
                                       ("To", "<sip:b>"), ("Call-ID", "x"), ("CSeq", "1 OPTIONS")])
    assert msg.render().endswith(b"Content-Length: 0\r\n\r\n")
    assert parse(msg.render()).get("Via") == "SIP/2.0/TLS h;branch=z9hG4bK1"
