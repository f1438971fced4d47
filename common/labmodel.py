"""The lab's model: the frozen dataclasses a lab file becomes (:mod:`common.config` reads and validates the file).

Each HTTP service has a *nominal* address — the host name and port in URLs, DNS answers and logs, as on the real
product (``cucm.lab.example:8443``) — and a loopback *listener* where it really accepts connections.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from collections.abc import Sequence
from typing import Any

# Parts defined in their own modules, named here too: a lab file becomes one model.
from common.labtransport import CertStaging, DnsConfig, SipConfig, TlsConfig  # noqa: F401
from common.listener import Listener  # noqa: F401


@dataclass(frozen=True)
class EdgeConfig:
    """Expressway-E: the client-facing edge in the DMZ."""

    system_name: str
    listener: Listener
    txn_start: int
    pid: int
    max_header_bytes: int
    intrusion_protection: bool = True
    intrusion_trigger: int = 5
    intrusion_window: int = 60
    intrusion_block: int = 600
    aliases: tuple[str, ...] = ()
    xmpp: Listener = Listener("expe", 5222, "xmpp", "127.0.0.1", 0)
    max_in_flight: int = 256
    # XMPP admission (edge/overload.py): concurrent client sessions, and sign-ins not yet authenticated
    xmpp_max_sessions: int = 25_000
    xmpp_max_signins: int = 256
    xmpp_signin_timeout: float = 60.0  # seconds a client stream may take to sign in (modelled)
    # The traversal zone's server end: the SSH tunnel endpoint (2222) and the XCP listener (7400) Expressway-C dials,
    # and the zone's credentials in E's local authentication database (default: the ones C is configured with).
    tunnel: Listener = Listener("expe", 2222, "ssh", "127.0.0.1", 0)
    xcp: Listener = Listener("expe", 7400, "xcp", "127.0.0.1", 0)
    zone_name: str = "UC Traversal"
    traversal_username: str = "traversal"
    traversal_password: str = "traversal"
    # Dual network interfaces: where E's XCP really listens when it is not the internal (LAN1) address C reaches.
    xcp_bind_address: str = ""


@dataclass(frozen=True)
class CoreConfig:
    """Expressway-C: MRA access control and the services it proxies for the edge.

    ``oauth_local`` is ``xConfiguration CollaborationEdge OAuthLocal`` ("Authorize by OAuth token with refresh" on the
    web page); ``legacy_cred`` is ``LegacyCred`` ("Authorize by user credentials"); ``sso`` is "Authorize by OAuth token"
    via SAML IdP; ``internal_auth_check`` is "Check for internal authentication availability".
    """

    system_name: str
    listener: Listener
    validator: Listener
    txn_start: int
    pid: int
    version: str
    mra_domains: tuple[str, ...]
    axl_user: str
    axl_password: str
    oauth_local: bool
    legacy_cred: bool
    sso: bool
    internal_auth_check: bool
    http_allow_list: tuple[str, ...]
    admin_user: str = "admin"
    admin_password: str = ""
    traversal_password: str = "traversal"
    http_allow_list_auto: bool = True
    traversal_username: str = "traversal"
    zone_name: str = "UC Traversal"
    # The zone's peer address: the name (or IP) C dials Expressway-E by; empty means E's FQDN.
    traversal_peer: str = ""
    tunnel_retry_min: float = 0.5
    tunnel_retry_max: float = 30.0
    xcp: Listener = Listener("expc", 7400, "xcp", "127.0.0.1", 0)


@dataclass(frozen=True)
class EnterpriseParameters:
    """CUCM's OAuth enterprise parameters (System > Enterprise Parameters > SSO and OAuth Configuration)."""

    refresh_login_flow: bool = False
    access_token_minutes: int = 60
    refresh_token_days: int = 60

    @property
    def access_lifetime(self) -> int:
        return self.access_token_minutes * 60

    @property
    def refresh_lifetime(self) -> int:
        return self.refresh_token_days * 86400


