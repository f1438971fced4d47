"""A stream reader that lets its parser go between stanzas reads exactly what one that keeps it reads, however the
bytes are cut (issue 18, round 4: Expressway-E and IM&P held a 10 KiB libxml2 parser for every idle client)."""

from __future__ import annotations

import random

import pytest
from common.xmpp.stream import Stanza, StreamClosed, StreamError, StreamOpened, StreamReader
from common.xmpp.xml import render

HEADER = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
          b"xmlns:db='jabber:server:dialback' to='lab.example' version='1.0' xml:lang='en'>")
STANZAS = [
    b"<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
    b"<presence/>",
    b"\n  ",
    b"<message to='a@lab.example' id=\"m>1/>\"><body>x &lt; y &amp;&#x263A; <![CDATA[</message> <b/>]]></body></message>",
    b"<db:result from='a' to='b'>key</db:result>",
    b"<presence type='unavailable' ><status>gone</status ></presence >",
    b"<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>\r\n",
]


def events_of(reader: StreamReader, chunks: list[bytes]) -> tuple[list[object], int]:
    """What the reader made of ``chunks``, comparable across readers, and how often it rested after a read."""
    seen: list[object] = []
    rested = 0
    for chunk in chunks:
        try:
            events = reader.feed(chunk)
        except StreamError as exc:  # a cut the reader refuses (a CDATA opener split): refused by both alike
            return [*seen, exc.condition], rested
        for event in events:
            if isinstance(event, Stanza):
                seen.append((render(event.element), event.local, event.namespace))  # the wire form nodes write
            elif isinstance(event, StreamOpened):
                seen.append((dict(event.attrs), event.default_ns))
            else:
                assert isinstance(event, StreamClosed)
                seen.append("closed")
        rested += reader.resting
    return seen, rested


def cut(data: bytes, rng: random.Random) -> list[bytes]:
    points = sorted(rng.sample(range(1, len(data)), rng.randrange(1, 40)))
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


@pytest.mark.parametrize("seed", range(60))
def test_a_releasing_reader_reads_what_a_keeping_one_reads_however_the_bytes_are_cut(seed: int) -> None:
    rng = random.Random(seed)
    body = b"".join(rng.choice(STANZAS) for _ in range(12))
    data = HEADER + body + (b"</stream:stream>" if seed % 2 else b"")
    chunks = cut(data, rng) if seed % 3 else [HEADER, *(s for s in STANZAS)]
    kept, _ = events_of(StreamReader(), chunks)
    released, rested = events_of(StreamReader(release_idle=True), chunks)
    assert released == kept
    assert rested or seed % 3  # read stanza by stanza, it rests between them


def test_it_rests_between_stanzas_only() -> None:
    reader = StreamReader(release_idle=True)
    reader.feed(HEADER)
    assert not reader.resting  # the opening tag is not a stanza
    reader.feed(b"<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>\n")
    assert reader.resting
    assert reader.feed(b"<message to='a' id='x>y'") == [] and not reader.resting  # a tag cut inside a quoted '>'
    (stanza,) = reader.feed(b"/>")
    assert isinstance(stanza, Stanza) and stanza.element.get("id") == "x>y"  # (this read alone shows no whole tag)
    reader.feed(b"<presence/>")
    assert reader.resting
    (stanza,) = reader.feed(b"<db:result from='a'>k</db:result>")  # a prefix the opening tag declared
    assert stanza.namespace == "jabber:server:dialback"


def test_a_woken_reader_still_refuses_what_a_stream_may_not_carry() -> None:
    reader = StreamReader(release_idle=True)
    reader.feed(HEADER + b"<presence/>")
    assert reader.resting
    with pytest.raises(StreamError) as refused:
        reader.feed(b"<!DOCTYPE x>")
    assert refused.value.condition == "restricted-xml"
    reader = StreamReader(release_idle=True, max_stanza=300)
    reader.feed(HEADER + b"<presence/>")
    with pytest.raises(StreamError) as refused:
        reader.feed(b"<message><body>" + b"x" * 400 + b"</body></message>")
    assert refused.value.condition == "policy-violation"
