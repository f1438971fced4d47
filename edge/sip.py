"""Expressway-E's SIP side: the client port (5061, TLS) and the server end of the Unified Communications traversal
zone (7001, TLS), which Expressway-C dials and keeps alive with OPTIONS (mra-facts section 11).

E never dials inward. A REGISTER from Jabber goes to C over the zone connection C opened; C's answer comes back on it
and is relayed to the client connection it belongs to (by the branch of E's own Via, RFC 3261 §16.7).

* The zone authenticates C with Digest: E challenges an OPTIONS without valid credentials ``401`` with
  ``WWW-Authenticate: Digest realm="TraversalZone"``; only an authenticated connection carries traffic. Each failure is
  logged and counted by intrusion protection (category ``sip-auth``).
* A request for a domain that is not a SIP domain is refused ``403 Forbidden``. Without an active zone E answers
  ``503 Service Unavailable`` (modelled: the traversal search has no target).
* Malformed input gets RFC 3261's answer (:mod:`common.sip.message`): ``400``/``505``/``513`` when a response can be
  built, a silent drop otherwise, and a close when the framing is lost; each one is logged.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from common.clock import LabClock
from common.config import Lab
from common.logformats.expressway import FAIL2BAN, TVCS_EVENT
from common.nodelog import ExpresswayLog
from common.resolver import LabResolver
from common.sip import auth, proxy, trace
from common.sip.link import SipLink, SipServer, serve_sip
from common.sip.message import NameAddr, SipError, SipMessage, lenient, response_to, uri_host
from common.zone import ACTIVE, FAILED, SIP, ZoneStatus
from edge.intrusion import IntrusionProtection

REALM = "TraversalZone"


@dataclass
class ZoneEnd:
    """E's view of the traversal zone: the authenticated connection from C, if any, and why not."""

    link: SipLink | None = None
    status: str = "Failed"
    reason: str = "No connection from the traversal client"
    nonces: dict[int, str] = field(default_factory=dict)


