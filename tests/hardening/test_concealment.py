"""Group 2 — secrets in every shape a client can send them: whatever the content type, parameter name, header or
body, a credential never reaches a log of either Expressway (or any other node). Each input carries a fresh marker
where the credential would go; the marker must not appear in any log file."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import quote

import pytest

from common.basic import basic_header
from tests.hardening.conftest import CLIENT_ID, GROUP, OAUTH, USER, Battery, after_group, shapes

FORM = "application/x-www-form-urlencoded"
Request = tuple[str, str, dict[str, str], bytes | None]
BOUNDARY = "mRaSiM-Boundary-42"


def oauth_form(**extra: str) -> str:
    pairs = [("username", USER), *extra.items(), *OAUTH]
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs)


def multipart(fields: list[tuple[str, str]], boundary: str = BOUNDARY, filename: str = "") -> bytes:
    disposition = f'; filename="{filename}"' if filename else ""
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"{disposition}\r\n\r\n{v}\r\n'
             for n, v in fields]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


def login(seg: str, body: bytes | str, content_type: str | None) -> Request:
    headers = {"Content-Type": content_type} if content_type is not None else {}
    return "POST", f"/{seg}/localauthentication", headers, body if isinstance(body, bytes) else body.encode()


SHAPES: dict[str, Callable[[Battery, str], Request]] = {
    "multipart-login": lambda b, m: login(b.segment, multipart([("username", USER), ("password", m), *OAUTH]),
                                          f"multipart/form-data; boundary={BOUNDARY}"),
    "multipart-file-part": lambda b, m: login(b.segment, multipart([("password", m)], filename="p.txt"),
                                              f"multipart/form-data; boundary={BOUNDARY}"),
    "multipart-quoted-boundary": lambda b, m: login(b.segment, multipart([("password", m)]),
                                                    f'multipart/form-data; boundary="{BOUNDARY}"'),
    "multipart-no-content-type": lambda b, m: login(b.segment, multipart([("password", m)]), None),
    "multipart-mixed": lambda b, m: login(b.segment, multipart([("secret", m)]),
                                          f"multipart/mixed; boundary={BOUNDARY}"),
    "text-plain-form": lambda b, m: login(b.segment, oauth_form(password=m), "text/plain"),
    "text-html-form": lambda b, m: login(b.segment, oauth_form(password=m), "text/html"),
    "octet-stream-form": lambda b, m: login(b.segment, oauth_form(password=m), "application/octet-stream"),
    "no-content-type-form": lambda b, m: login(b.segment, oauth_form(password=m), None),
    "form-charset-utf16": lambda b, m: login(b.segment, oauth_form(password=m), f"{FORM}; charset=utf-16"),
    "json-login": lambda b, m: login(b.segment, json.dumps({"username": USER, "password": m}), "application/json"),
    "json-nested": lambda b, m: login(b.segment, json.dumps({"user": {"credentials": {"pin": m}}}),
                                      "application/json"),
    "json-array": lambda b, m: login(b.segment, json.dumps([USER, m]), "application/json"),
    "json-as-text": lambda b, m: login(b.segment, json.dumps({"passwd": m}), "text/plain"),
    "xml-element": lambda b, m: login(b.segment, f"<login><password>{m}</password></login>", "text/xml"),
    "xml-unknown-element": lambda b, m: login(b.segment, f"<login><pin>{m}</pin></login>", "application/xml"),
    "xml-attribute": lambda b, m: login(b.segment, f"<login secret='{m}'/>", "application/xml"),
    "xml-cdata": lambda b, m: login(b.segment, f"<login><![CDATA[{m}]]></login>", "application/xml"),
    "plain-password": lambda b, m: login(b.segment, m, "text/plain"),
    "binary-with-secret": lambda b, m: login(b.segment, b"\xff\xfe\x00" + m.encode() + b"\x80", FORM),
    "percent-encoded-name": lambda b, m: login(b.segment, f"%70assword={m}&{oauth_form()}", FORM),
    "unknown-form-field": lambda b, m: login(b.segment, oauth_form(otp=m), FORM),
    "semicolon-separated": lambda b, m: login(b.segment, f"state=1;password={m}", FORM),
    "query-bearer": lambda b, m: ("GET", f"/{b.segment}/get_edge_config?bearer={m}&service_name=_cisco-uds", {},
                                  None),
    "query-access-token": lambda b, m: ("GET", f"/{b.segment}/get_edge_config?access_token={m}", {}, None),
    "query-password": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso?email=a@lab.example&password={m}", {}, None),
    "query-odd-name": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso?a1.b-c={m}", {}, None),
    "query-bare-value": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso?{m}", {}, None),
    "query-on-proxied-uds": lambda b, m: ("GET", f"/{b.descriptor()}/cucm-uds/user/{USER}?token={m}",
                                          {"Authorization": basic_header(USER, "Cisco!123")}, None),
    "header-authorization-bearer": lambda b, m: ("GET", f"/{b.segment}/get_edge_config",
                                                 {"Authorization": f"Bearer {m}"}, None),
    "header-basic": lambda b, m: ("GET", f"/{b.segment}/get_edge_config",
                                  {"Authorization": basic_header(USER, m)}, None),
    "header-cookie": lambda b, m: ("GET", f"/{b.segment}/get_edge_config", {"Cookie": f"X-Auth={m}"}, None),
    "header-api-key": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso", {"X-Api-Key": m}, None),
    "header-custom-token": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso", {"X-Custom-Token": m}, None),
    "header-proxy-authorization": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso",
                                                {"Proxy-Authorization": f"Basic {m}"}, None),
    "header-referer-code": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso",
                                         {"Referer": f"https://x.example/OAuthcb?code={m}"}, None),
    "token-form-client-secret": lambda b, m: ("POST", f"/{b.segment}/access_token", {"Content-Type": FORM},
                                              f"grant_type=authorization_code&code=x&client_id={CLIENT_ID}"
                                              f"&client_secret={m}".encode()),
    "token-form-refresh": lambda b, m: ("POST", f"/{b.segment}/access_token", {"Content-Type": FORM},
                                        f"grant_type=refresh_token&refresh_token={m}".encode()),
    "token-json": lambda b, m: ("POST", f"/{b.segment}/access_token", {"Content-Type": "application/json"},
                                json.dumps({"grant_type": "refresh_token", "refresh_token": m}).encode()),
    "jwt-in-path": lambda b, m: ("GET", f"/{b.segment}/eyJhbGciOiJub25lIn0.{m}.sig", {}, None),
    # Opaque values in a path, or in a query under a name nobody listed (issue 13, second round): whatever the
    # segment's position or shape, only segments known to be safe are shown.
    "path-token-before-operation": lambda b, m: ("POST", f"/{b.segment}/{m}/access_token", {"Content-Type": FORM},
                                                 b"grant_type=refresh_token"),
    "path-token-after-operation": lambda b, m: ("GET", f"/{b.segment}/get_edge_config/{m}", {}, None),
    "path-token-only": lambda b, m: ("GET", f"/{b.segment}/{m}", {}, None),
    "path-base64-token": lambda b, m: ("GET", f"/{b.segment}/{b64(m)}/get_edge_config", {}, None),
    "path-percent-encoded": lambda b, m: ("GET", f"/{b.segment}/{pct(m)}", {}, None),
    "path-first-segment": lambda b, m: ("GET", f"/{m}/get_edge_config", {}, None),
    "path-first-segment-base64": lambda b, m: ("GET", f"/{b64(m)}/get_edge_config", {}, None),
    "path-descriptor-then-token": lambda b, m: ("GET", f"/{b.descriptor()}/cucm-uds/{m}/devices",
                                                {"Authorization": basic_header(USER, "Cisco!123")}, None),
    "path-after-uds-user": lambda b, m: ("GET", f"/{b.descriptor()}/cucm-uds/user/{USER}/{m}",
                                         {"Authorization": basic_header(USER, "Cisco!123")}, None),
    "path-oauthcb": lambda b, m: ("GET", f"/OAuthcb/{m}", {}, None),
    "path-semicolon-parameter": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso;jsessionid={m}", {}, None),
    "path-dot-segments": lambda b, m: ("GET", f"/{b.segment}/{m}/../get_edge_sso", {}, None),
    "path-token-refresh": lambda b, m: ("POST", f"/{b64(m)}/access_token", {"Content-Type": FORM},
                                        b"grant_type=refresh_token&refresh_token=x"),
    "query-secret-as-name": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso?{m}=1&email=a@lab.example", {}, None),
    "query-percent-encoded-value": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso?x={pct(m)}", {}, None),
    "query-base64-value": lambda b, m: ("GET", f"/{b.segment}/get_edge_config?blob={b64(m)}", {}, None),
    "location-header": lambda b, m: ("GET", f"/{b.segment}/get_edge_sso",
                                     {"Referer": f"https://x.example/{m}/OAuthcb"}, None),
}


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(f"lab.example/{text}".encode()).decode().rstrip("=")


def pct(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


@GROUP
@pytest.mark.parametrize("shape", list(SHAPES))
async def test_a_secret_in_any_shape_never_reaches_a_log(battery: Battery, shape: str) -> None:
    marker = battery.marker(shape)
    method, path, headers, body = SHAPES[shape](battery, marker)
    status, _ = await battery.request(method, path, headers=headers, data=body)
    assert status < 500
    leaked = [node for node, text in battery.logs().items() if any(form in text for form in shapes(marker))]
    assert leaked == [], f"{shape}: marker in {leaked}"


MALFORMED: dict[str, Callable[[str, str], bytes]] = {
    "no-version": lambda seg, m: f"GET /{seg}/{m}\r\n\r\n".encode(),
    "bad-method": lambda seg, m: f"G\x00T /{seg}/{m} HTTP/1.1\r\n\r\n".encode(),
    "space-in-target": lambda seg, m: f"GET /{seg}/a {m}/b HTTP/1.1\r\n\r\n".encode(),
    "nul-in-header": lambda seg, m: f"GET /{seg}/get_edge_sso HTTP/1.1\r\nX-A: {m}\x00\r\n\r\n".encode(),
    "header-without-colon": lambda seg, m: f"GET /{seg}/get_edge_sso HTTP/1.1\r\n{m}\r\n\r\n".encode(),
    "huge-header": lambda seg, m: f"GET /{seg}/get_edge_sso HTTP/1.1\r\nX-B: {m}{'b' * 70000}\r\n\r\n".encode(),
    "bad-chunk": lambda seg, m: (f"POST /{seg}/access_token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 f"{m}\r\nabc\r\n0\r\n\r\n").encode(),
}


@GROUP
@pytest.mark.parametrize("shape", list(MALFORMED))
async def test_a_secret_in_a_malformed_request_never_reaches_a_log(battery: Battery, shape: str) -> None:
    """The parser's refusal is logged with its reason, never with the bytes it refused."""
    marker = battery.marker(shape)
    answer = await battery.raw(MALFORMED[shape](battery.segment, marker))
    assert not answer.startswith(b"HTTP/1.1 5")
    leaked = [node for node, text in battery.logs().items() if any(form in text for form in shapes(marker))]
    assert leaked == [], f"{shape}: marker in {leaked}"


@GROUP
async def test_after_the_concealment_group_a_full_login_works_and_no_secret_is_logged(battery: Battery) -> None:
    await after_group(battery)
