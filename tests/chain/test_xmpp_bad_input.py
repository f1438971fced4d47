"""XMPP bad input, through Expressway-E and at IM&P's own client port: each gets its SASL failure or stream error, is
logged, and the servers keep serving — every test ends with a healthy sign-in."""

from __future__ import annotations

import asyncio
import base64
import dataclasses

import pytest

from common.config import Lab
from common.logformats.expressway import parse_log
from common.logformats.log4j import parse_log as parse_log4j
from common.streamserve import LinkReader
from common.xmpp import sasl, stanzas
from common.xmpp.stream import Stanza, StreamClosed, StreamOpened, header
from common.xmpp.xml import render
from jabber.flow import Outcome
from lab.running import RunningLab, start_lab
from lab.xmpprun import run_sign_in

USER, OTHER = "aokanlawon@lab.example", "ntanborgeson@lab.example"


class Raw:
    """A bare XMPP client on a socket: what it sends is exactly what the test wrote."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer, self.link = writer, LinkReader(reader)

    @classmethod
    async def edge(cls, running: RunningLab, from_: str = USER, to: str = "lab.example") -> Raw:
        """At Expressway-E's 5222: STARTTLS first (with the lab CA, as Jabber does), then the test's own stream."""
        tls = running.resolver.tls
        if tls is None:
            return await cls.open(running.edge.xmpp.port, from_, to)
        raw = cls(*await asyncio.open_connection("127.0.0.1", running.edge.xmpp.port))
        raw.send(header("lab.example", from_, "").encode())
        assert isinstance(await raw.link.next(), StreamOpened)
        assert (await raw.stanza()).local == "features"
        raw.send(stanzas.STARTTLS)
        assert (await raw.stanza()).local == "proceed"
        await raw.writer.start_tls(tls.client_context("jabber"), server_hostname="lab.example")  # type: ignore[arg-type]
        raw.link.stream.reset()
        raw.send(header(to, from_, "").encode())
        return raw

    @classmethod
    async def open(cls, port: int, from_: str = USER, to: str = "lab.example") -> Raw:
        raw = cls(*await asyncio.open_connection("127.0.0.1", port))
        raw.send(header(to, from_, "").encode())
        return raw

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def stanza(self) -> Stanza:
        return await self.link.stanza()

    async def features(self) -> tuple[str, ...]:
        assert isinstance(await self.link.next(), StreamOpened)
        return sasl.read_mechanisms((await self.stanza()).element)

    async def auth(self, mechanism: str, payload: bytes | str) -> Stanza:
        text = payload if isinstance(payload, str) else base64.b64encode(payload).decode()
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mechanism}'>{text}</auth>".encode())
        return await self.stanza()

    async def bind(self, resource: str) -> Stanza:
        self.send(header("lab.example", USER, "").encode())
        self.link.stream.reset()
        await self.link.next()
        await self.stanza()
        self.send(stanzas.bind_request("b1", resource))
        return await self.stanza()

    async def closed(self) -> bool:
        """The server ended the stream: ``</stream:stream>`` then EOF."""
        try:
            return isinstance(await self.link.next(), StreamClosed)
        except ConnectionError:
            return True


def condition(stanza: Stanza) -> str:
    return next(iter(stanza.element)).tag.split("}")[1]


async def healthy(running: RunningLab) -> Outcome:
    outcome, xmpp, _, connection = await run_sign_in(running)
    assert outcome.ok and xmpp is not None and xmpp.ok, outcome.reason
    return outcome


def e_details(running: RunningLab) -> list[str]:
    return [line.get("Detail") or "" for line in parse_log(running.log_text("expressway-e"))
            if line.process == "XCP_JABBERD"]


def imp_messages(running: RunningLab) -> list[str]:
    return [line.message for line in parse_log4j(running.log_text("imp:imp"))]


@pytest.mark.parametrize("garbage, expected", [
    (b"<message><body>unclosed</message>", "not-well-formed"),
    (b"<<<>", "not-well-formed"),
    (b"<!-- a comment -->", "restricted-xml"),
    (b"<presence>" + b"x" * 70_000 + b"</presence>", "policy-violation"),
    (b"<message to='ntanborgeson@lab.example'><body>before auth</body></message>", "not-authorized"),
])
async def test_edge_ends_a_broken_stream_with_its_stream_error(running: RunningLab, garbage: bytes,
                                                               expected: str) -> None:
    raw = await Raw.edge(running)
    await raw.features()
    raw.send(garbage)
    error = await raw.stanza()
    assert error.local == "error" and condition(error) == expected
    assert await raw.closed()
    assert any(f"Stream error {expected}" in d for d in e_details(running))
    await healthy(running)


async def test_a_stream_for_another_domain_is_host_unknown(running: RunningLab) -> None:
    raw = await Raw.edge(running, to="elsewhere.example")
    assert isinstance(await raw.link.next(), StreamOpened), "our header comes first (RFC 6120 4.9.1.1)"
    assert condition(await raw.stanza()) == "host-unknown"
    await healthy(running)


async def test_an_unclosed_stream_is_logged_and_forgotten(running: RunningLab) -> None:
    raw = await Raw.edge(running)
    await raw.features()
    raw.send(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTH")
    await raw.writer.drain()
    raw.writer.close()
    await raw.writer.wait_closed()
    await healthy(running)
    assert any("went away without </stream:stream>" in d for d in e_details(running))


@pytest.mark.parametrize("mechanism, payload, expected", [
    ("X-UNKNOWN", b"abc", "invalid-mechanism"),
    ("PLAIN", sasl.plain_response("aokanlawon", "Cisco!123"), "invalid-mechanism"),
    ("OAUTHBEARER", "***not base64***", "incorrect-encoding"),
    ("OAUTHBEARER", b"n,,\x01auth=Basic xyz\x01\x01", "malformed-request"),
    ("OAUTHBEARER", sasl.oauthbearer_response(USER, "eyJ.not.a-token"), "not-authorized"),
])
async def test_edge_refuses_bad_auth_and_lets_the_client_try_again(running: RunningLab, mechanism: str,
                                                                   payload: bytes | str, expected: str) -> None:
    raw = await Raw.edge(running)
    assert await raw.features() == ("CISCO-VTG-TOKEN", "OAUTHBEARER")
    failure = await raw.auth(mechanism, payload)
    assert failure.local == "failure" and condition(failure) == expected
    assert any(f"failed for {USER}: {expected}" in d for d in e_details(running))
    outcome = await healthy(running)
    answer = await raw.auth("OAUTHBEARER", sasl.oauthbearer_response(USER, outcome.access_token))
    assert answer.local == "success", "the same stream may retry (RFC 6120 6.4.5)"


async def test_a_token_for_another_user_than_the_authzid_is_refused_at_c(running: RunningLab) -> None:
    outcome = await healthy(running)
    mark = len(running.sinks["expressway-c"].records)
    raw = await Raw.edge(running, from_=OTHER)
    await raw.features()
    failure = await raw.auth("OAUTHBEARER", sasl.oauthbearer_response(OTHER, outcome.access_token))
    assert condition(failure) == "not-authorized"
    c_details = [line.get("Detail") or "" for line in
                 parse_log("\n".join(list(running.sinks["expressway-c"].records)[mark:]))]
    assert any("token of aokanlawon presented for ntanborgeson@lab.example" in d for d in c_details)
    assert not any("type='set'" in d and "DELIVER: type:8" in d for d in c_details), "never reached IM&P"


async def test_imp_refuses_a_token_for_another_user_at_its_own_port(running: RunningLab) -> None:
    outcome = await healthy(running)
    imp = running.nodes["imp:imp"]
    raw = await Raw.open(imp.xmpp.port, from_=OTHER)
    assert await raw.features() == ("PLAIN", "CISCO-VTG-TOKEN", "OAUTHBEARER")
    assert condition(await raw.auth("OAUTHBEARER", sasl.oauthbearer_response(OTHER, outcome.access_token))) \
        == "not-authorized"
    assert any("token of aokanlawon presented for ntanborgeson" in m for m in imp_messages(running))


async def test_a_replayed_one_time_password_is_refused(running: RunningLab) -> None:
    imp = running.nodes["imp:imp"]
    otp = imp.auth.otps.issue("aokanlawon", running.clock.timestamp())
    first = await Raw.open(imp.xmpp.port)
    await first.features()
    assert (await first.auth("CISCO-VTG-TOKEN", sasl.vtg_response("aokanlawon", "lab.example", otp))).local \
        == "success"
    second = await Raw.open(imp.xmpp.port)
    await second.features()
    failure = await second.auth("CISCO-VTG-TOKEN", sasl.vtg_response("aokanlawon", "lab.example", otp))
    assert condition(failure) == "not-authorized"
    assert any("one-time password already used" in m for m in imp_messages(running))
    assert otp not in running.log_text("imp:imp")
    await healthy(running)


async def test_a_second_bind_of_the_same_full_jid_is_409_conflict(running: RunningLab) -> None:
    outcome = await healthy(running)
    token = sasl.oauthbearer_response(USER, outcome.access_token)
    first = await Raw.edge(running)
    await first.features()
    assert (await first.auth("OAUTHBEARER", token)).local == "success"
    assert (await first.bind("desk")).element.get("type") == "result"
    second = await Raw.edge(running)
    await second.features()
    assert (await second.auth("OAUTHBEARER", token)).local == "success"
    refused = await second.bind("desk")
    assert stanzas.read_error(refused.element) == ("409", "cancel", "conflict")
    assert b"<error code='409' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>" \
        in render(refused.element).encode()
    assert any("bind conflict: aokanlawon@lab.example/desk" in m for m in imp_messages(running))


async def test_a_stream_that_never_signs_in_is_ended_with_connection_timeout(lab: Lab) -> None:
    """A client that connects and then dribbles or says nothing holds a sign-in slot only until its deadline."""
    quick = dataclasses.replace(lab, edge=dataclasses.replace(lab.edge, xmpp_signin_timeout=0.5))
    running = await start_lab(quick)
    try:
        silent = await Raw.edge(running)
        await silent.features()
        silent.send(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTH")  # and never the rest
        error = await asyncio.wait_for(silent.stanza(), 10)
        assert error.local == "error" and condition(error) == "connection-timeout"
        assert await silent.closed()
        assert any("Stream error connection-timeout" in d for d in e_details(running))
        assert running.edge.xmpp_edge is not None and running.edge.xmpp_edge.admission.signing_in == 0
        await healthy(running)  # a client that signs in at once is not affected
    finally:
        await running.stop()
