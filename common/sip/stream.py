"""Framing SIP on a stream transport (TLS or TCP): where one message ends and the next begins (RFC 3261 §18.3).

On a stream, ``Content-Length`` is mandatory and is the only way to find the end of the body. A value that is not a
number loses the framing for good, so the connection must be closed after the answer (:attr:`Frame.fatal`). CRLFs
before a start line are skipped (§7.5), and a bare double CRLF is the RFC 5626 keep-alive ping, answered by one CRLF.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from common.sip.message import SipError, SipMessage, parse

_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([^\s]*)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
PING, PONG = b"\r\n\r\n", b"\r\n"


@dataclass(frozen=True)
class Frame:
    """What the stream produced: a message, an error about the bytes, or a keep-alive ping."""

    message: SipMessage | None = None
    error: SipError | None = None
    raw: bytes = b""
    fatal: bool = False
    ping: bool = False


class SipStream:
    """Feed bytes, get frames; no I/O (STYLE: h11's ``receive_data`` / ``next_event``)."""

    def __init__(self, max_bytes: int = 65536) -> None:
        self.max_bytes = max_bytes
        self.buffer = b""
        self.broken = False

    def feed(self, data: bytes) -> list[Frame]:
        if self.broken:
            return []
        self.buffer += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)
            if frame.fatal:
                self.broken = True
                return frames

    def _next(self) -> Frame | None:
        if self.buffer.startswith(PING):
            self.buffer = self.buffer[len(PING):]
            return Frame(ping=True)
        stripped = self.buffer.lstrip(b"\r\n")
        if stripped != self.buffer and (stripped or len(self.buffer) >= 4):
            self.buffer = stripped
        if not self.buffer or self.buffer in (b"\r", b"\r\n", b"\r\n\r"):
            return None
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > self.max_bytes:
                # §21.5.14: 513, built from the header fields read so far (lenient), then the connection is closed
                raw, self.buffer = self.buffer[:self.max_bytes], b""
                return Frame(error=SipError(f"header section over {self.max_bytes} bytes", 513), raw=raw, fatal=True)
            return None
        head = self.buffer[:end + 4]
        match = _LENGTH.search(head)
        if match is None:
            message_bytes, self.buffer = head, self.buffer[end + 4:]
            error = SipError("no Content-Length on a stream transport (RFC 3261 §18.3)")
            try:
                parse(message_bytes, self.max_bytes)
            except SipError as exc:
                error = exc
            return Frame(error=error, raw=message_bytes)
        text = match.group(1)
        if not text.isdigit():
            raw, self.buffer = head, b""
            return Frame(error=SipError(f"Content-Length {text[:12]!r} is not a number"), raw=raw, fatal=True)
        total = end + 4 + int(text)
        if total > self.max_bytes:
            raw, self.buffer = head, b""
            return Frame(error=SipError(f"message of {total} bytes over the limit of {self.max_bytes}", 513),
                         raw=raw, fatal=True)
        if len(self.buffer) < total:
            return None
        message_bytes, self.buffer = self.buffer[:total], self.buffer[total:]
        try:
            return Frame(message=parse(message_bytes, self.max_bytes), raw=message_bytes)
        except SipError as exc:
            return Frame(error=exc, raw=message_bytes)


class SipReader:
    """Frames from an asyncio stream, one at a time."""

    def __init__(self, reader: asyncio.StreamReader, max_bytes: int = 65536) -> None:
        self.reader = reader
        self.stream = SipStream(max_bytes)
        self.pending: list[Frame] = []

    async def next(self) -> Frame | None:
        """The next frame, or None at end of stream."""
        while not self.pending:
            if self.stream.broken:
                return None
            data = await self.reader.read(65536)
            if not data:
                return None
            self.pending.extend(self.stream.feed(data))
        return self.pending.pop(0)
