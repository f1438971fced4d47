"""Golden tests for the SIP trace formats (common/logformats/sip.py), against real lines copied from public sources.

Sources (each constant names its own):
* Expressway INFO lines: the comments of a public Expressway log parser (github, "N E T W O R K   S I P   L O G S"),
  lines from X8.10 systems ``rcdn6-vm67-40`` and ``vm-bluck-fed-vcse1``.
* Expressway DEBUG ``SIPMSG`` record: the fixture of a public Expressway log parser's tests (``ni.network_traffic``),
  an X7.2.1 system ``cisco``; and a traversal-zone OPTIONS with Digest from ``rusc01-et-vcs200``.
* Jabber ``sipio`` lines: Cisco TAC document 215572, "Cisco Jabber and SIP OAuth Mode".
* CUCM SDL lines: a public CUCM troubleshooting write-up (REGISTER of DN 8888, CUCM 10.106.111.182).
"""

from __future__ import annotations

import datetime as dt

from common.logformats.expressway import TVCS, ExpresswayLine, split_records
from common.logformats.sip import SdlLine, SipioRecord, detail, info_fields, parse_detail
from common.sip.message import parse

E_INFO_REGISTER = (
    '2018-01-18T11:34:39.499-06:00 rcdn6-vm67-40 tvcs: UTCTime="2018-01-18 17:34:39,499" Module="network.sip" '
    'Level="INFO":  Action="Received" Local-ip="10.89.67.40" Local-port="5061" Src-ip="10.89.106.35" '
    'Src-port="50209" Detail="Receive Request Method=REGISTER, CSeq=1176, To=sip:7022@rcdn6-vm118-41.cisco.com, '
    'Call-ID=00ebd5d5-d8c60008-3d372b84-5f6b0fd9@10.89.106.35, From-Tag=00ebd5d5d8c6035e6dbee882-304060fa, To-Tag=, '
    'Msg-Hash=17912736280473840983"'
)
E_INFO_OPTIONS_200 = (
    '2018-01-01T12:56:43.846-05:00 vm-bluck-fed-vcse1 tvcs: UTCTime="2018-01-01 17:56:43,846" Module="network.sip" '
    'Level="INFO":  Action="Sent" Local-ip="10.81.54.5" Local-port="7012" Dst-ip="10.81.54.102" Dst-port="25018" '
    'Detail="Sending Response Code=200, Method=OPTIONS, CSeq=30235, To=sip:10.81.54.5:7012, '
    'Call-ID=3be07e0ceb19d6df@10.81.54.102, From-Tag=c924fa30c7e5bdb2, To-Tag=00257b9a244d2547, '
    'Msg-Hash=9783133151195055080, Local-SessionID=, Remote-SessionID="'
)
# An X14 DEBUG header (Cisco's public Webex mTLS troubleshooting article, system ``smartslave``) over the X7.2.1
# SIPMSG block of the ``ni.network_traffic`` fixture: the X7 header has no milliseconds and two spaces between fields,
# which today's systems no longer write; the block layout is unchanged.
E_DEBUG_RESPONSE = "\n".join([
    '2026-03-24T11:54:26.106+00:00 smartslave tvcs: UTCTime="2026-03-24 11:54:26,106" Module="network.sip" '
    'Level="DEBUG":  Action="Sent" Local-ip="10.106.80.31" Local-port="25002" Dst-ip="163.129.37.33" Dst-port="5061"',
    " SIPMSG:",
    " |SIP/2.0 200 OK",
    " Via: SIP/2.0/TCP 127.0.0.1:5060;egress-zone=DefaultZone;branch=z9hG4bKeddc39fddb653eb2e21e8dff57384faa153."
    "8de24b12c2931257c0e410e17bd936b9;proxy-call-id=d5bb0634-433f-11e2-aa82-005056ab3dbd;received=127.0.0.1;rport=25000",
    " Via: SIP/2.0/TLS 192.168.0.3:64981;branch=z9hG4bK1362adc2b49b82b052c4931786fefc95.1;received=90.214.3.75;"
    "rport=64981;ingress-zone=DefaultSubZone",
    " Call-ID: 5a8615fc0ccb32eb@192.168.0.3",
    " CSeq: 206 PUBLISH",
    " From: <sip:laura.michael.movi@fyp.com>;tag=2ec3d9a8c06e5acc",
    " To: <sip:laura.michael.movi@fyp.com>;tag=f899b911a87c1104",
    " Server: TANDBERG/4120 (X7.2.1)",
    " Expires: 1314",
    " SIP-ETag: e8b432b8-433c-11e2-83c1-005056ab3dbd",
    " Content-Length: 0",
    "|",
])
JABBER_407 = "\n".join([
    "2020-03-30 13:03:19,310 DEBUG [0x00000e2c] [\\sipcc\\core\\sipstack\\ccsip_debug.c(1041)] "
    "[csf.sip-call-control] [platform_print_sip_msg] - sipio-recv<--- SIP/2.0 407 Proxy Authentication Required",
    "Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK00001188",
    "From: <sip:1010@10.10.10.1>;tag=882323451234089000003bdd-00005eff",
    "To: <sip:1010@10.10.10.1>;tag=441122775",
    "Date: Mon, 30 Mar 2020 11:03:31 GMT",
    "Call-ID: 88232345-12340017-00001c0b-00000cfa@10.10.10.10",
    "Server: Cisco-CUCM12.5",
    "CSeq: 2270 REGISTER",
    'Proxy-Authenticate: Bearer realm="ccmsipline"',
    "Content-Length: 0",
])
CUCM_SDL_IN = (
    "02760551.004 |19:11:08.219 |AppInfo  |SIPTcp - wait_SdlReadRsp: Incoming SIP TCP message from 10.65.40.61 on "
    "port 57378 index 12386 with 2203 bytes:"
)
CUCM_SDL_OUT = (
    "02760584.001 |19:11:08.334 |AppInfo  |SIPTcp - wait_SdlSPISignal: Outgoing SIP TCP message to 10.65.40.61 on "
    "port 57378 index 12386"
)