@dataclass(frozen=True)
class ClusterConfig:
    """A CUCM cluster: its publisher and subscribers (each a node with its own listener), the IM&P nodes it knows of,
    its OAuth enterprise parameters, whether it shares an ILS network with the others, and whether SAML SSO is enabled
    on it (System > SAML Single Sign-On, cluster-wide)."""

    name: str
    uuid: str
    version: str
    listener: Listener
    admin_user: str
    admin_password: str
    imp_hosts: tuple[str, ...]
    enterprise: EnterpriseParameters = EnterpriseParameters()
    subscribers: tuple[Listener, ...] = ()
    ils: bool = True
    sso: bool = False
    tls_verify: bool = True
    # Where the publisher's SIP line ports and TFTP really listen (oauth, mra_oauth, secure, tftp); 0: the first
    # cluster's come from [sip] *_listen_port, the others' are free ports.
    sip_listen_ports: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def nodes(self) -> tuple[Listener, ...]:
        """Publisher first, then the subscribers: every node that serves UDS and OAuth for this cluster."""
        return (self.listener, *self.subscribers)

    def node_name(self, listener: Listener) -> str:
        """``cucm:<cluster>`` for the publisher, ``cucm:<cluster>:<host>`` for a subscriber."""
        if listener == self.listener:
            return f"cucm:{self.name}"
        return f"cucm:{self.name}:{listener.host.split('.')[0]}"


@dataclass(frozen=True)
class ImpConfig:
    """An IM&P node of a cluster: XMPP for clients (5222), XCP for Expressway-C's router (7400), EPAS SOAP (8443)."""

    host: str
    cluster: str
    xmpp: Listener
    xcp: Listener
    epas: Listener
    tls_verify: bool = True

    @property
    def name(self) -> str:
        return f"imp:{self.host.split('.')[0]}"


@dataclass(frozen=True)
class UnityConfig:
    """Unity Connection: a resource server that fetches the OAuth keys of one CUCM cluster ("AuthZ Servers")."""

    listener: Listener
    authz_cluster: str
    axl_user: str
    axl_password: str
    tls_verify: bool = True


@dataclass(frozen=True)
class IdpUser:
    """An account in the directory behind the identity provider: the password typed at the IdP, and ``mail``."""

    userid: str
    password: str
    mail: str


@dataclass(frozen=True)
class IdpConfig:
    """The SAML identity provider, reachable from the internet as an IdP must be for remote users.

    ``uid_from`` says which directory field the IdP releases as the ``uid`` attribute (``userid``; ``mail`` is the
    classic mapping mistake; ``none`` releases no ``uid``). ``rollover`` means the IdP's token-signing certificate
    was renewed after the metadata exchange and nobody re-imported its metadata on Expressway-C;
    ``sp_certificate_renewed`` that Expressway-C's SAML certificate was renewed after its metadata went to the IdP
    (as a renewed Tomcat certificate breaks CUCM's SSO until its metadata is exported again).
    """

    listener: Listener
    entity_id: str
    users: tuple[IdpUser, ...]
    uid_from: str = "userid"
    assertion_minutes: int = 5
    rollover: bool = False
    sp_certificate_renewed: bool = False
    encrypt_assertions: bool = True
    admin_user: str = "idpadmin"
    admin_password: str = "Idp!Admin1"

    def user(self, userid: str) -> IdpUser | None:
        return next((u for u in self.users if u.userid == userid), None)


@dataclass(frozen=True)
class Device:
    name: str
    model: str
    description: str


@dataclass(frozen=True)
class User:
    userid: str
    password: str
    cluster: str
    display_name: str
    mra_enabled: bool
    devices: tuple[Device, ...]
    home_cluster: bool = True


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    name: str


@dataclass(frozen=True)
class JabberConfig:
    address: str
    userid: str
    password: str
    version: str
    device_id: str
    client_id: str


@dataclass(frozen=True)
class SrvRecord:
    name: str
    target: str
    port: int
    priority: int
    weight: int


