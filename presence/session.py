"""One client stream on IM&P, sans-IO: bytes in, actions out (RFC 6120 §4, §6, §7; RFC 6121 §4, §5).

Theory of operation. :meth:`ClientSession.receive` feeds bytes to a :class:`~common.xmpp.stream.StreamReader` and
moves through the states of an XMPP client stream::

    header ──(stream header)──▶ sasl ──(<success/>, stream reset)──▶ restart ──(stream header)──▶ bind ──▶ bound

and returns :class:`Send`, :class:`Deliver`, :class:`Log` and :class:`Close` actions the node's shell executes. A session
that comes from Expressway-C's XCP router was authenticated there and starts in ``restart``.

Binding, presence and delivery go through the :class:`Hub`, the node's table of bound resources. A full JID that is
already bound is refused with ``409 conflict`` (RFC 6120 §7.7.2.2 lets a server refuse the new binding; the field shows
IM&P doing so, mra-facts §7). The lab has no roster store: every user of the presence domain sees every other user's
presence (*modelled*), except the generated storm users (:mod:`common.stormusers`), whose contact lists are empty, as
a newly provisioned account's are: their presence reaches only their own other resources (RFC 6121 §4.2.2). A shared
contact list of 20,000 storm users could not exist on a real IM&P either, whose Maximum Contact List Size and Maximum
Watchers are 200 each by default (Presence > Settings > Standard Configuration), and it cost the lab N² deliveries.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from collections.abc import Callable
from typing import Generic, TypeVar

from lxml import etree

from common.xmpp import stanzas
from common.xmpp.sasl import SUCCESS, Auth, SaslFailure
from common.xmpp.stanzas import Jid, StanzaError
from common.xmpp.stream import CLOSE, Stanza, StreamClosed, StreamError, StreamOpened, StreamReader, header
from common.xmpp.xml import CLIENT, SASL, element, render
from presence.auth import ImpAuthenticator

T = TypeVar("T")
MAX_AUTH_ATTEMPTS = 3
ROSTER = "jabber:iq:roster"
PING = "urn:xmpp:ping"


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Deliver:
    to: str
    data: bytes


@dataclass(frozen=True)
class Log:
    level: str
    message: str


@dataclass(frozen=True)
class Close:
    reason: str


Action = Send | Deliver | Log | Close


def everyone(bare: str) -> bool:
    return True


@dataclass
class Hub(Generic[T]):
    """Bound resources (full JID → the shell's endpoint), who has sent available presence, and who shares the
    lab's one contact list (``shares(bare JID)``).

    Resources are indexed by bare JID and the sharing ones kept apart, so that binding, a message to a bare JID and a
    presence broadcast cost what they reach, not the number of bound resources (20,000 in a storm).
    """

    shares: Callable[[str], bool] = everyone
    bound: dict[str, T] = field(default_factory=dict)
    available: dict[str, bytes] = field(default_factory=dict)
    resources: dict[str, dict[str, None]] = field(default_factory=dict)
    sharing: dict[str, None] = field(default_factory=dict)

    def bind(self, jid: Jid, endpoint: T) -> bool:
        full = str(jid)
        if full in self.bound:
            return False
        self.bound[full] = endpoint
        self.resources.setdefault(jid.bare, {})[full] = None
        if self.shares(jid.bare):
            self.sharing[full] = None
        return True

    def unbind(self, jid: Jid) -> None:
        full = str(jid)
        self.bound.pop(full, None)
        self.available.pop(full, None)
        self.sharing.pop(full, None)
        same = self.resources.get(jid.bare)
        if same is not None:
            same.pop(full, None)
            if not same:
                del self.resources[jid.bare]

    def targets(self, to: str) -> list[str]:
        """Full JIDs a stanza addressed to ``to`` reaches: that resource, or every resource of a bare JID."""
        if "/" in to:
            return [to] if to in self.bound else []
        return list(self.resources.get(to, ()))

    def watchers(self, jid: Jid) -> list[str]:
        """Who receives ``jid``'s broadcast presence (RFC 6121 §4.2.2, §4.4.2): its own other resources and, when
        it shares the lab's contact list, every other resource on it."""
        me = str(jid)
        own = [full for full in self.resources.get(jid.bare, ()) if full != me]
        if me not in self.sharing:
            return own
        return own + [full for full in self.sharing if full != me and full not in own]


class ClientSession:
    _ids = itertools.count(1)

    def __init__(self, domain: str, auth: ImpAuthenticator, hub: Hub[object], endpoint: object,
                 authenticated: Jid | None = None, max_stanza: int = 65536) -> None:
        self.domain, self.auth, self.hub, self.endpoint = domain, auth, hub, endpoint
        self.reader = StreamReader(max_stanza, release_idle=True)  # no parser held between stanzas
        self.jid: Jid | None = authenticated
        self.state = "restart" if authenticated else "header"
        self.stream_from = ""
        self.failures = 0
        self.number = next(self._ids)
        self._resources = itertools.count(1)

    def receive(self, data: bytes) -> list[Action]:
        actions: list[Action] = []
        try:
            for event in self.reader.feed(data):
                actions.extend(self._event(event))
                if any(isinstance(a, Close) for a in actions):
                    break
        except StreamError as exc:
            actions.extend(self._stream_error(exc))
        return actions

    def connection_lost(self) -> list[Action]:
        """The peer went away; without ``</stream:stream>`` it is an unclosed stream (RFC 6120 §4.4)."""
        actions: list[Action] = []
        if self.state != "closed":
            actions.append(Log("WARN", f"stream {self.number} ended without </stream:stream>"))
        return actions + self._leave()

    def _event(self, event: StreamOpened | Stanza | StreamClosed) -> list[Action]:
        if isinstance(event, StreamClosed):
            self.state = "closed"
            return [Log("INFO", f"stream {self.number} closed by {self.jid or 'peer'}"), Send(CLOSE),
                    *self._leave(), Close("closed by peer")]
        if isinstance(event, StreamOpened):
            return self._opened(event)
        if self.state == "sasl":
            return self._sasl(event)
        if self.state == "bind":
            return self._bind(event)
        if self.state == "bound":
            return self._bound(event)
        return self._stream_error(StreamError("not-authorized", "stanza before authentication"))

    def _opened(self, event: StreamOpened) -> list[Action]:
        ours = header("", self.domain, f"{self.number:08x}")
        if event.default_ns != CLIENT:
            return self._stream_error(StreamError("invalid-namespace", f"default namespace {event.default_ns!r}"),
                                      ours)
        if event.get("to") and event.get("to").lower() != self.domain:
            return self._stream_error(StreamError("host-unknown", f"{event.get('to')} is not served here"), ours)
        if self.state == "header":
            self.stream_from = event.get("from")
            self.state = "sasl"
            features = stanzas.sasl_features(self.auth.mechanisms())
        elif self.state == "restart":
            self.state = "bind"
            features = stanzas.bind_features()
        else:
            return self._stream_error(StreamError("not-well-formed", "unexpected stream header"), ours)
        return [Send(ours.encode() + features)]

    def _sasl(self, stanza: Stanza) -> list[Action]:
        if stanza.namespace != SASL or stanza.local != "auth":
            return self._stream_error(StreamError("not-authorized", f"<{stanza.local}> before authentication"))
        try:
            auth = Auth.from_element(stanza.element)
            jid = self.auth.verify(auth, self.stream_from)
        except SaslFailure as exc:
            self.failures += 1
            actions: list[Action] = [Log("WARN", f"SASL {stanza.element.get('mechanism', '?')} failed: "
                                                 f"{exc.condition} ({exc.text})"), Send(exc.wire())]
            if self.failures >= MAX_AUTH_ATTEMPTS:
                actions += self._stream_error(StreamError("policy-violation", "too many failed authentications"))
            return actions
        self.jid, self.state = jid, "restart"
        self.reader.reset()
        return [Log("INFO", f"SASL {auth.mechanism} succeeded for {jid}"), Send(SUCCESS)]

    def _bind(self, stanza: Stanza) -> list[Action]:
        resource = stanzas.read_bind_request(stanza.element) if stanza.local == "iq" else None
        if resource is None:
            return self._stream_error(StreamError("not-authorized", f"<{stanza.local}> before resource binding"))
        assert self.jid is not None
        full = Jid(self.jid.local, self.jid.domain, resource or f"jabber_{self.number}_{next(self._resources)}")
        if not self.hub.bind(full, self.endpoint):
            return [Log("WARN", f"bind conflict: {full} is already bound (409)"),
                    Send(StanzaError("cancel", "conflict").reply(stanza.element))]
        self.jid, self.state = full, "bound"
        return [Log("INFO", f"bound {full}"), Send(stanzas.bind_result(stanza.element.get("id", ""), full))]

    def _bound(self, stanza: Stanza) -> list[Action]:
        assert self.jid is not None
        node = stanza.element
        if stanza.local == "message":
            to = node.get("to", "")
            targets = self.hub.targets(to)
            if not targets:
                return [Send(StanzaError("cancel", "service-unavailable").reply(node))]
            data = render(stanzas.with_from(node, str(self.jid))).encode()
            return [Log("INFO", f"message {self.jid} -> {to}"), *(Deliver(t, data) for t in targets)]
        if stanza.local == "presence":
            return self._presence(node)
        if stanza.local == "iq":
            return self._iq(node)
        return self._stream_error(StreamError("unsupported-stanza-type", f"<{stanza.local}>"))

    def _presence(self, node: etree._Element) -> list[Action]:
        assert self.jid is not None
        data = render(stanzas.with_from(node, str(self.jid))).encode()
        if node.get("to"):
            return [Deliver(t, data) for t in self.hub.targets(node.get("to", ""))]
        me = str(self.jid)
        others = self.hub.watchers(self.jid)
        first = me not in self.hub.available
        self.hub.available[me] = data
        actions: list[Action] = [Deliver(full, data) for full in others]
        if first:
            actions += [Send(self.hub.available[full]) for full in others if full in self.hub.available]
        return actions

    def _iq(self, node: etree._Element) -> list[Action]:
        if node.get("type") in ("result", "error"):
            return []
        reply_id = {"id": node.get("id", "")}
        kid = node[0] if len(node) else None
        namespace = etree.QName(kid).namespace if kid is not None else ""
        if namespace == ROSTER and node.get("type") == "get":
            result = element("iq", {"type": "result", **reply_id}, element("query", ns=ROSTER))
            return [Send(render(result).encode())]
        if namespace in (PING, "urn:ietf:params:xml:ns:xmpp-session"):
            return [Send(render(element("iq", {"type": "result", **reply_id})).encode())]
        return [Send(StanzaError("cancel", "service-unavailable").reply(node))]

    def _leave(self) -> list[Action]:
        if self.jid is None or self.state == "left" or str(self.jid) not in self.hub.bound:
            return []
        gone = str(self.jid)
        was_available = gone in self.hub.available
        if self.hub.bound.get(gone) is not self.endpoint:
            return []
        watchers = self.hub.watchers(self.jid)
        self.hub.unbind(self.jid)
        if not was_available:
            return []
        data = stanzas.presence(from_=gone, presence_type="unavailable")
        return [Deliver(full, data) for full in watchers]

    def _stream_error(self, error: StreamError, ours: str = "") -> list[Action]:
        if self.state == "header" and not ours:
            ours = header("", self.domain, f"{self.number:08x}")
        self.state = "closed"
        return [Log("WARN", f"stream {self.number} error {error.condition}: {error.text}"),
                Send(ours.encode() + error.wire()), *self._leave(), Close(error.condition)]
