"""Golden tests: the seed article's log lines, parsed, re-rendered and rebuilt byte for byte.

Every constant below is copied from ``/work/shared/reference/seed-understanding-oauth-and-mra.txt``. The article is an
HTML page, so it wraps long lines (with blank paragraphs between the pieces) and writes some spaces as U+00A0; the
constants join the pieces with one space and use plain spaces. ``test_golden_constants_are_in_the_seed`` checks every
constant against the article itself when the reference file is present.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from common.edgexml import SSOResult
from common.logformats import csf, expressway, log4j
from common.logformats.csf import CsfLine, LogPoint
from common.logformats.expressway import (
    CREDENTIALMANAGER,
    EDGECONFIG,
    EDGECONFIG_EVENT,
    TRAFFIC_SERVER,
    XCP_JABBERD,
    ExpresswayLine,
    HttpMessage,
    parse_log,
    split_records,
)
from common.logformats.log4j import Log4jLine

SEED = Path("/work/shared/reference/seed-understanding-oauth-and-mra.txt")
MDT = dt.timedelta(hours=-6)  # the Expressways' local zone in the seed (-06:00)
CLIENT_ID = "C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1"
B64DOM = "Ym91bGRlcm1lZGljYWxjZW50ZXIuY29t"


def utc(*args: int) -> dt.datetime:
    """A UTC instant; the last argument is milliseconds."""
    *head, ms = args
    return dt.datetime(*head, ms * 1000, tzinfo=dt.timezone.utc)


# --- Expressway syslog -------------------------------------------------------------------------------------------

E_RECEIVE_INFO = (
    '2020-03-24T16:31:00.962-06:00 labucexpye01 traffic_server[16087]: UTCTime="2020-03-24 22:31:00,962" '
    'Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="2004" Src-ip="81.157.160.37" '
    'Src-port="59252" Msg="GET https:///Ym91bGRlcm1lZGljYWxjZW50ZXIuY29t/get_edge_sso?email=aokanlawon@lab.com HTTP/1.1"'
)

# The article cuts the MSGBODY off after </SSOResult> and spreads it over HTML paragraphs; this is the block with the
# paragraphs' blank lines dropped, the U+00A0 indentation as spaces, and the closing '|' every other seed block has.
SSO_BODY = "\n".join([
    "<?xml version='1.0' encoding='UTF-8'?>",
    '<SSOResult version="1.0">',
    "      <Response>",
    "        <SingleSignOn>",
    '            <Status enabled="false"/>',
    '            <Token reuse="true"/>',
    "        </SingleSignOn>",
    "      </Response>",
    "</SSOResult>",
])
E_SENDING_HEAD = (
    '2020-03-24T16:31:00.963-06:00 labucexpye01 traffic_server[16087]: UTCTime="2020-03-24 22:31:00,962" '
    'Module="network.http.trafficserver" Level="DEBUG": Detail="Sending response" Response-code="200" Txn-id="2004" '
    'Dst-ip="81.157.160.37" Dst-port="59252"'
)
E_SENDING_RECORD = f"{E_SENDING_HEAD}\nMSGBODY:\n|{SSO_BODY}|"

C_LAST_VIA_PIECES = (
    '2020-03-24T16:31:22.739-06:00 labucexpyc01 traffic_server[14358]: UTCTime="2020-03-24 22:31:22,739" '
    'Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="6114" Src-ip="127.0.0.1"',
    'Src-port="33688" Last-via-addr="10.10.1.44" '
    'Msg="POST http://vcs_control.lab.com:8443/Ym91bGRlcm1lZGljYWxjZW50ZXIuY29t/localauthentication HTTP/1.1"',
)
C_LAST_VIA = " ".join(C_LAST_VIA_PIECES)

ECP_SEND_PIECES = (
    '2020-03-24T16:31:22.741-06:00 labucexpyc01 edgeconfigprovisioning UTCTime="2020-03-24 22:31:22,741" '
    'Module="network.http.edgeconfigprovisioning" Level="DEBUG" Action="Send"',
    'Url="https://av-cucm.lab.com:8443/cucm-uds/clusterUser?username=<CONCEALED>"',
)
ECP_SEND_BLOCK = "GET //av-cucm.lab.com:8443/cucm-uds/clusterUser?username=<CONCEALED>"
ECP_SEND_RECORD = " ".join(ECP_SEND_PIECES) + f"\nHTTPMSG:\n|{ECP_SEND_BLOCK}|"

VALIDATOR_SEND_RECORD = "\n".join([
    '2020-03-24T16:31:23.917-06:00 labucexpyc01 edgeconfigprovisioning UTCTime="2020-03-24 22:31:23,917" '
    'Module="network.http.sso.server" Level="DEBUG" Action="Send" Url="http://127.0.0.1:9998/OAuthvalidator?reqtype=access"',
    "HTTPMSG:",
    "|POST //127.0.0.1:9998/OAuthvalidator?reqtype=access HTTP/1.1",
    "Content-Type: ['application/json']",
    '{"token": "<concealed>"}',
    "|",
])

AUTHORIZE_PROXY_RECEIVED_RECORD = "\n".join([
    '2020-03-24T16:31:23.025-06:00 labucexpyc01 edgeconfigprovisioning UTCTime="2020-03-24 22:31:23,025" '
    'Module="network.http.sso.server" Level="DEBUG" Action="Received" '
    'Request-url="https://av-cucm.lab.com:8443/ssosp/token/authorize_proxy"',
    "HTTPMSG:",
    "|HTTP/1.1 200 OK",
    '{"redirect_uri":"https://cucm:8443/ssosp/public/OAuthcb#code=<CONCEALED>&expires_in=299&realm=local&state=1771145038"}',
    "|",
])

C_302_RECORD = "\n".join([
    '2020-03-24T16:31:23.031-06:00 labucexpyc01 traffic_server[14358]: UTCTime="2020-03-24 22:31:23,031" '
    'Module="network.http.trafficserver" Level="DEBUG": Detail="Sending Response" Txn-id="6114" Dst-ip="127.0.0.1" '
    'Dst-port="33688"',
    "HTTPMSG:",
    "|HTTP/1.1 302 Found",
    "Location: /OAuthcb#code=<CONCEALED>|",
])

EVENT_AUTHORIZED = (
    '2020-03-24T16:31:23.029-06:00 labucexpyc01 edgeconfigprovisioning: Level="INFO" Event="Edge OAuth/SSO" '
    'Service="OAuth/SSO" Detail="Successful authorization" Dst-ip="127.0.0.1" Dst-port="33252" Local-ip="127.0.0.1" '
    'Local-port="22111" Server="10.12.1.172" Username="aokanlawon" UTCTime="2020-03-24 22:31:23,029"'
)
EVENT_REDIRECTED = (
    '2020-03-24T16:31:23.030-06:00 labucexpyc01 edgeconfigprovisioning: Level="INFO" Event="Edge SSO" '
    'Service="OAuth/SSO" Detail="Redirected client" Dst-ip="127.0.0.1" Dst-port="33252" Local-ip="127.0.0.1" '
    'Local-port="22111" Redirect="/OAuthcb#code=Hidden" Username="aokanlawon" UTCTime="2020-03-24 22:31:23,030"'
)

CM_ACCEPTED = (
    '2020-03-24T16:31:23.920-06:00 labucexpyc01 credentialmanager: Level="INFO" Detail="Access Token accepted" '
    'User="aokanlawon" UTCTime="2020-03-24 22:31:23,920"'
)
CM_INSPECTOR = (
    '2020-03-24T16:31:23.920-06:00 labucexpyc01 credentialmanager: UTCTime="2020-03-24 22:31:23,918" '
    'Module="developer.credentialmanager.OAuthinspector" Level="INFO" CodeLocation="OAuthinspector(331)" '
    'Detail="Token validation" Type="Access Token" Reason="Matched AuthZ key" Issuer="cucm.lab.com"'
)

XCP_DETAIL = (
    "DELIVER: type:8, host:auth-1.lab2-imp-lab-com, packet:<route type='redirect' to='auth-1.lab2-imp-lab-com' "
    "from='sdns_plugin-1.labucexpwyc01-lab-com'><xdb from='connect-auth-1.labucexpwyc01-lab-com' "
    "id='conauth765380-jtx_10392' ns='http://jabber.com/protocol/sasl' to='lab.com' type='get'>"
    "<jid>ntanborgeson@lab.com</jid></xdb></route>"
)
XCP_LINE = (
    '2020-03-31T05:13:03.271-06:00 labucexpwyc01 XCP_JABBERD[28071]: UTCTime="2020-03-31 11:13:03,271" '
    'ThreadID="140493154612992" Module="Jabber" Level="VBOSE" CodeLocation="deliver.c:1171" '
    f'Detail="{XCP_DETAIL}"'
)

# --- Jabber csf-unified.log --------------------------------------------------------------------------------------

CSF_TOKEN_REUSE = (
    r"2020-03-24 22:31:00,442 INFO [0x00002b04] [rvices\impl\system\SingleSignOn.cpp(206)] [Single-Sign-On-Logger] "
    r"[CSFUnified::SingleSignOn::Impl::isAuthenticatorTokenReuseEnabled] - TokenReuse enabled for 1001"
)
CSF_CREDENTIALS = (
    r"2020-03-24 22:31:00,442 INFO [0x00002b04] [\impl\system\UserProfileManager.cpp(153)] [UserProfileManager] "
    r"[CSFUnified::UserProfileManager::Impl::getCredentialsForAuthenticator] - for authenticator: 1001"
)
CSF_NEEDS_AUTHZ = (
    r"2020-03-24 22:31:00,442 DEBUG [0x00002b04] [vices\impl\system\SingleSignOn.cpp(2044)] [Single-Sign-On-Logger] "
    r"[CSFUnified::SingleSignOn::Impl::currentServiceNeedsAuthorization] - "
    r"creds->getSecureOAuthToken().empty() for service: 1001"
)
CSF_SASL_ERROR = (
    r"2020-03-31 12:12:54,998 ERROR [0x000006c8] [rwerx\jwcpp\xmppcore\src\client.cpp(192)] [csf.jwcpp] "
    r"[gloox::Client::handleNormalNode] - @XmppSDK: #0, The server doesn't offer any SASL authentication mechanism "
    r"that we can support"
)
CSF_EMPTY_MESSAGE = (
    r"2020-03-24 22:31:00,442 DEBUG [0x00002b04] [rvices\impl\system\SingleSignOn.cpp(329)] [Single-Sign-On-Logger] "
    r"[CSFUnified::SingleSignOn::Impl::setCredentialAuthorizationMode] -"
)

# --- CUCM log4j --------------------------------------------------------------------------------------------------

L4J_ISSUING = (
    "2020-05-01 11:36:18,124 DEBUG [http-bio-8443-exec-89] token.TokenV2Manager - "
    "TokenV2Manager.createTokens:  Issuing Refresh Token"
)
L4J_CLAIMS_MESSAGE = (
    'JWT claims beofre encryption:: {"exp":1590924978,"iss":"6a2d4bd9-3bf6-4bfa-a9f2-9a15c53b6737","typ":"user",'
    f'"tid":"fcae3404-ca38-46c4-b579-10af3f51d361","ctyp":"refresh","ccid":"{CLIENT_ID}"}}'
)
L4J_CLAIMS = f"2020-05-01 11:36:18,124 DEBUG [http-bio-8443-exec-89] token.TokenV2Manager - {L4J_CLAIMS_MESSAGE}"
L4J_SHA = (
    "2020-05-01 11:36:18,132 DEBUG [http-bio-8443-exec-89] token.TokenV2Manager - SHA256 sum of the refresh token : "
    "12f30557abcfab7b33590aaf824c77518b5739ac1f5c4e73b754642a316c2317"
)

EXPRESSWAY_RECORDS = [
    E_RECEIVE_INFO, E_SENDING_RECORD, C_LAST_VIA, ECP_SEND_RECORD, VALIDATOR_SEND_RECORD,
    AUTHORIZE_PROXY_RECEIVED_RECORD, C_302_RECORD, EVENT_AUTHORIZED, EVENT_REDIRECTED, CM_ACCEPTED, CM_INSPECTOR,
    XCP_LINE,
]
CSF_LINES = [CSF_TOKEN_REUSE, CSF_CREDENTIALS, CSF_NEEDS_AUTHZ, CSF_SASL_ERROR]
LOG4J_LINES = [L4J_ISSUING, L4J_CLAIMS, L4J_SHA]


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip("the seed article is not on this machine")
    return SEED.read_text(encoding="utf-8").replace("\u00a0", " ")


def test_golden_constants_are_in_the_seed(seed_text: str) -> None:
    """Each constant (or each wrapped piece of it) is a verbatim stretch of the article."""
    lines = [*CSF_LINES, *LOG4J_LINES, E_RECEIVE_INFO, E_SENDING_HEAD, EVENT_AUTHORIZED, EVENT_REDIRECTED,
             CM_ACCEPTED, CM_INSPECTOR, XCP_LINE, VALIDATOR_SEND_RECORD, AUTHORIZE_PROXY_RECEIVED_RECORD,
             C_302_RECORD, *C_LAST_VIA_PIECES, *ECP_SEND_PIECES, f"HTTPMSG:\n|{ECP_SEND_BLOCK}|"]
    missing = [line[:80] for line in lines if line not in seed_text]
    assert missing == []
    stripped = [line.strip().lstrip("|") for line in seed_text.splitlines() if line.strip()]
    for body_line in SSO_BODY.splitlines():
        assert body_line.strip() in stripped


# --- Expressway: parse and render --------------------------------------------------------------------------------

@pytest.mark.parametrize("record", EXPRESSWAY_RECORDS, ids=lambda r: r.split('Detail="')[-1][:24] if "Detail" in r else r[60:90])
def test_expressway_seed_record_round_trips(record: str) -> None:
    assert ExpresswayLine.parse(record).render() == record


def test_parse_reads_traffic_server_header_and_fields() -> None:
    line = ExpresswayLine.parse(E_RECEIVE_INFO)
    assert (line.local_time, line.host, line.process, line.pid, line.colon, line.level_colon) == (
        "2020-03-24T16:31:00.962-06:00", "labucexpye01", "traffic_server", 16087, True, True)
    assert [name for name, _ in line.fields] == [
        "UTCTime", "Module", "Level", "Detail", "Txn-id", "Src-ip", "Src-port", "Msg"]
    assert line.get("Level") == "INFO"
    assert line.get("Msg") == f"GET https:///{B64DOM}/get_edge_sso?email=aokanlawon@lab.com HTTP/1.1"
    assert line.get("Nope", "x") == "x"
    assert line.utc_time == utc(2020, 3, 24, 22, 31, 0, 962)
    assert line.block_tag is None and line.block is None


def test_parse_reads_edgeconfigprovisioning_header_without_pid_or_colon() -> None:
    line = ExpresswayLine.parse(ECP_SEND_RECORD)
    assert (line.process, line.pid, line.colon, line.level_colon) == ("edgeconfigprovisioning", None, False, False)
    assert line.get("Url") == "https://av-cucm.lab.com:8443/cucm-uds/clusterUser?username=<CONCEALED>"
    assert (line.block_tag, line.block) == ("HTTPMSG", ECP_SEND_BLOCK)


def test_parse_reads_event_line_that_ends_with_utctime() -> None:
    line = ExpresswayLine.parse(EVENT_REDIRECTED)
    assert (line.process, line.pid, line.colon) == ("edgeconfigprovisioning", None, True)
    assert line.fields[0] == ("Level", "INFO") and line.fields[-1][0] == "UTCTime"
    assert line.get("Redirect") == "/OAuthcb#code=Hidden"
    assert line.utc_time == utc(2020, 3, 24, 22, 31, 23, 30)


def test_parse_keeps_the_msgbody_block_without_its_pipes() -> None:
    line = ExpresswayLine.parse(E_SENDING_RECORD)
    assert line.block_tag == "MSGBODY"
    assert line.block == SSO_BODY
    assert SSOResult.from_xml(line.block) == SSOResult(sso_enabled=False, token_reuse=True)


def test_parse_refuses_a_non_expressway_line() -> None:
    with pytest.raises(ValueError, match="not an Expressway log line"):
        ExpresswayLine.parse(CSF_TOKEN_REUSE)


def test_utc_time_requires_a_utctime_field() -> None:
    line = dataclasses.replace(ExpresswayLine.parse(CM_ACCEPTED), fields=(("Level", "INFO"),))
    with pytest.raises(ValueError, match="no UTCTime"):
        line.utc_time


# --- Expressway: build what the seed shows -----------------------------------------------------------------------

def test_build_traffic_server_receive_request_matches_seed() -> None:
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 0, 962), "labucexpye01", TRAFFIC_SERVER, "INFO",
        [("Detail", "Receive Request"), ("Txn-id", "2004"), ("Src-ip", "81.157.160.37"), ("Src-port", "59252"),
         ("Msg", f"GET https:///{B64DOM}/get_edge_sso?email=aokanlawon@lab.com HTTP/1.1")],
        module="network.http.trafficserver", pid=16087, utc_offset=MDT,
    )
    assert built.render() == E_RECEIVE_INFO


def test_build_sending_response_with_msgbody_matches_seed() -> None:
    """The seed stamps this line's syslog time 1 ms after its UTCTime; build takes one instant, so set the stamp."""
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 0, 962), "labucexpye01", TRAFFIC_SERVER, "DEBUG",
        [("Detail", "Sending response"), ("Response-code", "200"), ("Txn-id", "2004"), ("Dst-ip", "81.157.160.37"),
         ("Dst-port", "59252")],
        module="network.http.trafficserver", pid=16087, utc_offset=MDT, block_tag="MSGBODY", block=SSO_BODY,
    )
    assert built.local_time == "2020-03-24T16:31:00.962-06:00"
    assert dataclasses.replace(built, local_time="2020-03-24T16:31:00.963-06:00").render() == E_SENDING_RECORD


