"""SIP requests and responses: parse, validate and render (RFC 3261 §7, §8.1.1, §20).

A message is a start line, an ordered list of header fields and a body. Header names are kept in their canonical
long form (compact forms such as ``v``/``i``/``l`` are expanded, §7.3.3), folded values are unfolded (§7.3.1: a line
that starts with a space or tab continues the previous one), and repeated or comma-joined Via values stay in order.

Errors are of two kinds, like h11's: :class:`SipError` carries the status RFC 3261 gives for it (``400 Bad Request``,
``513 Message Too Large``, ``505 Version Not Supported``) and whether an answer is possible at all. A request that lacks
what a response needs (Via, From, To, Call-ID, CSeq: §8.2.6.2 copies them) cannot be answered; a malformed *response*
is silently discarded (§18.1.2, §16.7). Callers log either kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

VERSION = "SIP/2.0"
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")

# RFC 3261 §7.3.3 and the IANA registry of compact forms.
COMPACT = {"a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "e": "Content-Encoding", "f": "From",
           "i": "Call-ID", "k": "Supported", "l": "Content-Length", "m": "Contact", "o": "Event", "r": "Refer-To",
           "s": "Subject", "t": "To", "u": "Allow-Events", "v": "Via", "x": "Session-Expires"}
_CANONICAL = {name.lower(): name for name in (
    "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Max-Forwards", "Expires", "Content-Length", "Content-Type",
    "Route", "Record-Route", "Authorization", "Proxy-Authorization", "WWW-Authenticate", "Proxy-Authenticate",
    "User-Agent", "Server", "Supported", "Allow", "Date", "Warning", "Retry-After", "Reason", "Require", "Path",
    "Mime-Version", "Content-Encoding", "Event", "Allow-Events", "Session-Expires", "Subject", "Refer-To",
    "Referred-By", "Accept-Contact", "Unsupported", "Accept", "Min-Expires", "Authentication-Info")}
# Headers whose comma-separated values are separate entries (§7.3.1); Via is the one a proxy walks.
_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_STATUS_LINE = re.compile(r"^SIP/(\d+\.\d+) (\d{3}) (.*)$")
REASONS = {100: "Trying", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           407: "Proxy Authentication Required", 408: "Request Timeout", 420: "Bad Extension",
           423: "Interval Too Brief", 480: "Temporarily Unavailable", 483: "Too Many Hops",
           500: "Server Internal Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
           505: "Version Not Supported", 513: "Message Too Large"}


class SipError(ValueError):
    """The peer's mistake. ``status`` is RFC 3261's answer; ``answerable`` is False when no response can be built."""

    def __init__(self, reason: str, status: int = 400, answerable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.answerable = answerable


def canonical(name: str) -> str:
    lowered = name.lower()
    if lowered in COMPACT:
        return COMPACT[lowered]
    return _CANONICAL.get(lowered, name)


@dataclass(frozen=True)
class SipMessage:
    """A request (``method`` set) or a response (``status`` set)."""

    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""

    @property
    def is_request(self) -> bool:
        return bool(self.method)

    @property
    def start_line(self) -> str:
        return f"{self.method} {self.uri} {VERSION}" if self.is_request else f"{VERSION} {self.status} {self.reason}"

    def get(self, name: str, default: str | None = None) -> str | None:
        name = canonical(name)
        return next((value for key, value in self.headers if key == name), default)

    def get_all(self, name: str) -> list[str]:
        name = canonical(name)
        return [value for key, value in self.headers if key == name]

    @property
    def vias(self) -> list[str]:
        return [part for value in self.get_all("Via") for part in split_commas(value)]

    @property
    def call_id(self) -> str:
        return self.get("Call-ID", "") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        number, _, method = (self.get("CSeq", "") or "").partition(" ")
        return int(number), method.strip()

    def with_headers(self, headers: list[tuple[str, str]]) -> SipMessage:
        return replace(self, headers=tuple(headers))

    def replace_header(self, name: str, value: str | None) -> SipMessage:
        """Drop every ``name`` field and, unless ``value`` is None, put one in the place of the first."""
        name = canonical(name)
        out: list[tuple[str, str]] = []
        placed = value is None
        for key, old in self.headers:
            if key == name:
                if not placed:
                    out.append((name, value or ""))
                    placed = True
                continue
            out.append((key, old))
        if not placed:
            out.append((name, value or ""))
        return self.with_headers(out)

    def render(self) -> bytes:
        """Bytes on the wire; ``Content-Length`` is always written last and always true (§20.14)."""
        lines = [self.start_line]
        lines += [f"{key}: {value}" for key, value in self.headers if key != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def text(self) -> str:
        return self.render().decode("utf-8", "replace")


def request(method: str, uri: str, headers: list[tuple[str, str]], body: bytes = b"") -> SipMessage:
    return SipMessage(tuple((canonical(k), v) for k, v in headers), body, method=method, uri=uri)


def response_to(req: SipMessage, status: int, reason: str | None = None, extra: list[tuple[str, str]] | None = None,
                to_tag: str | None = None) -> SipMessage:
    """A response copying Via (all, in order), From, To, Call-ID and CSeq from ``req`` (§8.2.6.2)."""
    headers: list[tuple[str, str]] = [("Via", via) for via in req.get_all("Via")]
    to = req.get("To", "") or ""
    if to_tag and ";tag=" not in to:
        to = f"{to};tag={to_tag}"
    headers += [("From", req.get("From", "") or ""), ("To", to), ("Call-ID", req.call_id),
                ("CSeq", req.get("CSeq", "") or "")]
    headers += extra or []
    return SipMessage(tuple(headers), b"", status=status, reason=reason or REASONS.get(status, "Unknown"))


def split_commas(value: str) -> list[str]:
    """Split a header value at commas outside quotes and angle brackets (§7.3.1)."""
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(value):
        if char == '"' and (index == 0 or value[index - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth -= 1
        elif char == "," and not quoted and depth == 0:
            parts.append(value[start:index].strip())
            start = index + 1
    parts.append(value[start:].strip())
    return [part for part in parts if part]


def parse(data: bytes, max_bytes: int = 65536) -> SipMessage:
    """One whole message (headers and exactly its body) into a :class:`SipMessage`, or :class:`SipError`."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        raise SipError("no empty line after the header fields", answerable=False)
    if len(data) > max_bytes:
        raise SipError(f"message of {len(data)} bytes over the limit of {max_bytes}", status=513)
    if b"\x00" in head:
        raise SipError("NUL byte in the header section")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise SipError("header section is not UTF-8") from None
    lines = text.split("\r\n")
    start, raw = lines[0], lines[1:]
    headers = _unfold(raw)
    message = _start(start, headers, body)
    _check(message)
    return message


