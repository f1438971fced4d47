"""The lab description: TOML in, frozen validated dataclasses out (ARCHITECTURE rule 5).

Every node, the CLI and the tests build the same :class:`Lab` from the same file. An error names the file, the key and
what was expected, so a typo in a lab file is a one-line fix, not a traceback.

Each HTTP service has a *nominal* address — the host name and port that appear in URLs, DNS answers and logs, as on
the real product (``cucm.lab.example:8443``) — and a loopback *listener* where it really accepts connections. The
lab's resolver (:mod:`common.resolver`) maps one onto the other, so moving a node never changes code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.cucmversion import parse_version, refresh_days_range

_REQUIRED = object()
_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")
_CLIENT_ID = re.compile(r"^C[0-9a-f]{64}$")


class ConfigError(ValueError):
    """A lab description that cannot be used; the message says where and what was expected."""


@dataclass(frozen=True)
class Listener:
    """An HTTP service: its name in URLs (``host:port``) and where it really listens on loopback."""

    host: str
    port: int
    scheme: str
    address: str
    listen_port: int

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


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
    """A CUCM cluster: for now its publisher only, with the IM&P nodes it knows of."""

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
    users: tuple[User, ...]
    clients: tuple[OAuthClient, ...]
    jabber: JabberConfig
    srv: tuple[SrvRecord, ...]
    control: Listener
    imps: tuple[ImpConfig, ...] = ()
    unity: UnityConfig | None = None

    def imp(self, host: str) -> ImpConfig | None:
        return next((i for i in self.imps if i.host == host.lower()), None)

    def user(self, userid: str) -> User | None:
        return next((u for u in self.users if u.userid == userid), None)

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
        found["expressway-e:xmpp"] = self.edge.xmpp
        found["expressway-c:xcp"] = self.core.xcp
        for imp in self.imps:
            found.update({imp.name: imp.xmpp, f"{imp.name}:xcp": imp.xcp, f"{imp.name}:epas": imp.epas})
        return found

    def owners(self) -> dict[str, str]:
        """The node behind each listener that is a second port of a node (``imp:imp:xcp`` is ``imp:imp``'s): a
        scenario names nodes, not ports, so a connection fault on a node must reach every port it listens on."""
        found = {"expressway-e:xmpp": "expressway-e", "expressway-c:xcp": "expressway-c"}
        for imp in self.imps:
            found.update({f"{imp.name}:xcp": imp.name, f"{imp.name}:epas": imp.name})
        return found

    def with_ephemeral_ports(self) -> Lab:
        """The same lab listening on free ports chosen by the kernel, for tests and parallel labs."""

        def free(listener: Listener) -> Listener:
            return dataclasses.replace(listener, listen_port=0)

        return dataclasses.replace(
            self,
            edge=dataclasses.replace(self.edge, listener=free(self.edge.listener), xmpp=free(self.edge.xmpp)),
            core=dataclasses.replace(self.core, listener=free(self.core.listener), validator=free(self.core.validator),
                                     xcp=free(self.core.xcp)),
            imps=tuple(dataclasses.replace(i, xmpp=free(i.xmpp), xcp=free(i.xcp), epas=free(i.epas))
                       for i in self.imps),
            clusters=tuple(dataclasses.replace(c, listener=free(c.listener),
                                               subscribers=tuple(free(s) for s in c.subscribers))
                           for c in self.clusters),
            control=free(self.control),
            unity=dataclasses.replace(self.unity, listener=free(self.unity.listener)) if self.unity else None,
        )

    def replace_core(self, **changes: Any) -> Lab:
        return dataclasses.replace(self, core=dataclasses.replace(self.core, **changes))


DEFAULT_LAB = Path(__file__).resolve().parent.parent / "scenarios" / "labs" / "default.toml"


def load_lab(path: str | Path = DEFAULT_LAB) -> Lab:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such lab file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the lab file: {exc.strerror}") from None
    return parse_lab(data, str(path))


def parse_lab(data: Mapping[str, Any], source: str = "<lab>") -> Lab:
    root = _Table(source, "", data)
    lab = root.table("lab")
    domain = lab.str("domain").lower()
    utc_offset = _offset(lab, "utc_offset", "+00:00")
    debug = lab.bool("debug", True)
    control = Listener("control.mrasim", 8990, "http", "127.0.0.1", lab.int("control_port", 18990, low=0, high=65535))
    lab.done()

    e = root.table("expressway_e")
    edge = EdgeConfig(
        system_name=e.str("system_name", "expe"),
        listener=_listener(e, domain, default_host="expe"),
        txn_start=e.int("txn_start", 2000, low=1),
        pid=e.int("pid", 16087, low=1),
        max_header_bytes=e.int("max_header_bytes", 8190, low=1024, high=65536),
        intrusion_protection=e.on_off("intrusion_protection", True),
        intrusion_trigger=e.int("intrusion_trigger", 5, low=1, high=1000),
        intrusion_window=e.int("intrusion_window", 60, low=1, high=86400),
        intrusion_block=e.int("intrusion_block", 600, low=1, high=86400),
        aliases=tuple(_fqdn(a, domain) for a in e.str_list("aliases", [])),
        xmpp=_stream_listener(e, _fqdn(e.str("host", "expe"), domain), "xmpp", 5222),
    )
    e.done()

    c = root.table("expressway_c")
    core = CoreConfig(
        system_name=c.str("system_name", "expc"),
        listener=_listener(c, domain, default_host="expc"),
        validator=Listener("127.0.0.1", c.int("validator_port", 9998, low=1, high=65535), "http",
                           c.str("validator_address", "127.0.0.1"), c.int("validator_listen_port", 0, low=0, high=65535)),
        txn_start=c.int("txn_start", 6000, low=1),
        pid=c.int("pid", 14358, low=1),
        version=c.str("version", "X14.2.5"),
        mra_domains=tuple(d.lower() for d in c.str_list("mra_domains", [domain])),
        axl_user=c.str("axl_user"),
        axl_password=c.str("axl_password"),
        oauth_local=c.on_off("oauth_local", True),
        legacy_cred=c.on_off("legacy_cred", True),
        sso=c.on_off("sso", False),
        internal_auth_check=c.on_off("internal_auth_check", False),
        http_allow_list=tuple(c.str_list("http_allow_list", [])),
        admin_user=c.str("admin_user", "admin"),
        admin_password=c.str("admin_password", ""),
        traversal_password=c.str("traversal_password", "traversal"),
        http_allow_list_auto=c.on_off("http_allow_list_auto", True),
        xcp=_stream_listener(c, _fqdn(c.str("host", "expc"), domain), "xcp", 7400),
    )
    c.done()

    clusters = []
    for cl in root.tables("clusters"):
        version = cl.str("version", "14.0.1.12900-161")
        try:
            parse_version(version)
        except ValueError as exc:
            raise ConfigError(f"{cl.where('version')}: {exc}") from None
        clusters.append(ClusterConfig(
            name=cl.str("name"),
            uuid=cl.str("uuid"),
            version=version,
            listener=_listener(cl, domain, default_host="cucm"),
            admin_user=cl.str("admin_user"),
            admin_password=cl.str("admin_password"),
            imp_hosts=tuple(_fqdn(h, domain) for h in cl.str_list("imp", [])),
            enterprise=_enterprise(cl.table("enterprise"), version),
            subscribers=tuple(_subscriber(st, domain) for st in cl.tables("subscribers")),
            ils=cl.bool("ils", True),
        ))
        cl.done()
    if not clusters:
        raise ConfigError(f"{source}: [[clusters]]: expected at least one CUCM cluster")
    names = {cl.name for cl in clusters}

    clients = []
    for ct in root.tables("clients"):
        client_id = ct.str("client_id")
        if not _CLIENT_ID.match(client_id):
            raise ConfigError(f"{source}: [[clients]] client_id: expected 'C' and 64 hex digits, got {client_id!r}")
        clients.append(OAuthClient(client_id, ct.str("client_secret"), ct.str("name", "Cisco Jabber")))
        ct.done()

    users = []
    for ut in root.tables("users"):
        devices = []
        for dt_ in ut.tables("devices"):
            devices.append(Device(dt_.str("name"), dt_.str("model", "Cisco Unified Client Services Framework"),
                                  dt_.str("description", "")))
            dt_.done()
        cluster = ut.str("cluster", clusters[0].name)
        if cluster not in names:
            raise ConfigError(f"{source}: [[users]] cluster: expected one of {sorted(names)}, got {cluster!r}")
        userid = ut.str("userid")
        users.append(User(userid, ut.str("password"), cluster, ut.str("display_name", userid),
                          ut.bool("mra_enabled", True), tuple(devices), ut.bool("home_cluster", True)))
        ut.done()

    j = root.table("jabber")
    first_client = clients[0].client_id if clients else ""
    jabber = JabberConfig(
        address=j.str("address", "127.0.0.1"),
        userid=j.str("userid", users[0].userid if users else ""),
        password=j.str("password", users[0].password if users else ""),
        version=j.str("version", "12.8.0.51920"),
        device_id=j.str("device_id", "2c23dad7-ab7e-4686-a461-b23cffbaa15e"),
        client_id=j.str("client_id", first_client),
    )
    j.done()

    srv = []
    for st in root.tables("srv"):
        srv.append(SrvRecord(st.str("name"), _fqdn(st.str("target"), domain), st.int("port", 8443, low=1, high=65535),
                             st.int("priority", 1, low=0), st.int("weight", 10, low=0)))
        st.done()
    if not srv:
        srv.append(SrvRecord(f"_collab-edge._tls.{domain}", edge.listener.host, edge.listener.port, 1, 10))
    imps = _imps(root, clusters, domain)
    unity = _unity(root, domain, names)
    root.done()
    return Lab(source, domain, utc_offset, debug, edge, core, tuple(clusters), tuple(users), tuple(clients), jabber,
               tuple(srv), control, imps, unity)


def _unity(root: _Table, domain: str, clusters: set[str]) -> UnityConfig | None:
    if "unity" not in root.data:
        root.seen.add("unity")
        return None
    t = root.table("unity")
    cluster = t.str("authz_cluster")
    if cluster not in clusters:
        raise ConfigError(f"{t.where('authz_cluster')}: expected one of {sorted(clusters)}, got {cluster!r}")
    unity = UnityConfig(_listener(t, domain, default_host="cuc"), cluster, t.str("axl_user"), t.str("axl_password"))
    t.done()
    return unity


def _stream_listener(t: _Table, host: str, scheme: str, port: int, address: str = "127.0.0.1") -> Listener:
    """A TCP stream service (XMPP 5222, XCP 7400): ``<scheme>_port`` names it, ``<scheme>_listen_port`` binds it."""
    return Listener(host, t.int(f"{scheme}_port", port, low=1, high=65535), scheme, t.str("address", address),
                    t.int(f"{scheme}_listen_port", 0, low=0, high=65535))


def _imps(root: _Table, clusters: list[ClusterConfig], domain: str) -> tuple[ImpConfig, ...]:
    """Every IM&P host a cluster lists (``imp = [...]``), with its listeners from an ``[[imp]]`` table if any."""
    tables = {}
    for t in root.tables("imp"):
        host = _fqdn(t.str("host"), domain)
        if not any(host in c.imp_hosts for c in clusters):
            raise ConfigError(f"{t.where('host')}: {host} is not in any cluster's imp list")
        if host in tables:
            raise ConfigError(f"{t.where('host')}: {host} is described twice")
        tables[host] = t
    imps = []
    for cluster in clusters:
        for host in cluster.imp_hosts:
            t = tables.get(host) or _Table(root.source, f"imp[{host}]", {})
            address = t.str("address", "127.0.0.1")
            t.str("host", host)
            imps.append(ImpConfig(host, cluster.name, _stream_listener(t, host, "xmpp", 5222, address),
                                  _stream_listener(t, host, "xcp", 7400, address),
                                  Listener(host, t.int("epas_port", 8443, low=1, high=65535), "http", address,
                                           t.int("epas_listen_port", 0, low=0, high=65535))))
            t.done()
    names = [imp.name for imp in imps]
    if len(set(names)) != len(names):
        raise ConfigError(f"{root.source}: IM&P hosts must differ in their first label, got {sorted(names)}")
    return tuple(imps)


def _subscriber(t: _Table, domain: str) -> Listener:
    listener = _listener(t, domain, default_host=None)
    t.done()
    return listener


def parse_enterprise(data: Mapping[str, Any], version: str, source: str = "<enterprise parameters>",
                     base: EnterpriseParameters | None = None) -> EnterpriseParameters:
    """Enterprise parameters from a mapping of lab-file keys, over ``base``; the same validation as the lab file."""
    base = base or EnterpriseParameters()
    current = {"oauth_refresh_login_flow": "Enabled" if base.refresh_login_flow else "Disabled",
               "oauth_access_token_expiry_minutes": base.access_token_minutes,
               "oauth_refresh_token_expiry_days": base.refresh_token_days}
    return _enterprise(_Table(source, "enterprise", {**current, **data}), version)


def _enterprise(t: _Table, version: str) -> EnterpriseParameters:
    """Validated as CUCM's administration page does: each error names the parameter and its range."""
    flow = t.str("oauth_refresh_login_flow", "Disabled")
    if flow not in ("Enabled", "Disabled"):
        raise ConfigError(f'{t.where("oauth_refresh_login_flow")}: "OAuth with Refresh Login Flow" must be '
                          f'"Enabled" or "Disabled", got {flow!r}')
    minutes = t.int("oauth_access_token_expiry_minutes", 60)
    if not 1 <= minutes <= 1440:
        raise ConfigError(f'{t.where("oauth_access_token_expiry_minutes")}: "OAuth Access Token Expiry Timer" '
                          f"must be 1-1440 minutes, got {minutes}")
    low, high = refresh_days_range(version)
    days = t.int("oauth_refresh_token_expiry_days", 60)
    if not low <= days <= high:
        raise ConfigError(f'{t.where("oauth_refresh_token_expiry_days")}: "OAuth Refresh Token Expiry Timer" '
                          f"must be {low}-{high} days on CUCM {version}, got {days}")
    t.done()
    return EnterpriseParameters(flow == "Enabled", minutes, days)


def _fqdn(name: str, domain: str) -> str:
    return name.lower() if "." in name else f"{name}.{domain}".lower()


def _listener(t: _Table, domain: str, default_host: str | None) -> Listener:
    scheme = t.str("scheme", "http")
    if scheme not in ("http", "https"):
        raise ConfigError(f"{t.where('scheme')}: expected 'http' or 'https', got {scheme!r}")
    if scheme == "https":
        raise ConfigError(f"{t.where('scheme')}: TLS on the hops is not built yet; use 'http'")
    return Listener(
        host=_fqdn(t.str("host") if default_host is None else t.str("host", default_host), domain),
        port=t.int("port", 8443, low=1, high=65535),
        scheme=scheme,
        address=t.str("address", "127.0.0.1"),
        listen_port=t.int("listen_port", 0, low=0, high=65535),
    )


def _offset(t: _Table, key: str, default: str) -> dt.timedelta:
    text = t.str(key, default)
    match = _OFFSET.match(text)
    if not match:
        raise ConfigError(f"{t.where(key)}: expected an offset such as '-06:00', got {text!r}")
    if int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise ConfigError(f"{t.where(key)}: expected hours 00-23 and minutes 00-59, got {text!r}")
    sign = -1 if match.group(1) == "-" else 1
    return sign * dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))


