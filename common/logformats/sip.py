"""The SIP trace lines of the three products, each defined once here (used to write and to parse).

* **Expressway** ``tvcs`` lines with ``Module="network.sip"``: an INFO summary per message
  (``Detail="Receive Request Method=REGISTER, CSeq=…, To=…, Call-ID=…, From-Tag=…, To-Tag=, Msg-Hash=…"``) and,
  with the module at DEBUG, the whole message in a ``SIPMSG`` block. The line layout is
  :data:`common.logformats.expressway.TVCS`; this module builds the fields. Real lines: tests/common/test_golden_sip.py.
* **Jabber** ``csf-unified.log``: ``[csf.sip-call-control] [platform_print_sip_msg] - sipio-sent---> REGISTER …``
  followed by the rest of the message on the next lines (Cisco TAC 215572).
* **CUCM** SDL trace: ``02760551.004 |19:11:08.219 |AppInfo  |SIPTcp - wait_SdlReadRsp: Incoming SIP TCP message
  from … on port … index … with … bytes:`` then ``[101339,NET]`` and the message (the CallManager SDL files).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from common.logformats.csf import CsfLine, LogPoint
from common.sip.message import NameAddr, SipMessage

NETWORK_SIP = "network.sip"
SIPIO_POINT = LogPoint("\\sipcc\\core\\sipstack\\ccsip_debug.c", 1041, "csf.sip-call-control", "platform_print_sip_msg")
SENT, RECV = "sipio-sent---> ", "sipio-recv<--- "


def msg_hash(raw: bytes) -> str:
    """A 64-bit decimal, like the real ``Msg-Hash``: the same message logged by two nodes gets the same value."""
    return str(int.from_bytes(hashlib.sha256(raw).digest()[:8], "big"))


def sip_text(message: SipMessage) -> str:
    """The message as the products print it: lines without CR, no trailing empty line."""
    return message.render().decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n")


def detail(message: SipMessage, received: bool, hash_value: str) -> str:
    """The ``Detail`` of the INFO line: the fields the real proxy prints, in its order."""
    to = NameAddr.parse(message.get("To", "") or "")
    tags = f"From-Tag={NameAddr.parse(message.get('From', '') or '').tag}, To-Tag={to.tag}"
    number, method = message.cseq
    if message.is_request:
        verb = "Receive Request" if received else "Sending Request"
        return (f"{verb} Method={message.method}, CSeq={number}, To={to.uri}, Call-ID={message.call_id}, {tags}, "
                f"Msg-Hash={hash_value}")
    verb = "Receive Response" if received else "Sending Response"
    return (f"{verb} Code={message.status}, Method={method}, CSeq={number}, To={to.uri}, Call-ID={message.call_id}, "
            f"{tags}, Msg-Hash={hash_value}, Local-SessionID=, Remote-SessionID=")


def info_fields(message: SipMessage, received: bool, local: tuple[str, int], remote: tuple[str, int],
                hash_value: str) -> list[tuple[str, str]]:
    side = "Src" if received else "Dst"
    return [("Action", "Received" if received else "Sent"), ("Local-ip", local[0]), ("Local-port", str(local[1])),
            (f"{side}-ip", remote[0]), (f"{side}-port", str(remote[1])),
            ("Detail", detail(message, received, hash_value))]


def debug_fields(received: bool, local: tuple[str, int], remote: tuple[str, int],
                 hash_value: str) -> list[tuple[str, str]]:
    side = "Src" if received else "Dst"
    return [("Action", "Received" if received else "Sent"), ("Local-ip", local[0]), ("Local-port", str(local[1])),
            (f"{side}-ip", remote[0]), (f"{side}-port", str(remote[1])), ("Msg-Hash", hash_value)]


_DETAIL = re.compile(r"^(Receive|Sending) (Request|Response) (.*)$")


def parse_detail(text: str) -> dict[str, str]:
    """``Detail`` back into its fields: ``Kind`` (Request/Response), ``Method``, ``Code``, ``CSeq``, ``Call-ID``…"""
    match = _DETAIL.match(text)
    if match is None:
        raise ValueError(f"not a network.sip Detail: {text[:80]!r}")
    fields = {"Direction": match.group(1), "Kind": match.group(2)}
    for part in match.group(3).split(", "):
        key, _, value = part.partition("=")
        fields[key] = value
    return fields


# --- Jabber ------------------------------------------------------------------------------------------------------

def sipio_message(message: SipMessage, sent: bool) -> str:
    return (SENT if sent else RECV) + sip_text(message)


@dataclass(frozen=True)
class SipioRecord:
    """One ``platform_print_sip_msg`` record: the csf line and the SIP message that follows it."""

    line: CsfLine
    sent: bool
    text: str

    @property
    def start_line(self) -> str:
        return self.text.split("\n", 1)[0]

    @classmethod
    def parse(cls, record: str) -> SipioRecord:
        head, _, rest = record.partition("\n")
        line = CsfLine.parse(head)
        for marker, sent in ((SENT, True), (RECV, False)):
            if line.message.startswith(marker):
                first = line.message[len(marker):]
                return cls(line, sent, first + ("\n" + rest if rest else ""))
        raise ValueError(f"not a sipio record: {head[:100]!r}")


# --- CUCM SDL ----------------------------------------------------------------------------------------------------

_SDL_HEAD = re.compile(r"^(?P<seq>\d{8})\.(?P<sub>\d{3}) \|(?P<time>\d\d:\d\d:\d\d\.\d{3}) \|(?P<level>\w+) +\|"
                       r"(?P<text>.*)$")
_SDL_IN = re.compile(r"^SIPTcp - wait_SdlReadRsp: Incoming SIP TCP message from (?P<ip>\S+) on port (?P<port>\d+) "
                     r"index (?P<index>\d+) with (?P<bytes>\d+) bytes:$")
_SDL_OUT = re.compile(r"^SIPTcp - wait_SdlSPISignal: Outgoing SIP TCP message to (?P<ip>\S+) on port (?P<port>\d+) "
                      r"index (?P<index>\d+) ?$")


@dataclass(frozen=True)
class SdlLine:
    """A CallManager SDL trace record: ``seq.sub |hh:mm:ss.mmm |Level    |text`` and any lines that follow."""

    seq: int
    sub: int
    time: str
    level: str
    text: str
    body: str = ""

    def render(self) -> str:
        head = f"{self.seq:08d}.{self.sub:03d} |{self.time} |{self.level:<9}|{self.text}"
        return head + ("\n" + self.body if self.body else "")

    @classmethod
    def build(cls, seq: int, sub: int, when: dt.datetime, utc_offset: dt.timedelta, text: str,
              body: str = "", level: str = "AppInfo") -> SdlLine:
        local = when.astimezone(dt.timezone(utc_offset))
        return cls(seq, sub, local.strftime("%H:%M:%S.") + f"{local.microsecond // 1000:03d}", level, text, body)

    @classmethod
    def parse(cls, record: str) -> SdlLine:
        head, _, body = record.partition("\n")
        match = _SDL_HEAD.match(head)
        if match is None:
            raise ValueError(f"not an SDL trace line: {head[:100]!r}")
        return cls(int(match.group("seq")), int(match.group("sub")), match.group("time"), match.group("level"),
                   match.group("text"), body)

    @property
    def sip(self) -> tuple[str, str, int, str] | None:
        """``(direction, peer ip, peer port, message text)`` for a SIP message record, else None."""
        for direction, pattern in (("in", _SDL_IN), ("out", _SDL_OUT)):
            match = pattern.match(self.text)
            if match:
                _, _, message = self.body.partition("\n")
                return direction, match.group("ip"), int(match.group("port")), message
        return None


def sdl_incoming(peer: tuple[str, int], index: int, size: int) -> str:
    return (f"SIPTcp - wait_SdlReadRsp: Incoming SIP TCP message from {peer[0]} on port {peer[1]} index {index} "
            f"with {size} bytes:")


def sdl_outgoing(peer: tuple[str, int], index: int) -> str:
    return f"SIPTcp - wait_SdlSPISignal: Outgoing SIP TCP message to {peer[0]} on port {peer[1]} index {index} "


def is_sdl_head(line: str) -> bool:
    return _SDL_HEAD.match(line) is not None


_BEARER = re.compile(r'(?i)(Bearer\s+token=")[^"]*(")|(Bearer\s+)(?!token=|realm=)([A-Za-z0-9\-._~+/]+=*)')


def conceal(text: str) -> str:
    """No token in any log: ``Bearer token="…"`` keeps its shape with the value ``<CONCEALED>``."""
    if "earer" not in text:
        return text

    def repl(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)}<CONCEALED>{match.group(2)}"
        return f"{match.group(3)}<CONCEALED>"

    return _BEARER.sub(repl, text)
