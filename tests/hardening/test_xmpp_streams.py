"""Group 6 — XML on XMPP streams (RFC 6120 section 4.9, section 11): every parse error, restricted construct or
oversized stanza ends in the RFC 6120 stream error and a close — at Expressway-E's client port before and after
authentication, and at IM&P's own client port — never a stream left open and silent."""

from __future__ import annotations

import asyncio
import base64
import ssl

import pytest

from common.xmpp import sasl
from common.xmpp.stanzas import STARTTLS
from common.xmpp.stream import header
from tests.hardening.conftest import GROUP, USER, Battery, after_group

JID = f"{USER}@lab.example"
HEADER = header("lab.example", JID, "").encode()
BAD = {
    "undefined-entity": b"<message>&xxe;</message>",
    "undefined-entity-in-attribute": b"<message to='&xxe;'/>",
    "entity-without-semicolon": b"<message>&amp</message>",
    "char-ref-without-semicolon": b"<message>&#65</message>",
    "external-entity-dtd": b"<!DOCTYPE m [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><message>&x;</message>",
    "billion-laughs": b"<!DOCTYPE l [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]><message>&b;</message>",
    "comment": b"<!-- hello -->",
    "processing-instruction": b"<?evil data?>",
    "entity-after-cdata": b"<message><![CDATA[a & b]]>&bad;</message>",
    "unbound-prefix": b"<foo:message/>",
    "mismatched-tags": b"<message><body></message></body>",
    "bad-tag-open": b"<<<>",
    "nul": b"<message>\x00</message>",
    "control-char": b"<message>\x01</message>",
    "invalid-utf8": b"<message>\xff\xfe</message>",
    "invalid-char-ref": b"<message>&#0;</message>",
    "surrogate-char-ref": b"<message>&#xD800;</message>",
    "duplicate-attribute": b"<message a='1' a='2'/>",
    "unquoted-attribute": b"<message a=1/>",
    "second-stream-header": HEADER,
    "close-then-data": b"</stream:stream><message/>",
    "huge-stanza": b"<message><body>" + b"x" * 70_000 + b"</body></message>",
    "deep-nesting": b"<a>" * 3000,
    "xml-declaration-again": b"<?xml version='1.0'?><message/>",
}


async def answer_until_close(reader: asyncio.StreamReader, wait: float = 5.0) -> tuple[bytes, bool]:
    data, closed = b"", False
    try:
        async with asyncio.timeout(wait):
            while chunk := await reader.read(65536):
                data += chunk
            closed = True
    except TimeoutError:
        pass
    except (ConnectionError, ssl.SSLError):  # the server closed the TCP connection under the TLS layer
        closed = True
    return data, closed


async def open_stream(port: int, tls: ssl.SSLContext | None = None) -> tuple[asyncio.StreamReader,
                                                                              asyncio.StreamWriter]:
    """A client stream up to its features; through STARTTLS first (RFC 6120 section 5) where the port requires it,
    as Expressway-E's 5222 does on the TLS transport, checking the services domain against the lab CA."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(HEADER)
    data = await read_until(reader, b"</stream:features>")
    if b"<starttls" in data and tls is not None:
        writer.write(STARTTLS)
        await read_until(reader, b"<proceed")
        await writer.start_tls(tls, server_hostname="lab.example")
        writer.write(HEADER)
        await read_until(reader, b"</stream:features>")
    return reader, writer


async def read_until(reader: asyncio.StreamReader, end: bytes) -> bytes:
    data = b""
    async with asyncio.timeout(5):
        while end not in data:
            chunk = await reader.read(65536)
            if not chunk:
                raise AssertionError(f"closed before {end!r}: {data[-200:]!r}")
            data += chunk
    return data


@GROUP
@pytest.mark.parametrize("name", list(BAD))
async def test_bad_xml_at_the_edge_ends_in_a_stream_error_and_a_close(battery: Battery, name: str) -> None:
    reader, writer = await open_stream(battery.running.edge.xmpp.port, battery.tls)
    writer.write(BAD[name])
    data, closed = await answer_until_close(reader)
    writer.close()
    assert b"<stream:error>" in data and data.rstrip().endswith(b"</stream:stream>"), data[-300:]
    assert closed, "the stream must be closed after the error"


@GROUP
@pytest.mark.parametrize("name", ["undefined-entity", "unbound-prefix", "comment", "invalid-utf8"])
async def test_bad_xml_after_authentication_ends_in_a_stream_error_and_a_close(battery: Battery, name: str) -> None:
    reader, writer = await open_stream(battery.running.edge.xmpp.port, battery.tls)
    token = battery.access_token
    payload = base64.b64encode(sasl.oauthbearer_response(USER, token)).decode()
    writer.write(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='OAUTHBEARER'>{payload}</auth>".encode())
    data = b""
    async with asyncio.timeout(5):
        while b"<success" not in data:
            data += await reader.read(65536)
    writer.write(HEADER)
    writer.write(BAD[name])
    data, closed = await answer_until_close(reader)
    writer.close()
    assert b"<stream:error>" in data and closed, data[-300:]


@GROUP
@pytest.mark.parametrize("name", ["undefined-entity", "unbound-prefix", "billion-laughs", "nul"])
async def test_bad_xml_at_the_imp_client_port_ends_in_a_stream_error_and_a_close(battery: Battery,
                                                                                  name: str) -> None:
    port = battery.running.nodes["imp:imp"].xmpp.port  # type: ignore[attr-defined]
    reader, writer = await open_stream(port)
    writer.write(BAD[name])
    data, closed = await answer_until_close(reader)
    writer.close()
    assert b"<stream:error>" in data and closed, data[-300:]


@GROUP
async def test_after_the_xmpp_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    await after_group(battery)
