"""Group 1 — the HTTP wire: request lines, headers, framing and smuggling as a hostile client writes them to
Expressway-E. Each gets a 4xx (or the connection closed), never a 5xx or a silent hang, and the edge keeps serving —
over TLS (the lab's default, inside the handshake a client trusting the lab CA makes) and on the plain transport."""

from __future__ import annotations

import pytest

from tests.hardening.conftest import GROUP, Battery, after_group, status_of

TRANSPORTS = ("tls", "plain")  # the one group run on both: the same bytes reach the HTTP parser with and without TLS
SEG = "bGFiLmV4YW1wbGU"  # lab.example
H = b"Host: expe.lab.example:8443\r\n"

BAD = {
    "no-version": b"GET /foo\r\n\r\n",
    "no-version-edge-op": f"GET /{SEG}/get_edge_sso\r\n\r\n".encode(),
    "version-0.9": b"GET /foo HTTP/0.9\r\n\r\n",
    "version-2": b"GET /foo HTTP/2.0\r\n" + H + b"\r\n",
    "version-garbage": b"GET /foo HTTP/x.y\r\n" + H + b"\r\n",
    "lowercase-version": b"GET /foo http/1.1\r\n" + H + b"\r\n",
    "method-with-nul": b"G\x00T /foo HTTP/1.1\r\n" + H + b"\r\n",
    "method-unknown": b"BREW /foo HTTP/1.1\r\n" + H + b"\r\n",
    "method-lowercase": b"get /foo HTTP/1.1\r\n" + H + b"\r\n",
    "connect": b"CONNECT cucm.lab.example:8443 HTTP/1.1\r\n" + H + b"\r\n",
    "options-star": b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
    "trace": f"TRACE /{SEG}/get_edge_sso HTTP/1.1\r\n".encode() + H + b"\r\n",
    "absolute-form-other-host": b"GET http://intranet.lab.example/ HTTP/1.1\r\n" + H + b"\r\n",
    "nul-in-path": b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n",
    "raw-utf8-invalid-path": b"GET /\xff\xfe/x HTTP/1.1\r\n" + H + b"\r\n",
    "encoded-nul-query": f"GET /{SEG}/get_edge_sso?email=a%00b HTTP/1.1\r\n".encode() + H + b"\r\n",
    "encoded-invalid-utf8-query": f"GET /{SEG}/get_edge_sso?email=%C3%28 HTTP/1.1\r\n".encode() + H + b"\r\n",
    "space-in-target": b"GET /a b/c HTTP/1.1\r\n" + H + b"\r\n",
    "huge-url": b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n" + H + b"\r\n",
    "huge-header": b"GET /foo HTTP/1.1\r\n" + H + b"X-Big: " + b"b" * 70000 + b"\r\n\r\n",
    "many-headers": b"GET /foo HTTP/1.1\r\n" + H + b"".join(b"X-%d: 1\r\n" % i for i in range(200)) + b"\r\n",
    "header-without-colon": b"GET /foo HTTP/1.1\r\n" + H + b"NoColonHere\r\n\r\n",
    "space-before-colon": b"GET /foo HTTP/1.1\r\n" + H + b"Content-Length : 0\r\n\r\n",
    "obs-fold": b"GET /foo HTTP/1.1\r\n" + H + b"X-A: 1\r\n  folded\r\n\r\n",
    "nul-in-header": b"GET /foo HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
    "cr-in-header": b"GET /foo HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n",
    "cl-and-te": f"POST /{SEG}/localauthentication HTTP/1.1\r\n".encode() + H
                 + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n",
    "two-content-lengths": f"POST /{SEG}/localauthentication HTTP/1.1\r\n".encode() + H
                           + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nabcde",
    "negative-content-length": f"POST /{SEG}/localauthentication HTTP/1.1\r\n".encode() + H
                               + b"Content-Length: -1\r\n\r\n",
    "content-length-not-a-number": f"POST /{SEG}/localauthentication HTTP/1.1\r\n".encode() + H
                                   + b"Content-Length: 1e3\r\n\r\n",
    "te-not-chunked": f"POST /{SEG}/localauthentication HTTP/1.1\r\n".encode() + H
                      + b"Transfer-Encoding: gzip\r\n\r\n",
    "te-obfuscated": f"POST /{SEG}/localauthentication HTTP/1.1\r\n".encode() + H
                     + b"Transfer-Encoding: xchunked\r\n\r\n",
    "bad-chunk-size": f"POST /{SEG}/localauthentication HTTP/1.1\r\n".encode() + H
                      + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "bare-lf": b"GET /foo HTTP/1.1\n" + H.replace(b"\r\n", b"\n") + b"\n",
    "only-crlf": b"\r\n\r\n\r\n",
    "binary-garbage": bytes(range(256)),
    "tls-client-hello": bytes.fromhex("16030100a5010000a10303") + b"\x00" * 40,
}


@GROUP
@pytest.mark.parametrize("name", list(BAD))
async def test_malformed_http_gets_a_4xx_or_a_close_never_a_5xx(battery: Battery, name: str) -> None:
    answer = await battery.raw(BAD[name], wait=0.5 if name == "only-crlf" else 2.0)
    status = status_of(answer)
    assert status == 0 or 400 <= status < 500, answer[:200]
    if name.startswith("no-version"):
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]


@GROUP
async def test_after_the_wire_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    await after_group(battery)