class _Table:
    """A TOML table read key by key; unknown keys are reported by :meth:`done`."""

    def __init__(self, source: str, prefix: str, data: Mapping[str, Any]) -> None:
        self.source, self.prefix, self.data = source, prefix, data
        self.seen: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}: {self.prefix}{'.' if self.prefix else ''}{key}"

    def _get(self, key: str, default: Any) -> Any:
        self.seen.add(key)
        if key in self.data:
            return self.data[key]
        if default is _REQUIRED:
            raise ConfigError(f"{self.where(key)}: required, but missing")
        return default

    def str(self, key: str, default: Any = _REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str) or not value and default is _REQUIRED:
            raise ConfigError(f"{self.where(key)}: expected a non-empty string, got {value!r}")
        return value

    def int(self, key: str, default: Any = _REQUIRED, low: int | None = None, high: int | None = None) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.where(key)}: expected an integer, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(f"{self.where(key)}: expected {low}..{high}, got {value}")
        return value

    def float(self, key: str, default: Any = _REQUIRED, low: float | None = None, high: float | None = None) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{self.where(key)}: expected a number, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ConfigError(f"{self.where(key)}: expected {low}..{high}, got {value}")
        return float(value)

    def bool(self, key: str, default: Any = _REQUIRED) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where(key)}: expected true or false, got {value!r}")
        return value

    def on_off(self, key: str, default: bool) -> bool:
        """Accept the Expressway spelling ``"On"``/``"Off"`` as well as a TOML boolean."""
        value = self._get(key, default)
        if isinstance(value, str) and value.lower() in ("on", "off"):
            return value.lower() == "on"
        if not isinstance(value, bool):
            raise ConfigError(f"{self.where(key)}: expected \"On\" or \"Off\", got {value!r}")
        return value

    def str_list(self, key: str, default: Any = _REQUIRED) -> list[str]:
        value = self._get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{self.where(key)}: expected a list of strings, got {value!r}")
        return value

    def table(self, key: str) -> _Table:
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.where(key)}: expected a table, got {value!r}")
        return _Table(self.source, f"{self.prefix}.{key}" if self.prefix else key, value)

    def tables(self, key: str) -> list[_Table]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(f"{self.where(key)}: expected an array of tables [[{key}]], got {value!r}")
        name = f"{self.prefix}.{key}" if self.prefix else key
        return [_Table(self.source, f"{name}[{i}]", v) for i, v in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(f"{self.where(unknown[0])}: unknown key (known: {', '.join(sorted(self.seen))})")


TomlTable = _Table
"""The typed TOML reader every validated file in mrasim uses (lab files, scenario files)."""
