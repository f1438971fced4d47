"""The small common pieces: lab clock, resolver, XML bodies, UDS bodies, OAuth parameters, Basic auth, log sinks."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from common.basic import basic_header, parse_basic
from common.clock import LabClock, parse_step
from common.config import Listener, SrvRecord, load_lab
from common.edgexml import EdgeConfig, Server, Service, SSOResult, XmlError
from common.logformats.csf import CsfLine, LogPoint
from common.logformats.expressway import CREDENTIALMANAGER, TRAFFIC_SERVER, ExpresswayLine
from common.logformats.log4j import Log4jLine
from common.nodelog import CsfLog, ExpresswayLog, LineSink, Log4jLog
from common.oauthparams import AuthorizeRequest, ParamError, parse_form, single_values
from common.resolver import LabResolver, NameError_
from common.udsxml import XML_HEAD, ClusterUser, Servers

CLIENT_ID = "C1b4b988f3efa1c3fc97d0d0a36f6b97f244b4fafe55e8d9d78774e305bae9ab1"

# --- clock ---------------------------------------------------------------------------------------------------------


def test_lab_clock_starts_at_wall_time_and_advances() -> None:
    clock = LabClock()
    assert clock.offset == 0
    assert abs(clock.timestamp() - time.time()) < 1
    clock.advance(parse_step("+61m"))
    clock.advance(30)
    assert clock.offset == 3690
    assert abs(clock.timestamp() - (time.time() + 3690)) < 1
    now = clock.now()
    assert now.tzinfo == dt.timezone.utc
    assert abs(now.timestamp() - clock.timestamp()) < 1


def test_lab_clock_goes_back_but_never_before_real_time() -> None:
    clock = LabClock(10)
    clock.advance(-4)
    assert clock.offset == 6
    with pytest.raises(ValueError, match="real time"):
        clock.advance(-7)
    assert clock.offset == 6


@pytest.mark.parametrize(("step", "seconds"), [
    ("+61m", 3660), ("61m", 3660), ("+10s", 10), ("2h", 7200), ("+60d", 5_184_000), (" +1d ", 86400), ("0s", 0),
    ("-5m", -300), ("-0s", 0),
])
def test_parse_step(step: str, seconds: int) -> None:
    assert parse_step(step) == seconds


@pytest.mark.parametrize("step", ["", "61", "+m", "+-5m", "1.5h", "5w", "+ 5m", "5 m", "m5", "++5m", "5M"])
def test_parse_step_refuses_bad_steps(step: str) -> None:
    with pytest.raises(ValueError, match="clock step"):
        parse_step(step)


# --- resolver ------------------------------------------------------------------------------------------------------

CUCM = Listener("cucm.lab.example", 8443, "http", "127.0.0.1", 18445)


def test_resolver_locates_bound_listener_case_insensitively() -> None:
    resolver = LabResolver()
    resolver.bind(CUCM)
    assert resolver.locate("cucm.lab.example", 8443) == ("127.0.0.1", 18445)
    assert resolver.locate("CUCM.Lab.Example", 8443) == ("127.0.0.1", 18445)


def test_resolver_nxdomain_raises() -> None:
    resolver = LabResolver()
    resolver.bind(CUCM)
    with pytest.raises(NameError_, match="not in the lab's DNS"):
        resolver.locate("imp.lab.example", 8443)
    with pytest.raises(NameError_):
        resolver.locate("cucm.lab.example", 443)  # known host, other port
    assert issubclass(NameError_, LookupError)


def test_resolver_port_zero_is_not_listening_until_rebound() -> None:
    resolver = LabResolver()
    resolver.bind(Listener("expe.lab.example", 8443, "http", "127.0.0.1", 0))
    with pytest.raises(NameError_, match="not listening yet"):
        resolver.locate("expe.lab.example", 8443)
    resolver.bind(Listener("expe.lab.example", 8443, "http", "127.0.0.1", 0), listen_port=40123)
    assert resolver.locate("expe.lab.example", 8443) == ("127.0.0.1", 40123)


def test_resolver_srv_sorted_by_priority_then_weight() -> None:
    name = "_collab-edge._tls.lab.example"
    records = [
        SrvRecord(name, "c.lab.example", 8443, 20, 50),
        SrvRecord(name, "a.lab.example", 8443, 10, 5),
        SrvRecord(name, "b.lab.example", 8443, 10, 60),
        SrvRecord("_cisco-uds._tcp.lab.example", "cucm.lab.example", 8443, 1, 1),
    ]
    resolver = LabResolver(records)
    assert [r.target for r in resolver.srv(name)] == ["b.lab.example", "a.lab.example", "c.lab.example"]
    assert [r.target for r in resolver.srv("_COLLAB-EDGE._tls.lab.example.")] == [
        "b.lab.example", "a.lab.example", "c.lab.example"]


def test_resolver_srv_nxdomain_raises() -> None:
    resolver = LabResolver([SrvRecord("_collab-edge._tls.lab.example", "expe.lab.example", 8443, 1, 10)])
    with pytest.raises(NameError_, match="no SRV record"):
        resolver.srv("_collab-edge._tls.other.example")
    with pytest.raises(NameError_):
        LabResolver().srv("_collab-edge._tls.lab.example")


def test_resolver_from_lab_knows_every_listener_and_srv() -> None:
    lab = load_lab()
    resolver = LabResolver.from_lab(lab)
    for listener in lab.listeners().values():
        if listener.listen_port:
            assert resolver.locate(listener.host, listener.port) == (listener.address, listener.listen_port)
    assert resolver.srv(f"_collab-edge._tls.{lab.domain}")[0].target == lab.srv[0].target


# --- edge XML ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sso", [True, False])
@pytest.mark.parametrize("reuse", [True, False])
def test_sso_result_round_trips(sso: bool, reuse: bool) -> None:
    result = SSOResult(sso_enabled=sso, token_reuse=reuse)
    assert SSOResult.from_xml(result.to_xml()) == result
    assert SSOResult.from_xml(result.to_xml().decode()) == result


def test_sso_result_xml_has_the_seed_shape() -> None:
    xml = SSOResult(sso_enabled=False, token_reuse=True).to_xml()
    assert xml.decode() == (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<SSOResult version="1.0"><Response><SingleSignOn><Status enabled="false"/><Token reuse="true"/>'
        "</SingleSignOn></Response></SSOResult>")


def test_sso_result_without_token_element_means_no_reuse() -> None:
    body = '<SSOResult version="1.0"><Response><SingleSignOn><Status enabled="true"/></SingleSignOn></Response></SSOResult>'
    assert SSOResult.from_xml(body) == SSOResult(True, False)


def _edge_config() -> EdgeConfig:
    return EdgeConfig(
        services=(
            Service("_cisco-uds", (Server("cucm.lab.example", 8443, 1, 10), Server("cucm2.lab.example", 8443, 2, 5))),
            Service("_cuplogin", (Server("imp.lab.example", 8443),)),
            Service("_cisco-phone-tftp", error="NameError"),
            Service("tftpServer"),
        ),
        sip_edge=(Server("expe.lab.example", 5061),),
        sip_route="<sip:7200@expc.lab.example;lr>",
        xmpp_edge=(Server("expe.lab.example", 5222),),
        http_edge=(Server("expe.lab.example", 8443),),
        user_uds=(Server("cucm.lab.example", 8443),),
        turn_edge=(Server("turn.lab.example", 3478),),
    )


def test_edge_config_round_trips() -> None:
    config = _edge_config()
    assert EdgeConfig.from_xml(config.to_xml()) == config
    assert config.service("_cisco-phone-tftp").error == "NameError"
    assert config.service("nope") is None


def test_edge_config_empty_user_uds_round_trips() -> None:
    """The user without a home cluster: an empty userUdsServer (mra-facts section 4)."""
    config = EdgeConfig((), (), "", (), (), ())
    xml = config.to_xml()
    assert b"<userUdsServer/>" in xml
    assert EdgeConfig.from_xml(xml).user_uds == ()


@pytest.mark.parametrize("body", ["", "not xml", "<SSOResult>", "<SSOResult></SSOResul>", b"\x00\x01"])
def test_broken_xml_raises_xml_error(body) -> None:
    with pytest.raises(XmlError, match="not XML"):
        SSOResult.from_xml(body)
    with pytest.raises(XmlError):
        EdgeConfig.from_xml(body)


def test_wrong_root_raises_xml_error() -> None:
    with pytest.raises(XmlError, match="expected <SSOResult>, got <getEdgeConfigResponse>"):
        SSOResult.from_xml(_edge_config().to_xml())
    with pytest.raises(XmlError, match="expected <getEdgeConfigResponse>"):
        EdgeConfig.from_xml(SSOResult(False, True).to_xml())
    with pytest.raises(XmlError, match="expected <clusterUser>"):
        ClusterUser.from_xml(SSOResult(False, True).to_xml())


def test_sso_result_without_status_raises() -> None:
    with pytest.raises(XmlError, match="Status"):
        SSOResult.from_xml('<SSOResult version="1.0"/>')


XML_BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lolbomb">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<clusterUser version="1" uri="u"><result found="true" uri="x" version="1"/>
<homeCluster serversUri="s">&lol4;</homeCluster></clusterUser>"""