def test_build_last_via_addr_line_matches_seed() -> None:
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 22, 739), "labucexpyc01", TRAFFIC_SERVER, "INFO",
        [("Detail", "Receive Request"), ("Txn-id", 6114), ("Src-ip", "127.0.0.1"), ("Src-port", 33688),
         ("Last-via-addr", "10.10.1.44"),
         ("Msg", f"POST http://vcs_control.lab.com:8443/{B64DOM}/localauthentication HTTP/1.1")],
        module="network.http.trafficserver", pid=14358, utc_offset=MDT,
    )
    assert built.render() == C_LAST_VIA


def test_build_edgeconfigprovisioning_send_with_httpmsg_matches_seed() -> None:
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 22, 741), "labucexpyc01", EDGECONFIG, "DEBUG",
        [("Action", "Send"), ("Url", "https://av-cucm.lab.com:8443/cucm-uds/clusterUser?username=<CONCEALED>")],
        module="network.http.edgeconfigprovisioning", pid=14358, utc_offset=MDT,
        block_tag="HTTPMSG", block=HttpMessage(ECP_SEND_BLOCK).render(),
    )
    assert built.pid is None  # edgeconfigprovisioning writes no [pid] even when the node has one
    assert built.render() == ECP_SEND_RECORD


def test_build_validator_send_with_list_valued_headers_matches_seed() -> None:
    message = HttpMessage("POST //127.0.0.1:9998/OAuthvalidator?reqtype=access HTTP/1.1",
                          [("Content-Type", "application/json")], '{"token": "<concealed>"}')
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 23, 917), "labucexpyc01", EDGECONFIG, "DEBUG",
        [("Action", "Send"), ("Url", "http://127.0.0.1:9998/OAuthvalidator?reqtype=access")],
        module="network.http.sso.server", utc_offset=MDT, block_tag="HTTPMSG",
        block=message.render(list_values=True) + "\n",
    )
    assert built.render() == VALIDATOR_SEND_RECORD


