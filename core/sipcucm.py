"""Expressway-C's automatic zones to CUCM: one per CUCM node found at "Refresh servers", chosen by the REGISTER's
Request-URI.

Jabber addresses its REGISTER to the CUCM node named in its device configuration file (``<callManager>`` of the
``.cnf.xml`` its home cluster's TFTP served), so a user of a second cluster registers with that cluster's node. C
sends it over the node's zone: ``CEOAuth <node>`` to the SIP MRA OAuth port (5091, mutual TLS) with SIP OAuth on,
``CEtls-<node>`` to the secure port 5061 otherwise (MRA deployment guide, "Automatically generated zones and search
rules"; Cisco TAC 215572). C presents its own certificate from the lab PKI and checks CUCM's when its TLS verify mode
for the cluster is On (:meth:`common.tls.LabTls.sip_client_context`).

A Request-URI that names no CUCM node C knows is answered ``404 Not Found`` after a ``Search Failed`` event, and a
node C cannot reach ``503`` with a Warning naming the zone and the reason (both modelled: the Expressway's search
has no target). C's ``Registration Accepted``/``Rejected`` event records each proxied registration's outcome.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from common.config import Lab
from common.logformats.expressway import TVCS_EVENT
from common.nodelog import ExpresswayLog
from common.resolver import LabResolver
from common.sip import proxy, trace
from common.sip.link import SipLink, dial_sip, tls_reason
from common.sip.message import NameAddr, SipMessage, response_to, uri_host

Reply = Callable[[SipMessage], Awaitable[None]]


@dataclass
class CucmZones:
    """C's links to the CUCM nodes (one per node host, dialled on first use) and the requests awaiting an answer."""

    lab: Lab
    log: ExpresswayLog
    resolver: LabResolver
    reply: Reply  # send an answer back over the traversal zone
    spawn: Callable[[object, str], None]
    user_agent: str
    links: dict[str, SipLink] = field(default_factory=dict)
    pending: dict[str, tuple[SipMessage, str]] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.lab.core.listener.host

    def zone_name(self, node: str) -> str:
        oauth = self.lab.sip.oauth_mode and self.lab.sip.profile_oauth
        return f"CEOAuth {node}" if oauth else f"CEtls-{node}"

    def node_of(self, req: SipMessage) -> str | None:
        """The CUCM node the request is for: its Request-URI's host, when that is a cluster's SIP node."""
        cluster = self.lab.sip_cluster(uri_host(req.uri))
        return cluster.listener.host if cluster is not None else None

    async def forward(self, req: SipMessage) -> None:
        node = self.node_of(req)
        if node is None:
            target = uri_host(req.uri)
            self.log.write(TVCS_EVENT, "INFO", {"Event": "Search Failed", "Method": req.method, "Target": target,
                                                "Reason": "no Unified CM server discovered with that address"})
            answer = response_to(req, 404, to_tag=proxy.new_tag(), extra=[("Server", self.user_agent)])
            self.registration_event(req, answer, f"{target} (no zone)")
            return await self.reply(answer)
        zone = self.zone_name(node)
        try:
            out = proxy.forwarded(req, f"{self.host}:5061", branch := proxy.new_branch(),
                                  extra=f";egress-zone={zone.replace(' ', '')}")
        except ValueError:
            return await self.reply(response_to(req, 483))
        try:
            link = await self.link(node)
            self.pending[branch] = (req, node)
            trace.expressway(self.log, out, False, link.local, link.remote)
            await link.send(out)
        except (OSError, ssl.SSLError, TimeoutError, LookupError) as exc:
            reason = tls_reason(exc) if isinstance(exc, ssl.SSLError) else str(exc)
            self.failed(node, reason, isinstance(exc, ssl.SSLError))
            self.pending.pop(branch, None)
            await self.reply(self.unreachable(req, node, reason))

    def unreachable(self, req: SipMessage, node: str, reason: str) -> SipMessage:
        zone = self.zone_name(node)
        answer = response_to(req, 503, to_tag=proxy.new_tag(), extra=[
            ("Warning", f'399 {self.host} "{zone}: {reason[:80]}"'), ("Server", self.user_agent)])
        self.registration_event(req, answer, zone)
        return answer

    def failed(self, node: str, reason: str, tls: bool = False) -> None:
        self.log.write(TVCS_EVENT, "WARN", {"Event": "TLS Negotiation Failed" if tls else "Connection Failed",
                                            "Dst-ip": node, "Dst-port": self.lab.sip.cucm_zone_port,
                                            "Zone": self.zone_name(node), "Detail": reason})

    async def link(self, node: str) -> SipLink:
        link = self.links.get(node)
        if link is not None and not link.writer.is_closing():
            return link
        tls = self.resolver.tls
        context = tls.sip_client_context(node) if tls is not None else None
        link = self.links[node] = await dial_sip(self.resolver, node, self.lab.sip.cucm_zone_port, context,
                                                 source="expressway-c", local_address=self.lab.core.listener.address)
        self.spawn(self.responses(node, link), f"expressway-c from {node}")
        return link

    async def responses(self, node: str, link: SipLink) -> None:
        try:
            while (frame := await link.next()) is not None:
                if frame.message is None or frame.message.is_request:
                    continue
                resp = frame.message
                trace.expressway(self.log, resp, True, link.local, link.remote)
                branch = proxy.top_branch(resp)
                if branch not in self.pending:
                    continue
                if resp.status >= 200:
                    self.registration_event(self.pending.pop(branch)[0], resp, self.zone_name(node))
                await self.reply(proxy.popped(resp))
        except (ssl.SSLError, ConnectionError) as exc:
            self.failed(node, tls_reason(exc) if isinstance(exc, ssl.SSLError) else str(exc) or "connection reset",
                        isinstance(exc, ssl.SSLError))
        finally:
            link.close()
            if self.links.get(node) is link:
                del self.links[node]
            for branch in [b for b, (_, at) in self.pending.items() if at == node]:
                req, _ = self.pending.pop(branch)
                await self.reply(self.unreachable(req, node, "connection closed by CUCM"))

    def registration_event(self, req: SipMessage, resp: SipMessage, zone: str) -> None:
        """C's event line for a proxied registration's outcome (modelled on the Expressway event log's
        ``Registration Accepted``/``Registration Rejected``; CUCM is the registrar, C only relays)."""
        if req.method != "REGISTER" or resp.status in (401, 407):
            return
        aor = NameAddr.parse(req.get("To", "") or "").uri
        fields: dict[str, object] = {"Service": "SIP", "AOR": aor, "Zone": zone}
        if resp.status == 200:
            event = "Registration Accepted"
            fields |= {"Contact": NameAddr.parse(req.get("Contact", "") or "").uri,
                       "Duration": resp.get("Expires", "0")}
        else:
            event = "Registration Rejected"
            fields |= {"Reason": f"{resp.status} {resp.reason}", "Detail": resp.get("Warning", "") or ""}
        self.log.write(TVCS_EVENT, "INFO" if resp.status == 200 else "WARN", {"Event": event, **fields})

    def close(self) -> None:
        for link in self.links.values():
            link.close()


__all__ = ["CucmZones"]