def test_xml_bomb_does_not_expand() -> None:
    user = ClusterUser.from_xml(XML_BOMB)
    assert "lolbomb" not in user.home_cluster
    assert len(user.home_cluster) < 100


def test_external_entity_is_not_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-ENTITY-TEXT")
    body = (f'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY xxe SYSTEM "file://{secret}">]>'
            '<clusterUser version="1" uri="u"><result found="true" uri="x"/>'
            '<homeCluster serversUri="s">&xxe;</homeCluster></clusterUser>')
    user = ClusterUser.from_xml(body)
    assert "TOPSECRET" not in user.home_cluster
    sso = (f'<?xml version="1.0"?><!DOCTYPE SSOResult [<!ENTITY xxe SYSTEM "file://{secret}">]>'
           '<SSOResult><Response><SingleSignOn><Status enabled="&xxe;"/></SingleSignOn></Response></SSOResult>')
    try:
        result = SSOResult.from_xml(sso)
    except XmlError:
        return  # refusing the body is as good as not expanding it
    assert result.sso_enabled is False


# --- UDS XML -------------------------------------------------------------------------------------------------------

def test_cluster_user_found_round_trips_with_seed_head() -> None:
    user = ClusterUser(
        version="11.5.1", uri="https://cucm.lab.com:8443/cucm-uds/clusterUser?username=aokanlawon", found=True,
        user_uri="https://cucm.lab.com:8443/cucm-uds/user/aokanlawon", home_cluster="cucm.lab.com",
        servers_uri="https://cucm.lab.com:8443/cucm-uds/servers",
    )
    xml = user.to_xml()
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><clusterUser version="11.5.1" '
                          b'uri="https://cucm.lab.com:8443/cucm-uds/clusterUser?username=')
    assert ClusterUser.from_xml(xml) == user
    assert ClusterUser.from_xml(xml.decode()) == user


