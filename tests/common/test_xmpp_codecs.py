"""The XMPP codecs in common/xmpp and the sans-IO decisions built on them, without sockets."""

from __future__ import annotations

import pytest

from common.clock import LabClock
from common.config import load_lab
from common.xmpp import sasl
from common.xmpp.sasl import Auth, SaslFailure
from common.xmpp.stream import Stanza, StreamClosed, StreamError, StreamOpened, StreamReader
from common.xmpp.xcp import Names, Route, Xdb, buffer_detail, deliver_detail, read_packet
from core.xcprouter import ValidateToken, XcpSettings, check_token_user, decide_auth, edge_mechanisms
from common.directory import Directory
from presence.auth import ImpAuthenticator
from presence.session import ClientSession, Close, Hub, Send
from common.tokens import KeyRing
from edge.xmppsession import AskMechanisms, Authenticate, EdgeSession, ToClient
from jabber.xmppflow import choose, gloox_text, XmppCredentials

SEED = Names("labucexpwye01.lab.com", "labucexpwyc01.lab.com", "lab2-imp.lab.com")
OPEN = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        b"to='lab.example' version='1.0'>")


def test_xcp_packets_render_exactly_as_the_seed_prints_them() -> None:
    get = Xdb(SEED.connect_auth, "conauth765380-jtx_10392", "lab.com", "get", jid="ntanborgeson@lab.com")
    assert deliver_detail(8, SEED.auth.replace("lab2", "lab2"), Route(SEED.auth, SEED.sdns, get)) == (
        "DELIVER: type:8, host:auth-1.lab2-imp-lab-com, packet:<route type='redirect' to='auth-1.lab2-imp-lab-com' "
        "from='sdns_plugin-1.labucexpwyc01-lab-com'><xdb from='connect-auth-1.labucexpwyc01-lab-com' "
        "id='conauth765380-jtx_10392' ns='http://jabber.com/protocol/sasl' to='lab.com' type='get'>"
        "<jid>ntanborgeson@lab.com</jid></xdb></route>")
    sent = Xdb(SEED.cm, "jtx_10392", "lab.com", "set", auth=Auth("CISCO-VTG-TOKEN", b"secret-otp"))
    assert buffer_detail(324, sent) == (
        "Got Buffer (324) <xdb from='cm-1_jsmcp-1.labucexpwye01-lab-com' id='jtx_10392' "
        "ns='http://jabber.com/protocol/sasl' to='lab.com' type='set'><auth mechanism='CISCO-VTG-TOKEN' "
        "xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>XXXXXXX</auth></xdb>")
    assert "secret" not in repr(sent)


def test_xcp_packets_round_trip_through_the_stream_reader() -> None:
    answer = Xdb("lab.com", "c-1", SEED.connect_auth, "result", "u@lab.com", ("PLAIN", "OAUTHBEARER"),
                 ("lab1-imp.lab.com",))
    reader = StreamReader()
    events = reader.feed(OPEN + answer.text().encode() + Route("a", "b", answer).text().encode())
    assert read_packet(events[1].element) == answer  # type: ignore[union-attr]
    assert read_packet(events[2].element) == Route("a", "b", answer)  # type: ignore[union-attr]


def test_stream_reader_yields_events_across_any_segmentation() -> None:
    data = OPEN + b"<message to='a@lab.example'><body>hi</body></message></stream:stream>"
    reader = StreamReader()
    events = [e for i in range(len(data)) for e in reader.feed(data[i:i + 1])]
    assert [type(e) for e in events] == [StreamOpened, Stanza, StreamClosed]
    assert isinstance(events[0], StreamOpened) and events[0].get("to") == "lab.example"


@pytest.mark.parametrize("data, condition", [
    (b"<a></b>", "not-well-formed"),
    (b"<<", "not-well-formed"),
    (b"<!-- x -->", "restricted-xml"),
    (b"<?pi x?>", "restricted-xml"),
    (b"<iq>" + b"y" * 9000 + b"</iq>", "policy-violation"),
])
def test_stream_reader_errors_know_their_wire_form(data: bytes, condition: str) -> None:
    reader = StreamReader(max_stanza=8192)
    reader.feed(OPEN)
    with pytest.raises(StreamError) as caught:
        reader.feed(data)
    assert caught.value.condition == condition
    assert caught.value.wire().startswith(f"<stream:error><{condition} xmlns=".encode())
    assert caught.value.wire().endswith(b"</stream:stream>")


def test_a_first_element_that_is_not_a_stream_is_invalid_namespace() -> None:
    with pytest.raises(StreamError) as caught:
        StreamReader().feed(b"<stream xmlns='jabber:client'>")
    assert caught.value.condition == "invalid-namespace"