@dataclass
class EdgeSip:
    lab: Lab
    log: ExpresswayLog
    clock: LabClock
    zone: ZoneEnd
    protection: IntrusionProtection
    pending: dict[str, tuple[SipLink, SipMessage]] = field(default_factory=dict)
    servers: list[SipServer] = field(default_factory=list)
    user_agent: str = "TANDBERG/4352 (X14.2.5)"
    status_page: ZoneStatus | None = None

    @property
    def zone_name(self) -> str:
        return self.lab.edge.zone_name

    def zone_state(self, link: SipLink | None, status: str, reason: str) -> None:
        self.zone.link, self.zone.status, self.zone.reason = link, status, reason
        if self.status_page is not None:
            self.status_page.set(SIP, ACTIVE if status == "Active" else FAILED, reason,
                                 connections=1 if link is not None else 0,
                                 since=self.clock.now().isoformat(timespec="seconds"))

    @property
    def host(self) -> str:
        return self.lab.edge.listener.host

    def event(self, level: str, fields: dict[str, object]) -> None:
        self.log.write(TVCS_EVENT, level, fields)

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()

    # --- the client side ---------------------------------------------------------------------------------------

    async def client(self, link: SipLink) -> None:
        async for message in self.messages(link, blockable=True):
            if message.is_request:
                await self.from_client(link, message)

    async def messages(self, link: SipLink, blockable: bool = False) -> AsyncIterator[SipMessage]:
        """The SIP messages on ``link``, each traced as received: keep-alive pings are answered, malformed frames get
        their RFC 3261 answer (and end the link when the framing is lost); a client address that intrusion protection
        blocks (``blockable``) has its connection dropped."""
        while (frame := await link.next()) is not None:
            address = link.remote[0]
            until = (self.protection.blocked_until(address, self.clock.timestamp())
                     if blockable and self.protection.blocking else None)
            if until is not None:
                self.log.write(FAIL2BAN, "INFO", {"Event": "Connection dropped", "Category": "sip-auth",
                                                  "Src-ip": address})
                link.close()
                return
            if frame.ping:
                await link.pong()
                continue
            if frame.message is None:
                await self.malformed(link, frame.raw, frame.error)
                if frame.fatal:
                    return
                continue
            trace.expressway(self.log, frame.message, True, link.local, link.remote)
            yield frame.message

    async def malformed(self, link: SipLink, raw: bytes, error: object) -> None:
        reason = error.reason if isinstance(error, SipError) else str(error)
        answer = isinstance(error, SipError) and error.answerable
        self.event("INFO", {"Event": "Bad SIP Message", "Src-ip": link.remote[0],
                            "Src-port": link.remote[1], "Detail": reason,
                            "Action": "Response sent" if answer else "Dropped"})
        if self.protection.failure(link.remote[0], self.clock.timestamp()):
            self.intrusion(link.remote[0])
        if answer and isinstance(error, SipError):
            request = lenient(raw)
            if request is not None:
                reply = response_to(request, error.status, extra=[("Warning", f'399 {self.host} "{reason[:80]}"')])
                trace.expressway(self.log, reply, False, link.local, link.remote)
                await link.send(reply)

    def intrusion(self, address: str) -> None:
        self.log.write(FAIL2BAN, "WARN", {"Event": "Intrusion detected", "Category": "sip-auth", "Src-ip": address,
                                          "Detail": f"more than {self.protection.trigger} SIP failures in "
                                                    f"{int(self.protection.window)}s; address blocked",
                                          "Duration": f"{int(self.protection.block)}s"})

    async def from_client(self, link: SipLink, req: SipMessage) -> None:
        domain = uri_host(NameAddr.parse(req.get("To", "") or "").uri) or uri_host(req.uri)
        if req.method in ("REGISTER", "INVITE", "SUBSCRIBE", "MESSAGE") and not sip_domain(domain,
                                                                                          self.lab.sip.sip_domains):
            self.event("INFO", {"Event": "Request Rejected", "Src-ip": link.remote[0],
                                "Method": req.method, "Reason": f"Domain {domain} is not a SIP domain"})
            return await self.answer(link, response_to(req, 403, to_tag=proxy.new_tag()))
        zone = self.zone.link
        if zone is None:
            self.event("INFO", {"Event": "Search Failed", "Zone": self.zone_name,
                                "Reason": f"Traversal zone {self.zone.status}: {self.zone.reason}"})
            return await self.answer(link, response_to(req, 503, to_tag=proxy.new_tag()))
        try:
            out = proxy.forwarded(req.replace_header("Route", None), f"{self.host}:{self.lab.sip.zone.port}",
                                  branch := proxy.new_branch(), received=link.remote,
                                  extra=f";egress-zone={self.zone_name.replace(' ', '')}")
        except ValueError:
            return await self.answer(link, response_to(req, 483))
        self.pending[branch] = (link, req)
        trace.expressway(self.log, out, False, zone.local, zone.remote)
        await zone.send(out)

    async def answer(self, link: SipLink, reply: SipMessage) -> None:
        trace.expressway(self.log, reply, False, link.local, link.remote)
        await link.send(reply)

    # --- the traversal zone ------------------------------------------------------------------------------------

    async def zone_link(self, link: SipLink) -> None:
        self.event("INFO", {"Event": "TLS Negotiation Succeeded", "Src-ip": link.remote[0],
                            "Src-port": link.remote[1], "Zone": self.zone_name})
        try:
            async for message in self.messages(link):
                if message.is_request:
                    await self.zone_request(link, message)
                elif link is self.zone.link:
                    await self.zone_response(message)
        finally:
            if self.zone.link is link:
                self.zone_state(None, "Failed", "Connection closed by peer")
                self.event("WARN", {"Event": "Zone Down", "Zone": self.zone_name, "Detail": "traversal client disconnected"})

    async def zone_request(self, link: SipLink, req: SipMessage) -> None:
        """OPTIONS from C: the keep-alive and the zone's authentication."""
        if req.method != "OPTIONS":
            return await self.answer(link, response_to(req, 403 if link is not self.zone.link else 405,
                                                       to_tag=proxy.new_tag()))
        nonce = self.zone.nonces.get(id(link))
        edge = self.lab.edge
        given = req.get("Authorization")
        if nonce is None or not auth.check_digest(given, "OPTIONS", edge.traversal_username,
                                                  edge.traversal_password, nonce):
            if given is not None:
                self.event("WARN", {"Event": "Authentication Failed", "Service": "SIP", "Zone": self.zone_name,
                                    "Src-ip": link.remote[0], "Auth-username": edge.traversal_username,
                                    "Detail": "Invalid username or password for the traversal zone"})
                if self.protection.failure(link.remote[0], self.clock.timestamp()):
                    self.intrusion(link.remote[0])
            nonce = self.zone.nonces[id(link)] = secrets.token_hex(24)
            return await self.answer(link, response_to(req, 401, to_tag=proxy.new_tag(), extra=[
                ("WWW-Authenticate", auth.digest_challenge(REALM, nonce)), ("Server", self.user_agent)]))
        if self.zone.link is not link:
            self.zone_state(link, "Active", "")
            self.event("INFO", {"Event": "Zone Active", "Zone": self.zone_name, "Src-ip": link.remote[0],
                                "Detail": "traversal client authenticated"})
        await self.answer(link, response_to(req, 200, to_tag=proxy.new_tag(), extra=[("Server", self.user_agent)]))

    async def zone_response(self, resp: SipMessage) -> None:
        branch = proxy.top_branch(resp)
        pending = self.pending.get(branch)
        if pending is None:
            self.event("INFO", {"Event": "Response Dropped",
                                "Detail": f"no transaction for branch {branch}"})
            return
        client, _ = pending
        if resp.status >= 200:
            del self.pending[branch]
        if resp.status in (401, 407) and self.protection.failure(client.remote[0], self.clock.timestamp()):
            self.intrusion(client.remote[0])
        out = proxy.popped(resp)
        trace.expressway(self.log, out, False, client.local, client.remote)
        await client.send(out)