def test_cluster_user_not_found_round_trips() -> None:
    user = ClusterUser(version="14.0.1", uri="https://cucm.lab.example:8443/cucm-uds/clusterUser?username=ghost",
                       found=False)
    xml = user.to_xml()
    assert b'<result found="false"/>' in xml and b"homeCluster" not in xml
    assert ClusterUser.from_xml(xml) == user


def test_servers_round_trip() -> None:
    servers = Servers("14.0.1", "https://cucm.lab.example:8443/cucm-uds/servers", ("cucm.lab.example", "sub.lab.example"))
    xml = servers.to_xml()
    assert xml.startswith(XML_HEAD + b"<servers ")
    assert Servers.from_xml(xml) == servers


# --- OAuth parameters ----------------------------------------------------------------------------------------------

SEED_AUTHORIZE = [("response_type", "code"), ("realm", "local"), ("client_id", CLIENT_ID),
                  ("device_id", "2c23dad7-ab7e-4686-a461-b23cffbaa15e"), ("email", "aokanlawon@lab.com"),
                  ("state", "1771145038")]


def test_single_values_returns_a_dict() -> None:
    assert single_values([("a", "1"), ("b", "")], required=("a",)) == {"a": "1", "b": ""}


def test_single_values_refuses_a_repeated_parameter() -> None:
    with pytest.raises(ParamError) as info:
        single_values([("state", "1"), ("code", "x"), ("state", "2")])
    assert info.value.status == 400
    assert info.value.error == "invalid_request"
    assert "'state'" in info.value.description and "repeated" in info.value.description
    assert str(info.value).startswith("invalid_request: ")


