"""Property-based fuzzing (hypothesis) of every parser that takes outside bytes: each returns a value or raises its
own documented error — never another exception, which a node would turn into a 500, a dead task or a silent stream.

Parsers: edge segments and proxy descriptors, OAuth parameters, Basic credentials, token codecs (JWS/JWE and the
OAuthvalidator's verdict), XMPP framing, XCP packets, SASL payloads, the XML bodies of UDS, edge config and EPAS,
lab and scenario TOML, the analyzer's line readers, and concealment (which must never show a marked secret).

The examples are derandomized and few enough for the normal suite: the whole file runs in a few seconds.
"""

from __future__ import annotations

import copy
import time
import tomllib
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from analyzer.ingest import read_text
from analyzer.model import Corpus
from common.basic import parse_basic
from common.conceal import CONCEALED, conceal_body, conceal_header, conceal_params
from common.config import DEFAULT_LAB, ConfigError, parse_lab
from common.domain import SegmentError, decode_segment, encode_segment, mra_target, parse_edge_segment
from common.edgexml import EdgeConfig, SSOResult, XmlError
from common.logformats import csf, expressway, log4j
from common.oauthparams import AuthorizeRequest, ParamError, parse_query, single_values
from common.tokens import AuthzKeys, KeyRing, TokenError, access_claims, issue_access_token, read_access_token, \
    read_refresh_token, token_kid
from common.udsxml import ClusterUser, Servers
from common.xmpp import sasl
from common.xmpp.epas import EpasError, LoginRequest, LoginResponse
from common.xmpp.stream import StreamError, StreamReader, header
from common.xmpp.xcp import read_packet
from core.allowlist import RuleError, normal_path, parse_rule
from core.credentialmanager import inspect
from scenarios.scenario import CATALOG, parse_scenario

FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TEXT = st.text(max_size=200)
BYTES = st.binary(max_size=300)
XMLISH = st.lists(st.sampled_from([b"<", b">", b"/", b"&", b";", b"amp", b"#x41", b"'", b'"', b"=", b"a", b"b:c",
                                   b"message", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?", b"?>", b"\x00", b"\xff",
                                   b" ", b"xmlns='x'", b"</stream:stream>", b"<body>", b"</body>", b"&xxe;"]),
                  max_size=40).map(b"".join)


# edge segments and proxy descriptors ----------------------------------------------------------------------------

@FUZZ
@given(TEXT)
def test_edge_segments_decode_or_raise_segment_error(segment: str) -> None:
    for parse in (decode_segment, parse_edge_segment, lambda s: mra_target(s, ("lab.example",))):
        try:
            parse(segment)
        except SegmentError:
            pass


@FUZZ
@given(TEXT)
def test_any_text_encoded_as_a_segment_reads_back_or_is_refused(text: str) -> None:
    try:
        assert decode_segment(encode_segment(text)) == text
    except SegmentError:
        pass


# OAuth parameters and credentials -------------------------------------------------------------------------------

@FUZZ
@given(st.one_of(TEXT, BYTES))
def test_query_strings_and_forms_parse_or_raise_param_error(raw: str | bytes) -> None:
    try:
        pairs = parse_query(raw)
    except ParamError as exc:
        assert exc.status == 400
        return
    try:
        AuthorizeRequest.from_pairs(pairs)
        single_values(pairs, required=("username",))
    except ParamError:
        pass


@FUZZ
@given(st.one_of(st.none(), TEXT, st.builds(lambda b: "Basic " + b, TEXT)), st.booleans())
def test_basic_credentials_parse_or_are_none(value: str | None, form_encoded: bool) -> None:
    parse_basic(value, form_encoded=form_encoded)


# token codecs -----------------------------------------------------------------------------------------------------

KEYS = AuthzKeys.generate("11111111-2222-3333-4444-555555555555")
RING = KeyRing((KEYS,))
GOOD = issue_access_token(KEYS, access_claims(KEYS.cluster_uuid, "u1", "C" + "0" * 64, time.time(), 3600))


@FUZZ
@given(st.one_of(TEXT, st.builds(lambda i, c: GOOD[:i] + c + GOOD[i + 1:], st.integers(0, len(GOOD) - 1),
                                 st.sampled_from("A_-.=+/é\x00"))))
