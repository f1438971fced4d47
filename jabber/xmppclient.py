"""Jabber's XMPP connection through the edge: the shell that drives :func:`jabber.xmppflow.xmpp_login` on a socket.

The client goes where ``get_edge_config`` told it: ``xmppEdgeServer`` (Expressway-E, 5222), found through the lab's
resolver like every other name. On the credential path it first logs in to EPAS (``/EPASSoap/service/v80`` on the
``_cuplogin`` IM&P node, through the edge as proxied HTTP) for the one-time password ``CISCO-VTG-TOKEN`` needs. Once
bound, the :class:`XmppConnection` stays open for messages and presence until closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field

from common.basic import basic_header
from common.dial import open_connection
from common.domain import ProxyDescriptor
from common.hop import HopError
from common.resolver import NameError_
from common.serve import tls_reason
from common.streamserve import LinkReader, close_writers
from common.xmpp import stanzas
from common.xmpp.epas import CONTENT_TYPE, PATH, EpasError, LoginRequest, LoginResponse
from common.xmpp.stream import CLOSE, StreamError
from jabber import points
from jabber.client import JabberClient
from jabber.flow import Outcome
from jabber.xmppflow import XmppCredentials, XmppOutcome, xmpp_login


@dataclass
class XmppStepRecord:
    name: str
    detail: str
    ok: bool
    elapsed_ms: float


@dataclass
class XmppConnection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    link: LinkReader
    jid: str
    records: list[XmppStepRecord] = field(default_factory=list)

    def send_message(self, to: str, body: str) -> None:
        self.writer.write(stanzas.message(to, body))

    async def next_message(self, timeout: float = 10.0) -> tuple[str, str]:
        """``(from, body)`` of the next chat message; presence and other stanzas are skipped."""
        while True:
            stanza = await self.link.stanza(timeout)
            if stanza.local == "message":
                return stanza.element.get("from", ""), stanza.element.findtext("{jabber:client}body") or ""

    async def close(self) -> None:
        """Say </stream:stream> and close; closing flushes it, and gives up on a server that stopped reading."""
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            self.writer.write(CLOSE)
        await close_writers([self.writer])


async def epas_otp(client: JabberClient, outcome: Outcome) -> str:
    """The one-time password from EPAS through the edge, for CISCO-VTG-TOKEN; '' if none could be had."""
    config = outcome.edge_config
    imp = config.service("_cuplogin") if config else None
    if config is None or imp is None or not imp.servers or not config.http_edge:
        return ""
    edge = config.http_edge[0]
    host = imp.servers[0]
    descriptor = ProxyDescriptor(client.lab.domain, "https", host.address, host.port).encode()
    url = f"{client.lab.edge.listener.scheme}://{edge.address}:{edge.port}/{descriptor}{PATH}"
    body = LoginRequest(client.userid, "Jabber", client.lab.jabber.version).to_xml()
    try:
        async with client.hop() as hop:
            reply = await hop.request("POST", url, data=body, headers={
                "Content-Type": CONTENT_TYPE, "Authorization": basic_header(client.userid, client.password)})
        otp = LoginResponse.from_xml(reply.body).session_key
    except (HopError, EpasError) as exc:
        client.log.write("ERROR", points.EPAS, f"EPAS login failed: {exc}")
        return ""
    client.log.write("INFO", points.EPAS, f"EPAS login succeeded on {host.address}: one-time password received")
    return otp


async def secure(client: JabberClient, writer: asyncio.StreamWriter) -> None:
    """STARTTLS accepted: the handshake, checking E's certificate for the XMPP domain (RFC 6120 §13.7.2.1)."""
    tls = client.resolver.tls
    context = tls.client_context("jabber") if tls else None
    if context:
        await writer.start_tls(context, server_hostname=client.lab.domain)  # type: ignore[arg-type]


async def connect_xmpp(client: JabberClient, outcome: Outcome, resource: str = "jabber_1", presence: bool = True
                       ) -> tuple[XmppOutcome, XmppConnection | None]:
    """Sign in over XMPP after a successful HTTP login; the connection is returned open when it worked
    (``presence`` False: without announcing available presence, as benchmarks/xmppsessions.py signs in)."""
    config = outcome.edge_config
    if config is None or not config.xmpp_edge:
        return XmppOutcome(False, failed_step="xmpp", reason="no xmppEdgeServer in the edge config"), None
    server = config.xmpp_edge[0]
    otp = "" if outcome.access_token else await epas_otp(client, outcome)
    creds = XmppCredentials(client.userid, client.lab.domain, outcome.access_token, otp, client.password, resource,
                            presence)
    records: list[XmppStepRecord] = []
    try:
        reader, writer = await open_connection(client.resolver, server.address, server.port, source="jabber",
                                               local_addr=(client.lab.jabber.address, 0), view="public")
    except (OSError, NameError_) as exc:
        return XmppOutcome(False, failed_step="xmpp", reason=f"cannot reach {server.address}:{server.port}: {exc}"), None
    link = LinkReader(reader)
    flow = xmpp_login(creds, client.log)
    step = next(flow)
    try:
        while True:
            started = time.perf_counter()
            if step.tls:
                await secure(client, writer)
            if step.restart:
                link.stream.reset()
            writer.write(step.send)
            await writer.drain()
            if step.expect:
                stanza = await link.stanza(timeout=20)
                records.append(XmppStepRecord(step.name, f"{server.address}:{server.port}", True,
                                              (time.perf_counter() - started) * 1000))
                step = flow.send(stanza)
            else:
                records.append(XmppStepRecord(step.name, f"{server.address}:{server.port}", True, 0.0))
                step = next(flow)
    except StopIteration as done:
        result: XmppOutcome = done.value
    except (ConnectionError, TimeoutError, StreamError) as exc:
        flow.close()
        result = XmppOutcome(False, failed_step=step.name, reason=f"XMPP stream ended: {exc}")
    except ssl.SSLError as exc:
        flow.close()
        client.log.write("ERROR", points.CERT, f"Certificate verification of {server.address} for identity "
                                               f"'{client.lab.domain}' failed: {tls_reason(exc)}")
        result = XmppOutcome(False, failed_step="starttls", reason=f"TLS handshake failed: {tls_reason(exc)}")
    if records and not result.ok:
        records[-1].ok = False
    connection = XmppConnection(reader, writer, link, result.jid, records)
    if not result.ok:
        await connection.close()
        return result, None
    return result, connection
