"""The base64 path segments of edge URLs (mra-facts section 2)."""

from __future__ import annotations

import base64

import pytest

from common.domain import ProxyDescriptor, SegmentError, decode_segment, encode_segment, parse_edge_segment

KNOWN = [
    ("bouldermedicalcenter.com", "Ym91bGRlcm1lZGljYWxjZW50ZXIuY29t"),
    ("tlabs.de", "dGxhYnMuZGU"),
    ("hpcl.co.in/http/10.15.0.33/6970", "aHBjbC5jby5pbi9odHRwLzEwLjE1LjAuMzMvNjk3MA"),
]


@pytest.mark.parametrize(("text", "segment"), KNOWN)
def test_encode_strips_padding_and_matches_known_segments(text: str, segment: str) -> None:
    assert encode_segment(text) == segment
    assert "=" not in encode_segment(text)


@pytest.mark.parametrize(("text", "segment"), KNOWN)
def test_decode_known_segments(text: str, segment: str) -> None:
    assert decode_segment(segment) == text


@pytest.mark.parametrize("text", ["a", "ab", "abc", "lab.example", "x.y/http/cucm.lab.example/8443", "ü.example"])
def test_round_trip_for_every_padding_length(text: str) -> None:
    assert decode_segment(encode_segment(text)) == text


def test_decode_accepts_url_safe_alphabet() -> None:
    text = "a?>?>"  # standard base64 'YT8+Pz4' contains '+'
    assert "+" in encode_segment(text)
    assert decode_segment(encode_segment(text).replace("+", "-").replace("/", "_")) == text


def test_parse_bare_domain_is_lowercased() -> None:
    assert parse_edge_segment("Ym91bGRlcm1lZGljYWxjZW50ZXIuY29t") == "bouldermedicalcenter.com"
    assert parse_edge_segment(encode_segment("Lab.Example")) == "lab.example"


def test_parse_proxy_descriptor() -> None:
    target = parse_edge_segment("aHBjbC5jby5pbi9odHRwLzEwLjE1LjAuMzMvNjk3MA")
    assert target == ProxyDescriptor("hpcl.co.in", "http", "10.15.0.33", 6970)
    assert target.origin == "http://10.15.0.33:6970"
    assert target.encode() == "aHBjbC5jby5pbi9odHRwLzEwLjE1LjAuMzMvNjk3MA"
    assert parse_edge_segment(encode_segment("Lab.Example/https/CUCM.lab.example/8443")) == ProxyDescriptor(
        "lab.example", "https", "cucm.lab.example", 8443)


@pytest.mark.parametrize("segment", ["", "!!!", "abc$", "a b", "Ym91=bGRl", "abcde", "a"],
                         ids=["empty", "bangs", "dollar", "space", "inner-pad", "len-5", "len-1"])
def test_malformed_segments_raise(segment: str) -> None:
    with pytest.raises(SegmentError):
        decode_segment(segment)
    with pytest.raises(SegmentError):
        parse_edge_segment(segment)


def test_non_utf8_segment_raises() -> None:
    segment = base64.b64encode(b"\xff\xfe\xfd").decode()
    assert segment == "//79"
    with pytest.raises(SegmentError, match="does not decode"):
        decode_segment(segment)


@pytest.mark.parametrize("text", [
    "lab.example/http",                          # two parts
    "lab.example/http/cucm",                     # three parts
    "lab.example/http/cucm/8443/extra",          # five parts
    "lab example",                               # not a domain
    "lab.example/http/cu_cm/8443",               # bad host
    "/http/cucm/8443",                           # empty domain
    "lab.example/http//8443",                    # empty host
    "lab.example/http/cucm/",                    # empty port
    "lab.example/http/cucm/x443",                # bad port
    "lab.example/http/cucm/-1",                  # negative port
    "lab.example/ftp/cucm/21",                   # bad scheme
    "lab.example/HTTP/cucm/80",                  # scheme is case-sensitive as Jabber writes it
    "lab.example/gopher/cucm/70",
], ids=lambda t: t)
def test_wrong_descriptor_shapes_raise(text: str) -> None:
    with pytest.raises(SegmentError):
        parse_edge_segment(encode_segment(text))


@pytest.mark.parametrize("port", ["0", "65536", "99999", "\u00b2", "\u0663"], ids=["0", "65536", "99999", "sup2", "arabic3"])
def test_out_of_range_or_non_ascii_port_raises_segment_error(port: str) -> None:
    with pytest.raises(SegmentError):
        parse_edge_segment(encode_segment(f"lab.example/http/cucm/{port}"))