def test_http_message_renders_authorize_proxy_block_as_seed() -> None:
    """Concealed headers are printed bare, the others as Python lists (seed, authorize_proxy Send)."""
    message = HttpMessage(
        "POST //cucm.lab.com:8443/ssosp/token/authorize_proxy HTTP/1.1",
        [("X-Credentials", "<CONCEALED>"), ("Content-Type", "application/x-www-form-urlencoded"),
         ("Authorization", "<CONCEALED>"), ("User-Agent", "TANDBERG-Video-Communication-Server/X12.5.7")],
        f"client_id={CLIENT_ID}&response_type=code&realm=local&state=1771145038",
    )
    assert message.render(list_values=True) == "\n".join([
        "POST //cucm.lab.com:8443/ssosp/token/authorize_proxy HTTP/1.1",
        "X-Credentials: <CONCEALED>",
        "Content-Type: ['application/x-www-form-urlencoded']",
        "Authorization: <CONCEALED>",
        "User-Agent: ['TANDBERG-Video-Communication-Server/X12.5.7']",
        f"client_id={CLIENT_ID}&response_type=code&realm=local&state=1771145038",
    ])
    assert message.render().splitlines()[2] == "Content-Type: application/x-www-form-urlencoded"


def test_build_c_302_sending_response_matches_seed() -> None:
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 23, 31), "labucexpyc01", TRAFFIC_SERVER, "DEBUG",
        [("Detail", "Sending Response"), ("Txn-id", "6114"), ("Dst-ip", "127.0.0.1"), ("Dst-port", "33688")],
        module="network.http.trafficserver", pid=14358, utc_offset=MDT, block_tag="HTTPMSG",
        block=HttpMessage("HTTP/1.1 302 Found", [("Location", "/OAuthcb#code=<CONCEALED>")]).render(),
    )
    assert built.render() == C_302_RECORD