@dataclass(frozen=True)
class Lab:
    source: str
    domain: str
    utc_offset: dt.timedelta
    debug: bool
    edge: EdgeConfig
    core: CoreConfig
    clusters: tuple[ClusterConfig, ...]
    users: Sequence[User]  # a tuple, or the lab file's common.stormusers.UserTable (storm users made on lookup)
    clients: tuple[OAuthClient, ...]
    jabber: JabberConfig
    srv: tuple[SrvRecord, ...]
    control: Listener
    imps: tuple[ImpConfig, ...] = ()
    unity: UnityConfig | None = None
    idp: IdpConfig | None = None
    sip: SipConfig = SipConfig()
    tls: TlsConfig = TlsConfig(enabled=False)
    dns: DnsConfig = DnsConfig()

    def imp(self, host: str) -> ImpConfig | None:
        return next((i for i in self.imps if i.host == host.lower()), None)

    def user(self, userid: str) -> User | None:
        find = getattr(self.users, "find", None)  # a UserTable's, in constant time
        return find(userid) if find is not None else next((u for u in self.users if u.userid == userid), None)

    def cluster(self, name: str) -> ClusterConfig:
        return next(c for c in self.clusters if c.name == name)

    def client(self, client_id: str) -> OAuthClient | None:
        return next((c for c in self.clients if c.client_id == client_id), None)

    def listeners(self) -> dict[str, Listener]:
        found = {"expressway-e": self.edge.listener, "expressway-c": self.core.listener,
                 "oauthvalidator": self.core.validator}
        found.update({c.node_name(node): node for c in self.clusters for node in c.nodes})
        found["control"] = self.control
        if self.unity is not None:
            found["unity"] = self.unity.listener
        if self.idp is not None:
            found["idp"] = self.idp.listener
        found["expressway-e:xmpp"] = self.edge.xmpp
        found["expressway-e:tunnel"] = self.edge.tunnel
        found["expressway-e:xcp"] = self.edge.xcp
        for imp in self.imps:
            found.update({imp.name: imp.xmpp, f"{imp.name}:xcp": imp.xcp, f"{imp.name}:epas": imp.epas})
        found.update(self.sip_listeners())
        return found

    def sip_listeners(self) -> dict[str, Listener]:
        """E's SIP client port and traversal zone port; every cluster publisher's SIP line ports and TFTP."""
        found = {"expressway-e:sip": self.sip.edge, "expressway-e:zone": self.sip.zone}
        for cluster in self.clusters:
            found.update(self.cucm_sip_listeners(cluster))
        return found

    def cucm_sip_listeners(self, cluster: ClusterConfig) -> dict[str, Listener]:
        """``cluster``'s publisher's SIP line ports and TFTP (``cucm:<cluster>:sipoauth|sipmra|sips|tftp``): the
        devices of the cluster's users register there (modelled: each cluster's device pool has a CallManager group
        of the publisher alone). Nominal ports are ``[sip]``'s, on the publisher's host and address."""
        sip, publisher = self.sip, cluster.listener
        first = cluster == self.clusters[0]
        found = {}
        for (kind, shape), own in zip((("sipoauth", sip.oauth), ("sipmra", sip.mra_oauth), ("sips", sip.secure),
                                       ("tftp", sip.tftp)), cluster.sip_listen_ports):
            port = own or (shape.listen_port if first else 0)
            found[f"{cluster.node_name(publisher)}:{kind}"] = Listener(publisher.host, shape.port, shape.scheme,
                                                                       publisher.address, port)
        return found

    def sip_cluster(self, host: str) -> ClusterConfig | None:
        """The cluster whose publisher's SIP line side is at ``host`` (a REGISTER's Request-URI host)."""
        return next((c for c in self.clusters if c.listener.host == host.lower()), None)

    def owners(self) -> dict[str, str]:
        """The node behind each listener that is a second port of a node (``imp:imp:xcp`` is ``imp:imp``'s): a
        scenario names nodes, not ports, so a connection fault on a node must reach every port it listens on."""
        found = {"expressway-e:xmpp": "expressway-e", "expressway-e:tunnel": "expressway-e",
                 "expressway-e:xcp": "expressway-e"}
        for imp in self.imps:
            found.update({f"{imp.name}:xcp": imp.name, f"{imp.name}:epas": imp.name})
        for name in self.sip_listeners():
            found[name] = name.rsplit(":", 1)[0]
        return found

    def with_ephemeral_ports(self) -> Lab:
        """The same lab listening on free ports chosen by the kernel, for tests and parallel labs."""

        def free(listener: Listener) -> Listener:
            return dataclasses.replace(listener, listen_port=0)

        return dataclasses.replace(
            self,
            edge=dataclasses.replace(self.edge, listener=free(self.edge.listener), xmpp=free(self.edge.xmpp),
                                     tunnel=free(self.edge.tunnel), xcp=free(self.edge.xcp)),
            core=dataclasses.replace(self.core, listener=free(self.core.listener), validator=free(self.core.validator)),
            imps=tuple(dataclasses.replace(i, xmpp=free(i.xmpp), xcp=free(i.xcp), epas=free(i.epas))
                       for i in self.imps),
            clusters=tuple(dataclasses.replace(c, listener=free(c.listener), sip_listen_ports=(0, 0, 0, 0),
                                               subscribers=tuple(free(s) for s in c.subscribers))
                           for c in self.clusters),
            control=free(self.control),
            unity=dataclasses.replace(self.unity, listener=free(self.unity.listener)) if self.unity else None,
            idp=dataclasses.replace(self.idp, listener=free(self.idp.listener)) if self.idp else None,
            sip=dataclasses.replace(self.sip, edge=free(self.sip.edge), zone=free(self.sip.zone),
                                    oauth=free(self.sip.oauth), mra_oauth=free(self.sip.mra_oauth),
                                    secure=free(self.sip.secure), tftp=free(self.sip.tftp)),
        )

    def with_sso(self) -> Lab:
        """The same lab signing users in through SAML SSO over the edge (``mrasim run --sso``): an IdP with the lab's
        users, "SSO over the edge" on Expressway-C and SAML SSO enabled on every cluster."""
        idp = self.idp or default_idp(self.domain, self.users, https=self.tls.enabled)
        return dataclasses.replace(self, core=dataclasses.replace(self.core, sso=True), idp=idp,
                                   clusters=tuple(dataclasses.replace(c, sso=True) for c in self.clusters))

    def with_tls(self, enabled: bool) -> Lab:
        """The same lab with TLS on every hop, or the plain-HTTP lab kept for speed comparisons (``[tls] enabled``)."""
        scheme = "https" if enabled else "http"

        def web(listener: Listener) -> Listener:
            return dataclasses.replace(listener, scheme=scheme) if listener.scheme in ("http", "https") else listener

        return dataclasses.replace(
            self,
            tls=dataclasses.replace(self.tls, enabled=enabled),
            edge=dataclasses.replace(self.edge, listener=web(self.edge.listener)),
            core=dataclasses.replace(self.core, listener=web(self.core.listener)),
            imps=tuple(dataclasses.replace(i, epas=web(i.epas)) for i in self.imps),
            clusters=tuple(dataclasses.replace(c, listener=web(c.listener), subscribers=tuple(web(s) for s in
                                                                                                c.subscribers))
                           for c in self.clusters),
            unity=dataclasses.replace(self.unity, listener=web(self.unity.listener)) if self.unity else None,
            idp=dataclasses.replace(self.idp, listener=web(self.idp.listener)) if self.idp else None,
        )

    def replace_core(self, **changes: Any) -> Lab:
        return dataclasses.replace(self, core=dataclasses.replace(self.core, **changes))


DEFAULT_IDP_PORT = 18448


def default_idp(domain: str, users: Sequence[User], extra: tuple[IdpUser, ...] = (),
                listener: Listener | None = None, https: bool = True) -> IdpConfig:
    """An IdP at ``https://idp.<domain>:443`` (``http`` in a plain lab) whose directory holds the lab's users (mail
    ``<userid>@<domain>``), listening on 18448 beside the default lab's other fixed ports (``mrasim serve idp``)."""
    listener = listener or Listener(f"idp.{domain}", 443, "https" if https else "http", "127.0.0.1", DEFAULT_IDP_PORT)
    accounts = tuple(IdpUser(u.userid, u.password, f"{u.userid}@{domain}") for u in users)
    return IdpConfig(listener, f"https://{listener.host}/idp/shibboleth", accounts + extra)