def test_sasl_messages_encode_and_decode() -> None:
    assert sasl.read_plain(sasl.plain_response("u", "p", "z")) == ("z", "u", "p")
    assert sasl.read_oauthbearer(sasl.oauthbearer_response("a,b=c@x", "T0k")) == ("a,b=c@x", "T0k")
    assert sasl.read_vtg(sasl.vtg_response("u", "lab.example", "otp")) == ("u@lab.example", "otp")
    assert sasl.decode_b64("=") == b""
    for bad, condition in ((b"\0\0", "malformed-request"),):
        with pytest.raises(SaslFailure) as caught:
            sasl.read_plain(bad)
        assert caught.value.condition == condition
    with pytest.raises(SaslFailure, match="incorrect-encoding"):
        sasl.decode_b64("a$b=")
    assert SaslFailure("not-authorized").wire() == \
        b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>"


def test_c_offers_what_its_running_settings_allow_and_never_plain() -> None:
    offers = ("PLAIN", "CISCO-VTG-TOKEN", "OAUTHBEARER")
    assert edge_mechanisms(offers, XcpSettings(oauth_local=False, legacy_cred=True)) == ("CISCO-VTG-TOKEN",)
    assert edge_mechanisms(offers, XcpSettings(True, True)) == ("CISCO-VTG-TOKEN", "OAUTHBEARER")
    assert edge_mechanisms(offers, XcpSettings(False, False)) == ()
    token = Auth("OAUTHBEARER", sasl.oauthbearer_response("u@lab.example", "t"))
    assert decide_auth(token, ("OAUTHBEARER",), "") == ValidateToken("u@lab.example", "t")
    with pytest.raises(SaslFailure, match="disabled on this Expressway"):
        decide_auth(token, ("CISCO-VTG-TOKEN",), "")
    with pytest.raises(SaslFailure, match="token of u presented for v@lab.example"):
        check_token_user("v@lab.example", "u", "lab.example")


def test_jabber_picks_oauthbearer_or_nothing_when_it_holds_a_token() -> None:
    oauth = XmppCredentials("u", "lab.example", access_token="t")
    assert choose(("CISCO-VTG-TOKEN",), oauth) == ""
    assert choose(("CISCO-VTG-TOKEN", "OAUTHBEARER"), oauth) == "OAUTHBEARER"
    assert choose(("PLAIN", "CISCO-VTG-TOKEN"), XmppCredentials("u", "lab.example", otp="o", password="p")) \
        == "CISCO-VTG-TOKEN"


def test_gloox_logs_the_seed_features_line_byte_for_byte() -> None:
    events = StreamReader().feed(OPEN + b"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
                                        b"<mechanism>CISCO-VTG-TOKEN</mechanism></mechanisms></stream:features>")
    text = gloox_text(events[1].element)  # type: ignore[union-attr]
    assert (len(text), text) == (187, '<stream:features xmlns:stream="http://etherx.jabber.org/streams"><mechanisms '
                                      'xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>CISCO-VTG-TOKEN</mechanism>'
                                      '</mechanisms></stream:features>')


def test_edge_session_asks_c_then_relays_after_success() -> None:
    session = EdgeSession(("lab.example",), "cm-1_jsmcp-1.expe-lab-example")
    (ask,) = session.receive(OPEN.replace(b"to=", b"from='u@lab.example' to="))
    assert isinstance(ask, AskMechanisms) and ask.query.jid == "u@lab.example" and ask.query.type == "get"
    sent = session.mechanisms(("OAUTHBEARER",))
    assert isinstance(sent[0], ToClient) and b"<mechanism>OAUTHBEARER</mechanism>" in sent[0].data
    (auth,) = session.receive(Auth("OAUTHBEARER", b"x").wire())
    assert isinstance(auth, Authenticate) and auth.packet.type == "set"
    session.auth_result(Xdb("lab.example", ask.query.id, ask.query.from_, "result", success=True))
    assert session.state == "relay"


def test_imp_session_refuses_a_second_binding_of_a_full_jid() -> None:
    lab = load_lab()
    auth = ImpAuthenticator("lab.example", Directory(lab, lab.clusters[0]), KeyRing(), LabClock())
    hub: Hub[object] = Hub()
    replies = []
    for endpoint in ("first", "second"):
        session = ClientSession("lab.example", auth, hub, endpoint)
        session.receive(OPEN)
        session.receive(Auth("PLAIN", sasl.plain_response("aokanlawon", "Cisco!123")).wire())
        session.receive(OPEN)
        actions = session.receive(b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                                  b"<resource>r</resource></bind></iq>")
        replies.append(b"".join(a.data for a in actions if isinstance(a, Send)))
        assert not any(isinstance(a, Close) for a in actions)
    assert b"<jid>aokanlawon@lab.example/r</jid>" in replies[0]
    assert b"<error code='409' type='cancel'><conflict" in replies[1]
    assert list(hub.bound) == ["aokanlawon@lab.example/r"]