@pytest.mark.parametrize(("record", "when", "fields"), [
    (EVENT_AUTHORIZED, utc(2020, 3, 24, 22, 31, 23, 29),
     [("Event", "Edge OAuth/SSO"), ("Service", "OAuth/SSO"), ("Detail", "Successful authorization"),
      ("Dst-ip", "127.0.0.1"), ("Dst-port", "33252"), ("Local-ip", "127.0.0.1"), ("Local-port", "22111"),
      ("Server", "10.12.1.172"), ("Username", "aokanlawon")]),
    (EVENT_REDIRECTED, utc(2020, 3, 24, 22, 31, 23, 30),
     [("Event", "Edge SSO"), ("Service", "OAuth/SSO"), ("Detail", "Redirected client"), ("Dst-ip", "127.0.0.1"),
      ("Dst-port", "33252"), ("Local-ip", "127.0.0.1"), ("Local-port", "22111"),
      ("Redirect", "/OAuthcb#code=Hidden"), ("Username", "aokanlawon")]),
], ids=["authorized", "redirected"])
def test_build_edgeconfigprovisioning_event_line_matches_seed(record: str, when: dt.datetime, fields: list) -> None:
    built = ExpresswayLine.build(when, "labucexpyc01", EDGECONFIG_EVENT, "INFO", fields, pid=14358, utc_offset=MDT)
    assert built.render() == record