@pytest.mark.parametrize("pairs", [[("client_id", CLIENT_ID)], [("client_id", CLIENT_ID), ("grant_type", "")]],
                         ids=["absent", "empty"])
def test_single_values_refuses_a_missing_parameter(pairs) -> None:
    with pytest.raises(ParamError) as info:
        single_values(pairs, required=("client_id", "grant_type"))
    assert info.value.status == 400 and info.value.error == "invalid_request"
    assert "'grant_type'" in info.value.description and "missing" in info.value.description


def test_parse_form_keeps_blanks_and_accepts_bytes() -> None:
    body = f"code=abc&client_id={CLIENT_ID}&grant_type=authorization_code&empty="
    expected = [("code", "abc"), ("client_id", CLIENT_ID), ("grant_type", "authorization_code"), ("empty", "")]
    assert parse_form(body) == expected
    assert parse_form(body.encode()) == expected



@pytest.mark.parametrize("body", [b"a=%FF", b"a=\xff", b"a=%00", b"a=x%01y", b"%00=1", b"a=%ED%A0%80", b"a=%EF%BF%BE"])
def test_parse_form_refuses_what_is_not_utf8_or_not_xml_text(body: bytes) -> None:
    with pytest.raises(ParamError) as caught:
        parse_form(body)
    assert caught.value.status == 400 and caught.value.error == "invalid_request"


def test_authorize_request_from_seed_parameters_round_trips() -> None:
    request = AuthorizeRequest.from_pairs(SEED_AUTHORIZE)
    assert (request.response_type, request.client_id, request.realm, request.state, request.device_id,
            request.email) == ("code", CLIENT_ID, "local", "1771145038", "2c23dad7-ab7e-4686-a461-b23cffbaa15e",
                               "aokanlawon@lab.com")
    assert request.pairs() == SEED_AUTHORIZE
    assert AuthorizeRequest.from_pairs(request.pairs()) == request


def test_authorize_request_defaults() -> None:
    request = AuthorizeRequest.from_pairs([("response_type", "code"), ("client_id", CLIENT_ID)])
    assert (request.realm, request.state, request.device_id, request.email) == ("local", "", "", "")


def test_authorize_request_refuses_implicit_grant() -> None:
    pairs = [(k, "token" if k == "response_type" else v) for k, v in SEED_AUTHORIZE]
    with pytest.raises(ParamError) as info:
        AuthorizeRequest.from_pairs(pairs)
    assert info.value.error == "unsupported_response_type" and info.value.status == 400
    assert "'token'" in info.value.description


