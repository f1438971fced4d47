"""Jabber's XMPP sign-in as a generator of steps, free of sockets (STYLE: httpx auth flows, h11).

After ``get_edge_config`` Jabber connects to the ``xmppEdgeServer`` and signs in to IM&P through the edge. The choice
of SASL mechanism is Jabber's (gloox ``CTriClient::HandleStreamFeatures``, seed article): with an OAuth access token
("SASL token empty:0") it uses ``OAUTHBEARER`` and nothing else; without one (the credential path) it uses
``CISCO-VTG-TOKEN`` with the one-time password from EPAS, or ``PLAIN``. When the features offer nothing it can use it
logs ``SASL mechanism:`` empty and gives up with the seed's error, "The server doesn't offer any SASL authentication
mechanism that we can support" — which is exactly what a stale ``OAuthLocal: Off`` on Expressway-C produces.

:func:`xmpp_login` yields :class:`XmppStep` (bytes to send; whether to wait for the next stanza; whether the stream
restarts first) and receives the next stanza; it returns :class:`XmppOutcome`. Every received element is logged as
``@XmppSDK: #0, <bytes>, Recv:<xml>`` the way gloox prints it (double quotes, own namespace declarations).
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from dataclasses import dataclass

from lxml import etree

from common.nodelog import CsfLog
from common.xmpp import sasl, stanzas
from common.xmpp.sasl import Auth, SaslFailure
from common.xmpp.stream import Stanza, header
from common.xmpp.xml import CLIENT, SASL, STREAMS, TLS, render
from jabber import points

SDK = "@XmppSDK: #0, "
NO_MECHANISM = "The server doesn't offer any SASL authentication mechanism that we can support"


@dataclass(frozen=True)
class XmppCredentials:
    userid: str
    domain: str
    access_token: str = ""
    otp: str = ""
    password: str = ""
    resource: str = "jabber_1"
    presence: bool = True  # False: sign in without announcing presence (a benchmark of idle sessions)

    @property
    def bare(self) -> str:
        return f"{self.userid}@{self.domain}"


@dataclass(frozen=True)
class XmppStep:
    name: str
    send: bytes
    expect: bool = True
    restart: bool = False
    tls: bool = False  # run the TLS handshake (STARTTLS was accepted) before sending


@dataclass(frozen=True)
class XmppOutcome:
    ok: bool
    mechanism: str = ""
    offered: tuple[str, ...] = ()
    jid: str = ""
    failed_step: str = ""
    reason: str = ""


XmppFlow = Generator[XmppStep, Stanza, XmppOutcome]


def choose(offered: tuple[str, ...], creds: XmppCredentials) -> str:
    """Jabber's pick: OAuth means OAUTHBEARER or nothing; credentials mean CISCO-VTG-TOKEN, then PLAIN."""
    if creds.access_token:
        return sasl.OAUTHBEARER if sasl.OAUTHBEARER in offered else ""
    if creds.otp and sasl.VTG_TOKEN in offered:
        return sasl.VTG_TOKEN
    return sasl.PLAIN if creds.password and sasl.PLAIN in offered else ""


def initial_response(mechanism: str, creds: XmppCredentials) -> bytes:
    if mechanism == sasl.OAUTHBEARER:
        return sasl.oauthbearer_response(creds.bare, creds.access_token)
    if mechanism == sasl.VTG_TOKEN:
        return sasl.vtg_response(creds.userid, creds.domain, creds.otp)
    return sasl.plain_response(creds.userid, creds.password)


def gloox_text(node: etree._Element) -> str:
    """The element as gloox re-serializes it for its log: double quotes, only the namespaces it uses."""
    if etree.QName(node).namespace == STREAMS:
        shown = copy.deepcopy(node)
        etree.cleanup_namespaces(shown)
        return etree.tostring(shown, encoding="unicode")
    return etree.tostring(etree.fromstring(render(node, CLIENT)), encoding="unicode")