def test_tokens_are_read_or_refused_with_a_token_error(token: str) -> None:
    for read in (read_access_token, read_refresh_token):
        try:
            read(token, RING, time.time())
        except TokenError:
            pass
    try:
        token_kid(token)
    except TokenError:
        pass
    verdict = inspect(token, "access", RING, time.time())
    assert verdict.accepted == (token == GOOD) or token == GOOD


# XMPP framing, XCP packets, SASL --------------------------------------------------------------------------------

@FUZZ
@given(st.lists(st.one_of(XMLISH, BYTES), max_size=6))
def test_the_stream_reader_yields_events_or_a_stream_error(pieces: list[bytes]) -> None:
    reader = StreamReader(4096)
    reader.feed(header("lab.example", "a@lab.example", "").encode())
    try:
        for piece in pieces:
            reader.feed(piece)
    except StreamError as exc:
        assert exc.wire().endswith(b"</stream:stream>")


@FUZZ
@given(XMLISH)
def test_an_xml_parse_error_is_never_silent(garbage: bytes) -> None:
    """After garbage, a valid stanza is either delivered or the stream has already ended with an error."""
    reader = StreamReader()
    reader.feed(header("lab.example", "a@lab.example", "").encode())
    try:
        reader.feed(garbage)
        reader.feed(b"<message id='probe'/>" * 2)
        events = reader.feed(b"</stream:stream>")
    except StreamError:
        return
    assert events, "the stream neither failed nor ended: it has gone silent"