@pytest.mark.parametrize("client_id", ["C123", CLIENT_ID.upper(), CLIENT_ID[1:], CLIENT_ID + "0", "D" + CLIENT_ID[1:]])
def test_authorize_request_refuses_a_bad_client_id(client_id: str) -> None:
    pairs = [(k, client_id if k == "client_id" else v) for k, v in SEED_AUTHORIZE]
    with pytest.raises(ParamError) as info:
        AuthorizeRequest.from_pairs(pairs)
    assert info.value.error == "invalid_request" and "client_id" in info.value.description


def test_authorize_request_refuses_repeated_and_missing_parameters() -> None:
    with pytest.raises(ParamError, match="'state' is repeated"):
        AuthorizeRequest.from_pairs([*SEED_AUTHORIZE, ("state", "2")])
    with pytest.raises(ParamError, match="'client_id' is missing"):
        AuthorizeRequest.from_pairs([p for p in SEED_AUTHORIZE if p[0] != "client_id"])


# --- Basic ---------------------------------------------------------------------------------------------------------

def test_basic_header_round_trips() -> None:
    header = basic_header("axladmin", "Axl!Pass123")
    assert header == "Basic YXhsYWRtaW46QXhsIVBhc3MxMjM="
    assert parse_basic(header) == ("axladmin", "Axl!Pass123")
    assert parse_basic(basic_header("u", "pass:with:colons")) == ("u", "pass:with:colons")
    assert parse_basic(basic_header("u", "")) == ("u", "")
    assert parse_basic("basic " + header.split()[1]) == ("axladmin", "Axl!Pass123")


@pytest.mark.parametrize("header", [
    "", "Basic", "Basic ", "Bearer eyJhbGciOiJSUzI1NiJ9", "Basic !!!", "Basic YWJj",  # 'abc': no colon
    "Basic OnB3", "Basic //79", "Digest username=x",
], ids=["empty", "scheme-only", "scheme-space", "bearer", "bangs", "no-colon", "empty-user", "non-utf8", "digest"])
def test_parse_basic_malformed_returns_none(header: str) -> None:
    assert parse_basic(header) is None


# --- log sinks -----------------------------------------------------------------------------------------------------