def _condition(stanza: Stanza) -> str:
    """`` (resource-constraint)`` for a stream error (RFC 6120 §4.9.3), so a caller can tell "come back later"."""
    if stanza.local != "error" or not len(stanza.element):
        return ""
    return f" ({etree.QName(stanza.element[0]).localname})"


def xmpp_login(creds: XmppCredentials, log: CsfLog) -> XmppFlow:
    opening = header(creds.domain, creds.bare, "").encode()
    stanza = yield XmppStep("stream", opening)
    features = _received(stanza, log)
    if features.local != "features":
        return _fail(log, "stream", f"expected stream features, got <{features.local}>{_condition(features)}")
    if features.element.find(f"{{{TLS}}}starttls") is not None:
        log.write("INFO", points.XMPP_SEND, f"{SDK}Send:<starttls xmlns=\"{TLS}\"/>")
        stanza = yield XmppStep("starttls", stanzas.STARTTLS)
        if _received(stanza, log).local != "proceed":
            return _fail(log, "starttls", "the server refused STARTTLS")
        stanza = yield XmppStep("stream", opening, restart=True, tls=True)
        features = _received(stanza, log)
        if features.local != "features":
            return _fail(log, "stream", f"expected stream features, got <{features.local}>")
    offered = sasl.read_mechanisms(features.element)
    log.write("INFO", points.SASL_TOKEN, f"{SDK}SASL token empty:{0 if creds.access_token else 1}")
    mechanism = choose(offered, creds)
    log.write("INFO", points.SASL_MECHANISM, f"{SDK}SASL mechanism:{mechanism}")
    if not mechanism:
        log.write("ERROR", points.NO_MECHANISM, f"{SDK}{NO_MECHANISM}")
        return XmppOutcome(False, "", offered, failed_step="sasl", reason=NO_MECHANISM)
    auth = Auth(mechanism, initial_response(mechanism, creds))
    log.write("INFO", points.XMPP_SEND, f"{SDK}Send:{gloox_text(auth.element(hidden=True))}")
    stanza = yield XmppStep("sasl", auth.wire())
    answer = _received(stanza, log)
    if answer.namespace != SASL or answer.local != "success":
        failure = SaslFailure.from_element(answer.element) if answer.local == "failure" else None
        reason = f"SASL {mechanism} failed: {failure.condition if failure else answer.local}"
        return _fail(log, "sasl", reason, mechanism, offered)
    stanza = yield XmppStep("stream restart", header(creds.domain, creds.bare, "").encode(), restart=True)
    if _received(stanza, log).local != "features":
        return _fail(log, "bind", "no stream features after authentication", mechanism, offered)
    stanza = yield XmppStep("bind", stanzas.bind_request("bind_1", creds.resource))
    bound = _received(stanza, log)
    jid = stanzas.read_bound_jid(bound.element)
    if bound.element.get("type") != "result" or not jid:
        code, _, condition = stanzas.read_error(bound.element)
        return _fail(log, "bind", f"resource binding refused: {code} {condition}".strip(), mechanism, offered)
    if creds.presence:
        yield XmppStep("presence", stanzas.presence(show="", status="Available"), expect=False)
    log.write("INFO", points.XMPP_STATE, f"XMPP connection state: Connected as {jid} (SASL {mechanism})")
    return XmppOutcome(True, mechanism, offered, jid)


def _received(stanza: Stanza, log: CsfLog) -> Stanza:
    text = gloox_text(stanza.element)
    log.write("INFO", points.XMPP_RECV, f"{SDK}{len(text.encode())}, Recv:{text}")
    return stanza


def _fail(log: CsfLog, step: str, reason: str, mechanism: str = "", offered: tuple[str, ...] = ()) -> XmppOutcome:
    log.write("ERROR", points.XMPP_STATE, f"XMPP connection state: Disconnected ({reason})")
    return XmppOutcome(False, mechanism, offered, failed_step=step, reason=reason)