def test_build_credentialmanager_accepted_line_matches_seed() -> None:
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 23, 920), "labucexpyc01", CREDENTIALMANAGER, "INFO",
        {"Detail": "Access Token accepted", "User": "aokanlawon"}.items(), pid=14358, utc_offset=MDT,
    )
    assert built.render() == CM_ACCEPTED


def test_build_credentialmanager_inspector_line_matches_seed() -> None:
    """The seed's syslog stamp (…23.920) is written 2 ms after the UTCTime (…23,918); set the stamp."""
    built = ExpresswayLine.build(
        utc(2020, 3, 24, 22, 31, 23, 918), "labucexpyc01", CREDENTIALMANAGER, "INFO",
        [("CodeLocation", "OAuthinspector(331)"), ("Detail", "Token validation"), ("Type", "Access Token"),
         ("Reason", "Matched AuthZ key"), ("Issuer", "cucm.lab.com")],
        module="developer.credentialmanager.OAuthinspector", utc_offset=MDT,
    )
    assert dataclasses.replace(built, local_time="2020-03-24T16:31:23.920-06:00").render() == CM_INSPECTOR


def test_build_xcp_jabberd_line_matches_seed() -> None:
    built = ExpresswayLine.build(
        utc(2020, 3, 31, 11, 13, 3, 271), "labucexpwyc01", XCP_JABBERD, "VBOSE",
        [("ThreadID", "140493154612992"), ("CodeLocation", "deliver.c:1171"), ("Detail", XCP_DETAIL)],
        module="Jabber", pid=28071, utc_offset=MDT,
    )
    assert built.render() == XCP_LINE


