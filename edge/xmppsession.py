"""Expressway-E's XMPP connection manager for one client, sans-IO (RFC 6120 §4, §6; the seed's ``cm-1_jsmcp-1``).

Expressway-E authorizes nothing: it opens the client's stream, asks Expressway-C which SASL mechanisms to offer, carries
the client's ``<auth>`` to C, and after ``<success/>`` relays the restarted stream as it is. What it does decide is
whether the client speaks XMPP at all: a malformed or oversized stream, a stanza before authentication, or a stream
for a domain that is not configured for MRA ends with the stream error that says so, before anything reaches C.

:meth:`EdgeSession.receive` takes client bytes and returns commands (mitmproxy style) the shell carries out —
:class:`AskMechanisms` and :class:`Authenticate` go to C over the XCP link, :class:`ToClient` and :class:`ToCore`
write bytes, :class:`Note` logs, :class:`Hangup` closes. The shell calls back :meth:`mechanisms` and
:meth:`auth_result` with C's answers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from common.xmpp import stanzas
from common.xmpp.sasl import SUCCESS, Auth, SaslFailure
from common.xmpp.stanzas import Jid
from common.xmpp.stream import Stanza, StreamClosed, StreamError, StreamOpened, StreamReader, header
from common.xmpp.xcp import Xdb
from common.xmpp.xml import CLIENT, SASL, TLS

MAX_AUTH_ATTEMPTS = 3


@dataclass(frozen=True)
class AskMechanisms:
    query: Xdb


@dataclass(frozen=True)
class Authenticate:
    packet: Xdb


@dataclass(frozen=True)
class ToClient:
    data: bytes


@dataclass(frozen=True)
class ToCore:
    data: bytes


@dataclass(frozen=True)
class Note:
    level: str
    detail: str


@dataclass(frozen=True)
class Hangup:
    reason: str


@dataclass(frozen=True)
class StartTls:
    """``<proceed/>`` was written: the shell runs the TLS handshake now, then the client restarts its stream."""


Command = AskMechanisms | Authenticate | ToClient | ToCore | Note | Hangup | StartTls


class EdgeSession:
    _ids = itertools.count(10392)

    def __init__(self, domains: tuple[str, ...], cm: str, max_stanza: int = 65536, tls: bool = False,
                 refuse: str = "") -> None:
        """``tls``: STARTTLS is required before anything else (RFC 6120 §5), as on Expressway-E's 5222.
        ``refuse``: E is over its XMPP bound (why): the stream is answered with ``resource-constraint``."""
        self.domains, self.cm, self.refuse = domains, cm, refuse
        self.secured = not tls
        self.reader = StreamReader(max_stanza, release_idle=True)  # no parser held between stanzas
        self.state = "header"
        self.domain = self.jid = ""
        self.txn = f"jtx_{next(self._ids)}"
        self.failures = 0
        self._ours = ""
        self._header_sent = False

    def receive(self, data: bytes) -> list[Command]:
        if self.state in ("relay", "closing"):
            try:
                if any(isinstance(e, StreamClosed) for e in self.reader.feed(data)):
                    self.state = "closing"
            except StreamError as exc:
                return self.fail(exc)
            return [ToCore(data)]
        commands: list[Command] = []
        try:
            for event in self.reader.feed(data):
                commands.extend(self._event(event))
                if any(isinstance(c, Hangup) for c in commands):
                    break
        except StreamError as exc:
            commands.extend(self.fail(exc))
        return commands

    def _event(self, event: StreamOpened | Stanza | StreamClosed) -> list[Command]:
        if isinstance(event, StreamClosed):
            self.state = "closed"
            return [ToClient(b"</stream:stream>"), Hangup("client closed the stream")]
        if isinstance(event, StreamOpened):
            return self._opened(event)
        if self.state == "starttls":
            if event.namespace != TLS or event.local != "starttls":
                return self.fail(StreamError("policy-violation", f"<{event.local}> before STARTTLS"))
            self.state, self.secured, self._header_sent = "header", True, False
            self.reader.reset()
            return [ToClient(stanzas.PROCEED), StartTls()]
        if self.state != "sasl" or event.namespace != SASL or event.local != "auth":
            return self.fail(StreamError("not-authorized", f"<{event.local}> before authentication"))
        try:
            auth = Auth.from_element(event.element)
        except SaslFailure as exc:
            return self._failed(exc)
        self.state = "authenticating"
        return [Authenticate(Xdb(self.cm, self.txn, self.domain, "set", auth=auth))]

    def _opened(self, event: StreamOpened) -> list[Command]:
        self.domain = (event.get("to") or "").lower()
        self._ours = header("", self.domain, self.txn)
        if self.refuse:  # RFC 6120 §4.9.3.17, before any work is spent on the stream
            return self.fail(StreamError("resource-constraint", self.refuse))
        if self.state != "header":
            return self.fail(StreamError("not-well-formed", "unexpected stream header"))
        if event.default_ns != CLIENT:
            return self.fail(StreamError("invalid-namespace", f"default namespace {event.default_ns!r}"))
        if self.domain not in self.domains:
            return self.fail(StreamError("host-unknown", f"{self.domain or 'no domain'} is not configured for MRA"))
        claimed = event.get("from")
        try:
            self.jid = Jid.parse(claimed).bare if claimed else self.domain
        except ValueError:
            return self.fail(StreamError("invalid-from", f"{claimed!r} is not a JID"))
        if not self.secured:
            self.state, self._header_sent = "starttls", True
            return [ToClient(self._ours.encode() + stanzas.starttls_features())]
        self.state = "asking"
        return [AskMechanisms(Xdb(self.cm, self.txn, self.domain, "get", jid=self.jid))]

    def mechanisms(self, offered: tuple[str, ...]) -> list[Command]:
        """C's filtered list: the stream header and features go to the client (RFC 6120 §4.3.2, §6.4.1)."""
        self.state, self._header_sent = "sasl", True
        return [ToClient(self._ours.encode() + stanzas.sasl_features(offered)),
                Note("DEBUG", f"Offering SASL mechanisms to {self.jid}: {', '.join(offered) or 'none'}")]

    def auth_result(self, result: Xdb) -> list[Command]:
        if result.success:
            self.state = "relay"
            self.reader.reset()
            return [ToClient(SUCCESS), Note("INFO", f"SASL authentication succeeded for {self.jid}")]
        self.state = "sasl"
        return self._failed(result.failure or SaslFailure("not-authorized"))

    def _failed(self, failure: SaslFailure) -> list[Command]:
        self.failures += 1
        commands: list[Command] = [ToClient(failure.wire()),
                                   Note("INFO", f"SASL authentication failed for {self.jid}: {failure.condition}")]
        if self.failures >= MAX_AUTH_ATTEMPTS:
            commands += self.fail(StreamError("policy-violation", "too many failed authentications"))
        return commands

    def fail(self, error: StreamError) -> list[Command]:
        """End the client's stream with ``error`` (our header first if the client has not had it, RFC 6120 §4.9.1.1)."""
        prefix = b"" if self._header_sent else (self._ours or header("", self.domain, self.txn)).encode()
        self._header_sent = True
        self.state = "closed"
        return [Note("ERROR", f"Stream error {error.condition} to client {self.jid or '-'}: {error.text}"),
                ToClient(prefix + error.wire()), Hangup(error.condition)]
