"""Jabber's softphone over MRA: the CSF device's configuration, then its SIP registration through Expressway-E.

The order is the one Cisco TAC 215572 logs: ``fetchDeviceConfig`` (``<device>.cnf.xml`` from CUCM's TFTP HTTP port
6970, proxied by the edge), ``sip OAuth Mode=…``, the TLS connection to the ``sipEdgeServer`` of ``get_edge_config``
(5061), ``REGISTER`` → ``407 Proxy-Authenticate: Bearer realm="ccmsipline"`` → ``REGISTER`` with
``Proxy-Authorization: Bearer token="<access token>"`` → ``200 OK``. Without SIP OAuth CUCM challenges Digest
(``401``) and Jabber answers with the user's credentials. Jabber older than 12.5 knows no Bearer scheme.

Lifecycle: :meth:`SipPhone.refresh` re-registers before ``Expires`` runs out; when CUCM refuses the token
(``error="invalid_token"``, the access token expired under a long registration) Jabber refreshes its tokens through
the edge and tries once more, and reports phone services lost if that fails.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field

from common.cnfxml import DeviceConfig
from common.domain import ProxyDescriptor
from common.edgexml import EdgeConfig, XmlError
from common.hop import HopClient, HopError
from common.sip import auth, trace
from common.sip.link import SipLink, dial_sip, tls_reason
from common.sip.message import SipMessage, request
from jabber import points
from jabber.client import JabberClient

BEARER_SINCE = (12, 5)


@dataclass
class Registration:
    ok: bool
    status: int
    reason: str
    expires: int = 0
    steps: list[tuple[str, int]] = field(default_factory=list)


def _version(text: str) -> tuple[int, int]:
    parts = (text.split(".") + ["0", "0"])[:2]
    return int(parts[0]) if parts[0].isdigit() else 0, int(parts[1]) if parts[1].isdigit() else 0


class SipPhone:
    """One CSF device of one signed-in Jabber."""

    def __init__(self, client: JabberClient) -> None:
        self.client = client
        tls = client.resolver.tls  # the lab PKI's trust anchors, as for the client's HTTPS (None: a plain-TCP lab)
        self.context = tls.client_context("jabber") if tls is not None else None
        self.log = client.log
        self.config: DeviceConfig | None = None
        self.device = ""
        self.link: SipLink | None = None
        self.call_id = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}@{client.lab.jabber.address}"
        self.tag = f"{secrets.token_hex(12)}-{secrets.token_hex(4)}"
        self.cseq = 2269
        self.instance = uuid.uuid4()
        self.registered = False
        self.expires = 0
        self.timings: list[float] = []  # milliseconds of each step of the last register/refresh, in order

    @property
    def lab(self):  # noqa: ANN201 - the client's lab
        return self.client.lab

    def pick_device(self) -> str:
        outcome = self.client.last_login
        devices = outcome.devices if outcome else ()
        return next((d for d in devices if d.upper().startswith("CSF")), "")

    async def fetch_config(self) -> tuple[int, str]:
        """GET ``<device>.cnf.xml`` through the edge: ``(status, reason)``."""
        self.device = self.pick_device()
        if not self.device:
            self.log.write("ERROR", points.DEVICE_CONFIG, f"fetchDeviceConfig() no softphone (CSF) device for "
                                                          f"{self.client.userid}")
            return 0, "no CSF device associated with the user"
        edge = self.client.last_login.edge_config if self.client.last_login else None
        host = self.tftp_host(edge)
        descriptor = ProxyDescriptor(self.lab.domain, "http", host, self.lab.sip.tftp.port).encode()
        url = f"{self.client._edge_origin()}/{descriptor}/{self.device}.cnf.xml"
        async with HopClient(self.client.resolver, self.lab.jabber.address, name="jabber") as hop:
            try:
                answer = await hop.request("GET", url, headers={"Authorization": f"Bearer {self.client.access_token}"})
            except HopError as exc:
                return 0, f"cannot reach {exc.url}: {exc.kind}"
        if answer.status != 200:
            self.log.write("ERROR", points.DEVICE_CONFIG, f"fetchDeviceConfig() failed for {self.device}: "
                                                          f"HTTP {answer.status}")
            return answer.status, f"device configuration: HTTP {answer.status}"
        try:
            self.config = DeviceConfig.from_xml(answer.body)
        except XmlError as exc:
            return answer.status, f"device configuration: {exc}"
        self.log.write("DEBUG", points.DEVICE_CONFIG, f"fetchDeviceConfig() retrieved config for {self.device}")
        self.log.write("DEBUG", points.SIP_OAUTH_MODE, f"sip OAuth Mode={1 if self.config.oauth_mode else 0}")
        c = self.config
        self.log.write("INFO", points.CCM_PROPERTIES, f"ccm0={c.callmanager} ccm1= ccm2= sip_oauth_port_0="
                                                      f"{c.oauth_port} length=0")
        return 200, "OK"

    def tftp_host(self, edge: EdgeConfig | None) -> str:
        """The TFTP server of the user's home cluster: the edge config's ``_cisco-phone-tftp`` when it names one, else
        the home cluster's UDS server the edge config returned (modelled: Jabber's TFTP defaults to the UDS server of
        its home cluster when no service profile names one), else the lab's first cluster."""
        tftp = edge.service("_cisco-phone-tftp") if edge else None
        if tftp and tftp.servers:
            return tftp.servers[0].address
        if edge is not None and edge.user_uds:
            return edge.user_uds[0].address
        return self.lab.sip.tftp.host

    async def connect(self) -> SipLink:
        edge = self.client.last_login.edge_config if self.client.last_login else None
        server = edge.sip_edge[0] if edge and edge.sip_edge else None
        host, port = (server.address, server.port) if server else (self.lab.sip.edge.host, self.lab.sip.edge.port)
        link = await dial_sip(self.client.resolver, host, port, self.context, source="jabber",
                              local_address=self.lab.jabber.address)
        self.log.write("DEBUG", points.SIP_CONNECTION, f"[SIP][CONN][0] create TLS connection "
                                                       f"{link.local[0]}:{link.local[1]}-----{host}:{port}.")
        return link

    def register_request(self, expires: int, credentials: str | None = None, header: str = "") -> SipMessage:
        self.cseq += 1
        assert self.link is not None
        local = self.link.local
        cucm = self.config.callmanager if self.config else self.lab.clusters[0].listener.host
        dn = self.config.line if self.config else "1000"
        edge = self.client.last_login.edge_config if self.client.last_login else None
        headers = [("Via", f"SIP/2.0/TLS {local[0]}:{local[1]};branch=z9hG4bK{secrets.token_hex(4)}"),
                   ("From", f"<sip:{dn}@{cucm}>;tag={self.tag}"), ("To", f"<sip:{dn}@{cucm}>"),
                   ("Call-ID", self.call_id), ("Max-Forwards", "70"), ("CSeq", f"{self.cseq} REGISTER"),
                   ("User-Agent", "Cisco-CSF"),
                   ("Contact", f'<sip:{self.instance}@{local[0]}:{local[1]};transport=tls>;+sip.instance='
                               f'"<urn:uuid:{self.instance}>";+u.sip!devicename.ccm.cisco.com="{self.device}";'
                               f'+u.sip!model.ccm.cisco.com="503";video')]
        if edge is not None and edge.sip_route:
            headers.append(("Route", edge.sip_route))
        if credentials:
            headers.append((header, credentials))
        headers += [("Supported", "replaces,join,sdp-anat,norefersub,resource-priority,extended-refer,X-cisco-callinfo,"
                                  "X-cisco-serviceuri,X-cisco-escapecodes,X-cisco-service-control,"
                                  "X-cisco-srtp-fallback,X-cisco-monrec,X-cisco-config,X-cisco-sis-7.0.0,"
                                  "X-cisco-xsi-8.5.1,X-cisco-graceful-reg,X-cisco-duplicate-reg"),
                    ("Expires", str(expires))]
        return request("REGISTER", f"sip:{cucm}", headers)

    async def exchange(self, message: SipMessage) -> SipMessage | None:
        assert self.link is not None
        trace.jabber(self.log, message, sent=True)
        started = time.perf_counter()
        await self.link.send(message)
        while (frame := await self.link.next()) is not None:
            if frame.message is not None and not frame.message.is_request:
                trace.jabber(self.log, frame.message, sent=False)
                if frame.message.status >= 200:
                    self.timings.append((time.perf_counter() - started) * 1000)
                    return frame.message
        return None

    async def register(self, expires: int | None = None) -> Registration:
        """The first registration: device configuration, connection, REGISTER and its challenges."""
        steps: list[tuple[str, int]] = []
        self.timings = []
        if self.config is None:
            started = time.perf_counter()
            status, reason = await self.fetch_config()
            self.timings.append((time.perf_counter() - started) * 1000)
            steps.append(("cnf.xml", status))
            if status != 200:
                return self._done(Registration(False, status, reason, steps=steps))
        try:
            self.link = self.link or await self.connect()
        except Exception as exc:  # noqa: BLE001 - every failure to reach E ends the same way for the user
            reason = tls_reason(exc)
            self.log.write("ERROR", points.SIP_CONNECTION, f"[SIP][CONN][0] TLS connection failed: {reason}")
            return self._done(Registration(False, 0, f"cannot connect to the SIP edge: {reason}", steps=steps))
        return await self._register(expires if expires is not None else self.lab.sip.expires, steps, None)

    async def refresh(self) -> Registration:
        """Re-register before expiry, presenting the current token; a refused token is renewed once."""
        if self.link is None or self.link.writer.is_closing():
            self.link = None
            return await self.register()
        token = auth.bearer_credentials(self.client.access_token) if self._bearer else None
        return await self._register(self.lab.sip.expires, [], token)

    async def unregister(self) -> Registration:
        return await self._register(0, [], auth.bearer_credentials(self.client.access_token) if self._bearer
                                    else None)

    @property
    def _bearer(self) -> bool:
        return bool(self.config and self.config.oauth_mode and _version(self.lab.jabber.version) >= BEARER_SINCE)

    async def _register(self, expires: int, steps: list[tuple[str, int]], bearer: str | None) -> Registration:
        answer = await self.exchange(self.register_request(expires, bearer, "Proxy-Authorization"))
        renewed = False
        for _ in range(3):
            if answer is None:
                return self._done(Registration(False, 0, "connection closed by the edge", steps=steps))
            steps.append(("REGISTER", answer.status))
            if answer.status == 407:
                challenge = auth.Credentials.parse(answer.get("Proxy-Authenticate", "") or "Unknown")
                if not challenge.is_bearer or not self._bearer:
                    return self._done(Registration(False, 407, f"no credentials for the {challenge.scheme} scheme "
                                                               f"(Jabber {self.lab.jabber.version})", steps=steps))
                if challenge.params.get("error") == "invalid_token" or bearer is not None:
                    if renewed:
                        return self._done(Registration(False, 407, "OAuth token refused", steps=steps))
                    renewed = True
                    if not (self.client.refresh_token and (await self.client.refresh()).ok):
                        return self._done(Registration(False, 407, "token refresh failed; phone services need a "
                                                                   "new sign-in", steps=steps))
                bearer = auth.bearer_credentials(self.client.access_token)
                answer = await self.exchange(self.register_request(expires, bearer, "Proxy-Authorization"))
                continue
            if answer.status == 401:
                challenge = auth.Credentials.parse(answer.get("WWW-Authenticate", "") or "Unknown")
                if not challenge.is_digest or renewed:
                    return self._done(Registration(False, 401, "digest credentials refused", steps=steps))
                renewed = True
                cucm = self.config.callmanager if self.config else ""
                value = auth.digest_credentials(challenge, self.client.userid, self.client.password, "REGISTER",
                                                f"sip:{cucm}", secrets.token_hex(8))
                answer = await self.exchange(self.register_request(expires, value, "Authorization"))
                continue
            break
        assert answer is not None
        if answer.status == 200:
            self.expires = int(answer.get("Expires", "0") or 0)
            self.registered = expires != 0
            return self._done(Registration(True, 200, "OK", self.expires, steps))
        warning = answer.get("Warning") or ""
        return self._done(Registration(False, answer.status, f"{answer.status} {answer.reason}"
                                       + (f" ({warning})" if warning else ""), steps=steps))

    def _done(self, result: Registration) -> Registration:
        state = "REGISTERED" if result.ok and self.registered else ("UNREGISTERED" if result.ok else "FAILED")
        self.log.write("INFO" if result.ok else "ERROR", points.REGISTRATION,
                       f"Registration state for {self.device or '(no device)'}: {state} "
                       f"status={result.status} reason={result.reason}")
        if not result.ok:
            self.registered = False
        return result

    async def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None