@FUZZ
@given(XMLISH)
def test_xcp_packets_read_or_raise_value_error(data: bytes) -> None:
    try:
        node = etree.fromstring(b"<r xmlns='http://www.jabber.com/protocol/xcp'>" + data + b"</r>",
                                etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return
    for child in node:
        try:
            read_packet(child)
        except ValueError:
            pass


@FUZZ
@given(BYTES)
def test_sasl_payloads_read_or_raise_sasl_failure(payload: bytes) -> None:
    for read in (sasl.read_plain, sasl.read_oauthbearer, sasl.read_vtg):
        try:
            read(payload)
        except sasl.SaslFailure:
            pass


@FUZZ
@given(TEXT)
def test_sasl_base64_decodes_or_raises_sasl_failure(text: str) -> None:
    try:
        sasl.decode_b64(text)
    except sasl.SaslFailure:
        pass


# XML bodies ----------------------------------------------------------------------------------------------------

@FUZZ
@given(st.one_of(XMLISH, BYTES))
def test_xml_bodies_parse_or_raise_their_error(body: bytes) -> None:
    for parse, error in ((ClusterUser.from_xml, XmlError), (Servers.from_xml, XmlError),
                         (EdgeConfig.from_xml, XmlError), (SSOResult.from_xml, XmlError),
                         (LoginRequest.from_xml, EpasError), (LoginResponse.from_xml, EpasError)):
        try:
            parse(body)
        except error:
            pass


# lab and scenario files ------------------------------------------------------------------------------------------

LAB = tomllib.loads(DEFAULT_LAB.read_text())
SCENARIO = tomllib.loads((CATALOG / "healthy-login.toml").read_text())
VALUE = st.one_of(st.integers(-(2**40), 2**40), TEXT, st.booleans(), st.floats(allow_nan=True),
                  st.lists(st.one_of(st.integers(), TEXT), max_size=3), st.dictionaries(TEXT, TEXT, max_size=2))


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _mutate(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


@FUZZ
@given(st.sampled_from(_paths(LAB)), VALUE)
def test_a_lab_file_with_any_value_anywhere_loads_or_names_its_error(path: tuple[Any, ...], value: Any) -> None:
    try:
        parse_lab(_mutate(LAB, path, value), "fuzz.toml")
    except ConfigError as exc:
        assert "fuzz.toml" in str(exc)


@FUZZ
@given(st.sampled_from(_paths(SCENARIO)), VALUE)
def test_a_scenario_file_with_any_value_anywhere_loads_or_names_its_error(path: tuple[Any, ...],
                                                                          value: Any) -> None:
    try:
        parse_scenario(_mutate(SCENARIO, path, value), "fuzz.toml")
    except ConfigError as exc:
        assert "fuzz.toml" in str(exc)


@FUZZ
@given(TEXT)
def test_allow_list_rules_parse_or_raise_rule_error(text: str) -> None:
    try:
        parse_rule(text)
    except RuleError:
        pass
    normal_path(text, text)


# the analyzer's line readers ------------------------------------------------------------------------------------

LINE = st.one_of(TEXT, st.sampled_from([
    '2026-11-27T18:38:36.523-06:00 expe traffic_server[16087]: UTCTime="2026-11-28 00:38:36,523" '
    'Module="network.http.trafficserver" Level="INFO": Detail="Receive Request" Txn-id="2015"',
    "2020-05-01 11:36:18,124 DEBUG [http-bio-8443-exec-89] token.TokenV2Manager - Issuing Refresh Token",
    "2026-11-28 00:38:36,523 INFO  [0x0000dead] [src/Login.cpp(42)] [csf.login] [run] - hello",
]).flatmap(lambda line: st.builds(lambda i, s: line[:i] + s + line[i:], st.integers(0, len(line)), TEXT)))


@FUZZ
@given(st.lists(LINE, max_size=5))
def test_log_readers_parse_or_raise_value_error(lines: list[str]) -> None:
    text = "\n".join(lines)
    for parse in (expressway.parse_log, csf.parse_log, log4j.parse_log):
        try:
            parse(text)
        except ValueError:
            pass
    for line in lines:
        for one in (expressway.ExpresswayLine.parse, csf.CsfLine.parse, log4j.Log4jLine.parse):
            try:
                one(line)
            except ValueError:
                pass


@FUZZ
@given(st.lists(st.one_of(LINE, st.binary(max_size=80).map(lambda b: b.decode("latin-1"))), max_size=6))
def test_the_analyzer_reads_any_bytes_without_raising(lines: list[str]) -> None:
    corpus = Corpus()
    read_text(corpus, "fuzz.log", "\n".join(lines).encode("utf-8", "surrogatepass"))


# concealment -----------------------------------------------------------------------------------------------------

SECRET = "Zq7SecretMarker9"
NAMES = st.text(alphabet=st.characters(blacklist_characters="=&;#\n\r\x00"), min_size=1, max_size=12).filter(
    lambda n: n not in {"response_type", "realm", "client_id", "device_id", "email", "state", "grant_type",
                        "service_name", "reqtype", "user_id", "expires_in", "scope", "error",
                        "error_description", "token_type", "refresh_token_expires_in"} and SECRET not in n)


@FUZZ
@given(NAMES, st.sampled_from(["", "text/plain", "application/x-www-form-urlencoded", "application/json",
                               "text/xml", "multipart/form-data; boundary=b", "application/octet-stream"]))
def test_a_secret_under_any_unlisted_name_is_concealed(name: str, content_type: str) -> None:
    assert SECRET not in conceal_params(f"/x?{name}={SECRET}")
    assert SECRET not in conceal_body(f"{name}={SECRET}&state=1", content_type)
    assert SECRET not in conceal_header(name, SECRET) or name.lower() in ("host", "user-agent")


SEGMENTS = st.lists(st.sampled_from(["get_edge_config", "cucm-uds", "user", "aokanlawon", "devices", "", "..",
                                      "access_token", "OAuthcb", "bGFiLmV4YW1wbGU"]), max_size=4)
ENCODINGS = st.sampled_from([lambda s: s, lambda s: "".join(f"%{b:02X}" for b in s.encode()),
                             lambda s: encode_segment(f"lab.example/{s}"), lambda s: encode_segment(s)])


@FUZZ
@given(SEGMENTS, SEGMENTS, ENCODINGS, st.sampled_from(["", "GET ", "POST //cucm.lab.example:8443", "https://h:8443"]))
def test_a_secret_anywhere_in_a_path_is_concealed(before: list[str], after: list[str], encode: Any,
                                                 head: str) -> None:
    """A secret-shaped segment, as it is, percent-encoded or base64-wrapped, between any segments the lab knows —
    except where UDS puts a user id (``/user/<userid>``): identifiers are shown there by design."""
    assume(not before or before[-1] != "user")
    secret = encode(SECRET)
    path = "/" + "/".join([*before, secret, *after])
    assume(not path.startswith("//"))  # that is an authority (``//host``), not a path
    shown = conceal_params(head + path + "?state=1")
    assert secret not in shown and SECRET not in shown


@FUZZ
@given(TEXT, TEXT)
def test_concealment_never_raises(body: str, content_type: str) -> None:
    conceal_body(body, content_type)
    conceal_body(body, content_type, response=True)
    conceal_params(body)
    assert conceal_header("Authorization", body) == CONCEALED