def test_build_replaces_double_quotes_and_newlines_in_values() -> None:
    built = ExpresswayLine.build(utc(2020, 1, 1, 0, 0, 0, 0), "h", CREDENTIALMANAGER, "INFO",
                                 [("Detail", 'say "hi"\nthere')])
    assert 'Detail="say \'hi\' there"' in built.render()
    assert "\n" not in built.render()


def test_build_local_time_follows_offset_and_utctime_stays_utc() -> None:
    when = dt.datetime(2020, 3, 24, 16, 31, 0, 962_500, tzinfo=dt.timezone(MDT))
    built = ExpresswayLine.build(when, "h", TRAFFIC_SERVER, "INFO", [], module="m", pid=1,
                                 utc_offset=dt.timedelta(hours=5, minutes=30))
    assert built.local_time == "2020-03-25T04:01:00.962+05:30"
    assert built.get("UTCTime") == "2020-03-24 22:31:00,962"


# --- split_records / parse_log -----------------------------------------------------------------------------------

MULTI_RECORD_LOG = "\n".join([
    E_RECEIVE_INFO,
    E_SENDING_RECORD,
    ECP_SEND_RECORD,            # single-line |GET …| block
    VALIDATOR_SEND_RECORD,      # multi-line block whose closing '|' stands alone
    "",
    EVENT_AUTHORIZED,
    C_302_RECORD,               # multi-line block closed on its last line
    CM_ACCEPTED,
]) + "\n"