def test_line_sink_writes_to_a_file_and_keeps_records(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "expe" / "network_log"
    sink = LineSink(path)
    sink.msg("one")
    sink.info("two\nHTTPMSG:\n|GET / HTTP/1.1|")
    assert list(sink.records) == ["one", "two\nHTTPMSG:\n|GET / HTTP/1.1|"]
    assert path.read_text() == "one\ntwo\nHTTPMSG:\n|GET / HTTP/1.1|\n"  # flushed on every record
    assert sink.text() == path.read_text()
    sink.close()
    sink.msg("three")  # after close: kept in memory, not written
    assert path.read_text().count("\n") == 4 and sink.records[-1] == "three"


def test_line_sink_appends_and_can_reopen(tmp_path: Path) -> None:
    first, second = tmp_path / "a.log", tmp_path / "b.log"
    first.write_text("old\n")
    sink = LineSink(first)
    sink.msg("new")
    sink.open(second)
    sink.msg("elsewhere")
    sink.close()
    assert first.read_text() == "old\nnew\n" and second.read_text() == "elsewhere\n"
    assert sink.path == second


def test_line_sink_in_memory_keeps_the_most_recent() -> None:
    sink = LineSink(keep=2)
    assert sink.text() == ""
    for record in ("a", "b", "c"):
        sink.msg(record)
    assert list(sink.records) == ["b", "c"] and sink.text() == "b\nc\n"


class FixedClock(LabClock):
    """A lab clock stopped at one instant, so a rendered line can be compared byte for byte."""

    def __init__(self, when: dt.datetime) -> None:
        super().__init__()
        self.when = when

    def now(self) -> dt.datetime:
        return self.when


def test_expressway_log_renders_through_the_format_and_honours_debug(tmp_path: Path) -> None:
    clock = FixedClock(dt.datetime(2020, 3, 24, 22, 31, 23, 920_000, tzinfo=dt.timezone.utc))
    sink = LineSink(tmp_path / "network_log")
    log = ExpresswayLog("labucexpyc01", clock, sink, dt.timedelta(hours=-6), pid=14358, debug=False)
    log.write(CREDENTIALMANAGER, "INFO", {"Detail": "Access Token accepted", "User": "aokanlawon"})
    log.write(TRAFFIC_SERVER, "DEBUG", {"Detail": "Receive Request"}, module="network.http.trafficserver",
              block_tag="HTTPMSG", block="GET / HTTP/1.1")
    log.write(TRAFFIC_SERVER, "INFO", [("Detail", "Receive Request"), ("Txn-id", 6114)],
              module="network.http.trafficserver")
    assert len(sink.records) == 2  # the DEBUG line was dropped
    assert sink.records[0] == (  # the seed's credentialmanager line
        '2020-03-24T16:31:23.920-06:00 labucexpyc01 credentialmanager: Level="INFO" Detail="Access Token accepted" '
        'User="aokanlawon" UTCTime="2020-03-24 22:31:23,920"')
    line = ExpresswayLine.parse(sink.records[1])
    assert (line.process, line.pid, line.get("Txn-id"), line.level_colon) == ("traffic_server", 14358, "6114", True)
    assert line.utc_time == clock.when
    assert (tmp_path / "network_log").read_text() == sink.text()


def test_expressway_log_with_debug_writes_blocks() -> None:
    sink = LineSink()
    log = ExpresswayLog("expe", LabClock(), sink, dt.timedelta(0), pid=1)
    log.write(TRAFFIC_SERVER, "DEBUG", {"Detail": "Receive Request"}, module="network.http.trafficserver",
              block_tag="HTTPMSG", block="GET / HTTP/1.1")
    line = ExpresswayLine.parse(sink.records[0])
    assert (line.get("Level"), line.block_tag, line.block) == ("DEBUG", "HTTPMSG", "GET / HTTP/1.1")


def test_csf_and_log4j_logs_render_their_formats() -> None:
    clock = LabClock()
    csf_sink, l4j_sink = LineSink(), LineSink()
    CsfLog(clock, csf_sink).write("INFO", LogPoint("x\\SingleSignOn.cpp", 206, "Single-Sign-On-Logger", "f"), "hi")
    Log4jLog(clock, l4j_sink, dt.timedelta(hours=-6)).write("DEBUG", "http-bio-8443-exec-89", "token.TokenV2Manager",
                                                            "Issuing Refresh Token")
    Log4jLog(clock, l4j_sink, dt.timedelta(0), debug=False).write("DEBUG", "t", "c", "dropped")
    csf_line = CsfLine.parse(csf_sink.records[0])
    assert (csf_line.thread, csf_line.location, csf_line.message) == ("0x00002b04", "x\\SingleSignOn.cpp(206)", "hi")
    assert len(l4j_sink.records) == 1
    assert Log4jLine.parse(l4j_sink.records[0]).message == "Issuing Refresh Token"


def test_tracking_ids_are_distinct_random_version_4_uuids() -> None:
    """TrackingIDs are drawn from os.urandom in batches (issue 18, fourth round): each is still a version-4 UUID in
    its canonical text, and batches never repeat an id."""
    import uuid

    from common.txn import new_tracking_id

    ids = [new_tracking_id() for _ in range(1000)]  # several batches of 256
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_a_forked_process_draws_tracking_ids_of_its_own() -> None:
    """Nodes are forked from one preloaded process: a child must not hand out the parent's pooled ids."""
    import os

    from common.txn import new_tracking_id

    new_tracking_id()  # the parent holds a drawn batch
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out without running pytest's exit handlers
        os.write(write, new_tracking_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child and child != new_tracking_id()
