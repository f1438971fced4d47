"""IM&P's auth component on the XCP link from Expressway-C's router, sans-IO.

Expressway-C's XCP router reaches IM&P over TCP 7400 (mra-facts §1, §7). On that link this component answers the two
``xdb`` packets of the seed (:mod:`common.xmpp.xcp`):

* ``get`` — "which SASL mechanisms do you support for this JID?": the mechanisms of :class:`ImpAuthenticator` and the
  host names of the cluster's IM&P nodes (``<hostname xmlns='urn:xmpp:domain-based-name:0'>``), exactly as the seed's
  answer lists them;
* ``set`` carrying the client's ``<auth>`` — verified with the same authenticator as the client port, answered with a
  ``result`` holding ``<success/>`` or ``<failure/>`` (*modelled*).

The link is shared by every session (:mod:`common.xmpp.xcpsession`). After a success the session's packets carry the
client's own restarted stream; :class:`Authenticated` tells the shell to start a
:class:`~presence.session.ClientSession` for that session id (the ``xdb``'s ``id``), in its ``restart`` state.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.xmpp.sasl import SaslFailure
from common.xmpp.stanzas import Jid
from common.xmpp.stream import Stanza, StreamClosed, StreamError, StreamOpened, StreamReader
from common.xmpp.xcp import Route, Xdb, concealed, link_header, read_packet, wire
from presence.auth import ImpAuthenticator
from presence.session import Action, Close, Log, Send


@dataclass(frozen=True)
class Authenticated:
    jid: Jid
    sid: str = ""


class AuthComponent:
    def __init__(self, domain: str, component: str, hostnames: tuple[str, ...], auth: ImpAuthenticator) -> None:
        self.domain, self.component, self.hostnames, self.auth = domain, component, hostnames, auth
        self.reader = StreamReader()

    def receive(self, data: bytes) -> list[Action | Authenticated]:
        actions: list[Action | Authenticated] = []
        try:
            for event in self.reader.feed(data):
                if isinstance(event, StreamOpened):
                    actions.append(Send(link_header(event.get("from"), self.component)))
                elif isinstance(event, StreamClosed):
                    actions += [Send(b"</stream:stream>"), Close("link closed by router")]
                else:
                    actions += self.packet(event)
                if any(isinstance(a, (Close, Authenticated)) for a in actions):
                    break
        except StreamError as exc:
            actions += [Log("WARN", f"XCP link error {exc.condition}: {exc.text}"), Send(exc.wire()),
                        Close(exc.condition)]
        return actions

    def packet(self, stanza: Stanza) -> list[Action | Authenticated]:
        """One packet read off the link: the ``xdb`` get or set, answered."""
        try:
            packet = read_packet(stanza.element)
        except SaslFailure as exc:
            return [Log("WARN", f"auth component: undecodable <auth>: {exc.condition}"),
                    *self._refuse(stanza, exc)]
        except ValueError as exc:
            error = StreamError("invalid-xml", str(exc))
            return [Log("WARN", f"XCP link error invalid-xml: {exc}"), Send(error.wire()), Close(error.condition)]
        xdb = packet.packet if isinstance(packet, Route) else packet
        actions: list[Action | Authenticated] = [Log("DEBUG", f"auth component received {concealed(packet)}")]
        if xdb.type == "get":
            answer = xdb.answer(mechanisms=self.auth.mechanisms(), hostnames=self.hostnames)
            return [*actions, Send(wire(answer))]
        if xdb.type == "set" and xdb.auth is not None:
            try:
                jid = self.auth.verify(xdb.auth, xdb.jid)
            except SaslFailure as exc:
                actions.append(Log("WARN", f"SASL {xdb.auth.mechanism} via XCP failed: {exc.condition} ({exc.text})"))
                return [*actions, Send(wire(Xdb(self.domain, xdb.id, xdb.from_, "result", failure=exc)))]
            actions.append(Log("INFO", f"SASL {xdb.auth.mechanism} via XCP succeeded for {jid}"))
            return [*actions, Send(wire(Xdb(self.domain, xdb.id, xdb.from_, "result", success=True))),
                    Authenticated(jid, xdb.id)]
        return [*actions, Send(wire(Xdb(self.domain, xdb.id, xdb.from_, "result",
                                        failure=SaslFailure("malformed-request", "xdb without a query"))))]

    def _refuse(self, stanza: Stanza, failure: SaslFailure) -> list[Action | Authenticated]:
        inner = stanza.element if stanza.local == "xdb" else next(iter(stanza.element), stanza.element)
        answer = Xdb(self.domain, inner.get("id", ""), inner.get("from", ""), "result", failure=failure)
        return [Send(wire(answer))]