def test_split_records_keeps_each_block_with_its_header() -> None:
    records = list(split_records(MULTI_RECORD_LOG))
    assert records == [E_RECEIVE_INFO, E_SENDING_RECORD, ECP_SEND_RECORD, VALIDATOR_SEND_RECORD, EVENT_AUTHORIZED,
                       C_302_RECORD, CM_ACCEPTED]


def test_split_records_block_may_open_with_a_lone_pipe() -> None:
    head = ExpresswayLine.parse(EVENT_AUTHORIZED)
    record = dataclasses.replace(head, block_tag="HTTPMSG", block="\nHTTP/1.1 200 OK\n").render()
    assert record.splitlines()[2] == "|"
    assert list(split_records(record + "\n" + CM_ACCEPTED)) == [record, CM_ACCEPTED]
    assert ExpresswayLine.parse(record).block == "\nHTTP/1.1 200 OK\n"


def test_parse_log_returns_the_right_lines_and_blocks() -> None:
    lines = parse_log(MULTI_RECORD_LOG)
    assert [line.get("Detail") or line.get("Action") for line in lines] == [
        "Receive Request", "Sending response", "Send", "Send", "Successful authorization", "Sending Response",
        "Access Token accepted"]
    assert [line.block_tag for line in lines] == [None, "MSGBODY", "HTTPMSG", "HTTPMSG", None, "HTTPMSG", None]
    assert lines[2].block == ECP_SEND_BLOCK
    assert lines[3].block == ("POST //127.0.0.1:9998/OAuthvalidator?reqtype=access HTTP/1.1\n"
                              "Content-Type: ['application/json']\n"
                              '{"token": "<concealed>"}\n')
    assert lines[5].block == "HTTP/1.1 302 Found\nLocation: /OAuthcb#code=<CONCEALED>"
    assert "\n".join(line.render() for line in lines) + "\n" == MULTI_RECORD_LOG.replace("\n\n", "\n")


def test_expressway_module_exports_the_block_tags() -> None:
    assert expressway.BLOCK_TAGS == ("HTTPMSG", "MSGBODY", "SIPMSG")


# --- csf ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", CSF_LINES, ids=["token-reuse", "credentials", "needs-authz", "sasl-error"])
def test_csf_seed_line_round_trips(line: str) -> None:
    assert CsfLine.parse(line).render() == line


def test_csf_parse_reads_the_fields() -> None:
    line = CsfLine.parse(CSF_SASL_ERROR)
    assert (line.time, line.level, line.thread, line.location, line.logger, line.function) == (
        "2020-03-31 12:12:54,998", "ERROR", "0x000006c8", r"rwerx\jwcpp\xmppcore\src\client.cpp(192)", "csf.jwcpp",
        "gloox::Client::handleNormalNode")
    assert line.message.startswith("@XmppSDK: #0, The server doesn't offer")


def test_csf_parse_refuses_other_formats() -> None:
    with pytest.raises(ValueError, match="not a csf-unified line"):
        CsfLine.parse(L4J_SHA)


SSO_PATH = r"D:\jenkins\workspace\jabber\src\services\impl\system\SingleSignOn.cpp"


def test_log_point_location_is_last_40_chars_of_path_and_line() -> None:
    point = LogPoint(SSO_PATH, 206, "Single-Sign-On-Logger", "CSFUnified::SingleSignOn::Impl::isAuthenticatorTokenReuseEnabled")
    assert point.location == r"rvices\impl\system\SingleSignOn.cpp(206)"
    assert len(point.location) == csf.LOCATION_WIDTH == 40
    assert LogPoint(SSO_PATH, 2044, "l", "f").location == r"vices\impl\system\SingleSignOn.cpp(2044)"
    assert LogPoint(r"a\b.cpp", 7, "l", "f").location == r"a\b.cpp(7)"