def sip_domain(host: str, domains: tuple[str, ...]) -> bool:
    """Whether ``host`` is one of the SIP domains or a host in one (``cucm.lab.example`` in ``lab.example``)."""
    return any(host == d or host.endswith("." + d) for d in domains)


async def start_edge_sip(lab: Lab, clock: LabClock, log: ExpresswayLog, resolver: LabResolver,
                         status_page: ZoneStatus | None = None) -> EdgeSip:
    """E's SIP listeners with the lab PKI's contexts (:meth:`common.tls.LabTls.sip_server_context`): 5061 presents E's
    certificate, 7001 asks C for its own; a plain-TCP lab (``[tls] enabled = false``) speaks SIP over TCP."""
    config = lab.edge
    tls = resolver.tls
    sip = EdgeSip(lab, log, clock, ZoneEnd(),
                  IntrusionProtection(config.intrusion_trigger, config.intrusion_window, config.intrusion_block),
                  status_page=status_page)
    if status_page is not None:
        status_page.link(SIP, lab.sip.zone.port)

    def failed(where: str):  # noqa: ANN202 - a small closure
        def note(local: tuple[str, int], remote: tuple[str, int], reason: str) -> None:
            log.write(TVCS_EVENT, "WARN", {"Event": "TLS Negotiation Failed",
                                     "Src-ip": remote[0], "Src-port": remote[1], "Dst-port": local[1],
                                     "Detail": reason, "Zone": where})
        return note

    client = await serve_sip(lab.sip.edge, tls.sip_server_context("expressway-e:sip") if tls else None,
                              sip.client, failed("DefaultZone"))
    resolver.bind(lab.sip.edge, client.port)
    zone = await serve_sip(lab.sip.zone, tls.sip_server_context("expressway-e:zone") if tls else None,
                            sip.zone_link, failed(lab.edge.zone_name))
    resolver.bind(lab.sip.zone, zone.port)
    sip.servers = [client, zone]
    return sip