def _unfold(raw: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for line in raw:
        if line[:1] in (" ", "\t"):
            if not headers:
                raise SipError("continuation line before any header field")
            key, value = headers[-1]
            headers[-1] = (key, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        name = name.rstrip(" \t")
        if not colon or not _TOKEN.match(name):
            raise SipError(f"malformed header line {line[:60]!r}")
        headers.append((canonical(name), value.strip()))
    return headers


def _start(line: str, headers: list[tuple[str, str]], body: bytes) -> SipMessage:
    status = _STATUS_LINE.match(line)
    if status:
        if status.group(1) != "2.0":
            raise SipError(f"response in SIP/{status.group(1)}", answerable=False)
        return SipMessage(tuple(headers), body, status=int(status.group(2)), reason=status.group(3))
    if line.startswith("SIP/"):
        raise SipError(f"malformed status line {line[:60]!r}", answerable=False)
    parts = line.split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1] or ":" not in parts[1]:
        raise SipError(f"malformed request line {line[:60]!r}", answerable=_can_answer(headers))
    if parts[2] != VERSION:
        raise SipError(f"unsupported version {parts[2][:20]!r}", status=505, answerable=_can_answer(headers))
    return SipMessage(tuple(headers), body, method=parts[0], uri=parts[1])


def _can_answer(headers: list[tuple[str, str]]) -> bool:
    names = {name for name, _ in headers}
    return all(name in names for name in REQUIRED)


def _check(message: SipMessage) -> None:
    """The rules of §8.1.1 and §20 that make a message usable; a response that breaks them is dropped (§18.1.2)."""
    answerable = message.is_request and _can_answer(list(message.headers))
    for name in REQUIRED:
        values = message.get_all(name)
        if not values:
            raise SipError(f"missing {name}", answerable=False)
        if name != "Via" and len(values) > 1:
            raise SipError(f"more than one {name}", answerable=False)
    try:
        number, method = message.cseq
    except ValueError:
        raise SipError("CSeq is not a number and a method", answerable=False) from None
    if not 0 <= number < 2**31 or not method:
        raise SipError("CSeq out of range or without a method", answerable=False)
    if message.is_request and method != message.method:
        raise SipError(f"CSeq method {method} does not match {message.method}", answerable=answerable)
    length = message.get("Content-Length")
    if length is not None and (not length.isdigit() or int(length) != len(message.body)):
        raise SipError(f"Content-Length {length[:12]!r} does not match a body of {len(message.body)} bytes",
                       answerable=answerable)
    forwards = message.get("Max-Forwards")
    if forwards is not None and (not forwards.isdigit() or int(forwards) > 255):
        raise SipError(f"Max-Forwards {forwards[:12]!r} is not 0-255", answerable=answerable)
    if message.is_request and not message.vias[0].upper().startswith(VERSION + "/"):
        raise SipError(f"Via {message.vias[0][:40]!r} is not SIP/2.0/<transport>", answerable=answerable)


@dataclass(frozen=True)
class NameAddr:
    """``"Display" <sip:user@host>;tag=x`` (§20.10, §25.1 name-addr / addr-spec)."""

    uri: str
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: str) -> NameAddr:
        value = value.strip()
        if "<" in value:
            display, _, rest = value.partition("<")
            uri, close, tail = rest.partition(">")
            if not close:
                raise SipError(f"unclosed '<' in {value[:60]!r}")
        else:
            display, (uri, _, tail) = "", value.partition(";")
            tail = ";" + tail if tail else ""
        return cls(uri.strip(), display.strip().strip('"'), _params(tail))

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")

    @property
    def user(self) -> str:
        return uri_user(self.uri)

    @property
    def host(self) -> str:
        return uri_host(self.uri)


def _params(tail: str) -> dict[str, str]:
    params = {}
    for part in tail.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            params[key.lower()] = value.strip('"')
    return params


def uri_user(uri: str) -> str:
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    return rest.split("@", 1)[0] if "@" in rest else ""


def uri_host(uri: str) -> str:
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    host = rest.split("@", 1)[1] if "@" in rest else rest
    return re.split(r"[:;>?]", host, maxsplit=1)[0].lower()


def via_params(via: str) -> dict[str, str]:
    return _params(";" + via.split(";", 1)[1]) if ";" in via else {}


def lenient(data: bytes) -> SipMessage | None:
    """What can be read of a request that failed :func:`parse`, to build its error response; None if too little."""
    head = data.partition(b"\r\n\r\n")[0].replace(b"\x00", b"")
    lines = head.decode("utf-8", "replace").split("\r\n")
    try:
        headers = _unfold(lines[1:])
    except SipError:
        return None
    if not _can_answer(headers):
        return None
    method, _, rest = lines[0].partition(" ")
    return SipMessage(tuple(headers), b"", method=method or "UNKNOWN", uri=rest.split(" ")[0] or "sip:invalid")