@pytest.mark.parametrize(("line", "when", "level", "thread", "point", "message"), [
    (CSF_TOKEN_REUSE, utc(2020, 3, 24, 22, 31, 0, 442), "INFO", 0x2B04,
     LogPoint(SSO_PATH, 206, "Single-Sign-On-Logger", "CSFUnified::SingleSignOn::Impl::isAuthenticatorTokenReuseEnabled"),
     "TokenReuse enabled for 1001"),
    (CSF_CREDENTIALS, utc(2020, 3, 24, 22, 31, 0, 442), "INFO", 0x2B04,
     LogPoint(r"D:\src\services\impl\system\UserProfileManager.cpp", 153, "UserProfileManager",
              "CSFUnified::UserProfileManager::Impl::getCredentialsForAuthenticator"),
     "for authenticator: 1001"),
    (CSF_SASL_ERROR, utc(2020, 3, 31, 12, 12, 54, 998), "ERROR", 0x6C8,
     LogPoint(r"D:\src\jabberwerx\jwcpp\xmppcore\src\client.cpp", 192, "csf.jwcpp", "gloox::Client::handleNormalNode"),
     "@XmppSDK: #0, The server doesn't offer any SASL authentication mechanism that we can support"),
], ids=["token-reuse", "credentials", "sasl-error"])
def test_csf_build_matches_seed(line, when, level, thread, point, message) -> None:
    assert CsfLine.build(when, level, thread, point, message).render() == line


def test_csf_build_writes_utc_time() -> None:
    when = dt.datetime(2020, 3, 24, 16, 31, 0, 442_999, tzinfo=dt.timezone(MDT))
    built = CsfLine.build(when, "INFO", 1, LogPoint("x.cpp", 1, "l", "f"), "m")
    assert (built.time, built.thread) == ("2020-03-24 22:31:00,442", "0x00000001")


def test_csf_parse_log_skips_blank_lines() -> None:
    assert [l.level for l in csf.parse_log("\n".join([CSF_TOKEN_REUSE, "", CSF_SASL_ERROR, ""]))] == ["INFO", "ERROR"]


def test_csf_seed_line_with_empty_message_round_trips() -> None:
    assert CsfLine.parse(CSF_EMPTY_MESSAGE).render() == CSF_EMPTY_MESSAGE


# --- log4j -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line", LOG4J_LINES, ids=["issuing", "claims", "sha"])
def test_log4j_seed_line_round_trips(line: str) -> None:
    assert Log4jLine.parse(line).render() == line


@pytest.mark.parametrize(("line", "ms", "message"), [
    (L4J_ISSUING, 124, "TokenV2Manager.createTokens:  Issuing Refresh Token"),
    (L4J_CLAIMS, 124, L4J_CLAIMS_MESSAGE),
    (L4J_SHA, 132, "SHA256 sum of the refresh token : 12f30557abcfab7b33590aaf824c77518b5739ac1f5c4e73b754642a316c2317"),
], ids=["issuing", "claims", "sha"])
def test_log4j_build_matches_seed(line: str, ms: int, message: str) -> None:
    when = utc(2020, 5, 1, 17, 36, 18, ms)  # 11:36:18 at -06:00
    built = Log4jLine.build(when, "DEBUG", "http-bio-8443-exec-89", "token.TokenV2Manager", message, MDT)
    assert built.render() == line


def test_log4j_pads_short_levels_to_five_and_parses_them_back() -> None:
    built = Log4jLine.build(utc(2020, 5, 1, 17, 36, 18, 5), "INFO", "t-1", "token.X", "hello", MDT)
    text = built.render()
    assert text == "2020-05-01 11:36:18,005 INFO  [t-1] token.X - hello"
    assert Log4jLine.parse(text) == built
    assert [l.level for l in log4j.parse_log(text + "\n\n" + L4J_SHA)] == ["INFO", "DEBUG"]


def test_log4j_parse_refuses_other_formats() -> None:
    with pytest.raises(ValueError, match="not a log4j line"):
        Log4jLine.parse(CSF_TOKEN_REUSE)


def test_format_times_reuses_the_second_and_prints_what_strftime_and_isoformat_print() -> None:
    from common.logformats.expressway import format_times

    utc = dt.timezone.utc
    moments = [dt.datetime(2026, 11, 28, 1, 47, 18, us, tzinfo=utc) for us in (0, 999, 1000, 999_999)]
    moments += [dt.datetime(2026, 12, 31, 23, 59, 59, 999_500, tzinfo=utc), dt.datetime(2027, 1, 1, tzinfo=utc),
                dt.datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=dt.timezone(dt.timedelta(hours=2)))]
    for offset in (dt.timedelta(0), dt.timedelta(hours=1), dt.timedelta(hours=-5), dt.timedelta(hours=5, minutes=45)):
        for when in moments * 2:  # the second look at each moment is served from the kept second
            expected_utc = when.astimezone(utc).strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}"
            expected_local = when.astimezone(dt.timezone(offset)).isoformat(timespec="milliseconds")
            assert format_times(when, offset) == (expected_utc, expected_local)