def test_expressway_info_lines_round_trip_and_build_the_same_text():
    for text in (E_INFO_REGISTER, E_INFO_OPTIONS_200):
        assert ExpresswayLine.parse(text).render() == text
    line = ExpresswayLine.parse(E_INFO_REGISTER)
    fields = parse_detail(line.get("Detail"))
    assert fields["Method"] == "REGISTER" and fields["CSeq"] == "1176" and fields["To-Tag"] == ""
    when = dt.datetime(2018, 1, 18, 17, 34, 39, 499000, tzinfo=dt.timezone.utc)
    rebuilt = ExpresswayLine.build(when, "rcdn6-vm67-40", TVCS, "INFO", line.fields[3:], module="network.sip",
                                   utc_offset=dt.timedelta(hours=-6))
    assert rebuilt.render() == E_INFO_REGISTER


def test_info_detail_is_built_from_a_message_in_the_real_order():
    register = parse(
        b"REGISTER sip:rcdn6-vm118-41.cisco.com SIP/2.0\r\nVia: SIP/2.0/TLS 10.89.106.35:50209;branch=z9hG4bK1\r\n"
        b"From: <sip:7022@rcdn6-vm118-41.cisco.com>;tag=00ebd5d5d8c6035e6dbee882-304060fa\r\n"
        b"To: <sip:7022@rcdn6-vm118-41.cisco.com>\r\nCall-ID: 00ebd5d5-d8c60008-3d372b84-5f6b0fd9@10.89.106.35\r\n"
        b"CSeq: 1176 REGISTER\r\nContent-Length: 0\r\n\r\n")
    assert detail(register, True, "17912736280473840983") == ExpresswayLine.parse(E_INFO_REGISTER).get("Detail")
    fields = dict(info_fields(register, True, ("10.89.67.40", 5061), ("10.89.106.35", 50209), "1"))
    assert fields["Src-port"] == "50209" and fields["Action"] == "Received"


def test_expressway_sipmsg_record_splits_parses_and_renders_back():
    records = list(split_records(E_DEBUG_RESPONSE + "\n" + E_INFO_REGISTER + "\n"))
    assert records == [E_DEBUG_RESPONSE, E_INFO_REGISTER]
    line = ExpresswayLine.parse(E_DEBUG_RESPONSE)
    assert line.block_tag == "SIPMSG" and line.block.startswith("SIP/2.0 200 OK\nVia:")
    assert line.block.endswith("Content-Length: 0")
    assert parse((line.block.replace("\n", "\r\n") + "\r\n\r\n").encode()).cseq == (206, "PUBLISH")
    assert line.render() == E_DEBUG_RESPONSE


def test_jabber_sipio_record_parses_into_a_sip_message():
    record = SipioRecord.parse(JABBER_407)
    assert not record.sent and record.line.logger == "csf.sip-call-control"
    assert record.line.location == "\\sipcc\\core\\sipstack\\ccsip_debug.c(1041)"
    message = parse((record.text.replace("\n", "\r\n") + "\r\n\r\n").encode())
    assert message.status == 407 and message.get("Proxy-Authenticate") == 'Bearer realm="ccmsipline"'


def test_cucm_sdl_lines_round_trip_and_name_the_peer():
    incoming = SdlLine.parse(CUCM_SDL_IN + "\n[101339,NET]\nREGISTER sip:10.106.111.182 SIP/2.0")
    assert incoming.render().split("\n")[0] == CUCM_SDL_IN
    assert incoming.sip == ("in", "10.65.40.61", 57378, "REGISTER sip:10.106.111.182 SIP/2.0")
    outgoing = SdlLine.parse(CUCM_SDL_OUT)
    assert outgoing.render() == CUCM_SDL_OUT and outgoing.sip[0] == "out"
