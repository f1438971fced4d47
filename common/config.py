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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from common.cucmversion import parse_version, refresh_days_range
from common.labmodel import (
    ClusterConfig,
    CoreConfig,
    Device,
    DnsConfig,
    EdgeConfig,
    EnterpriseParameters,
    IdpConfig,
    IdpUser,
    ImpConfig,
    JabberConfig,
    Lab,
    Listener,
    OAuthClient,
    SipConfig,
    SrvRecord,
    UnityConfig,
    User,
    default_idp,
)
from common.stormusers import UserTable
from common.tomltable import ConfigError, TomlTable
from common.transportconfig import parse_dns, parse_tls

__all__ = ["ClusterConfig", "ConfigError", "CoreConfig", "DEFAULT_LAB", "Device", "DnsConfig", "EdgeConfig",
           "EnterpriseParameters", "IdpConfig", "IdpUser", "ImpConfig", "JabberConfig", "Lab", "Listener", "OAuthClient",
           "SrvRecord", "TomlTable", "UnityConfig",
           "User", "load_lab", "parse_enterprise", "parse_lab"]

_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")
_CLIENT_ID = re.compile(r"^C[0-9a-f]{64}$")


DEFAULT_LAB = Path(__file__).resolve().parent.parent / "lab" / "labs" / "default.toml"


def load_lab(path: str | Path = DEFAULT_LAB) -> Lab:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such lab file; give --lab an existing file, or leave --lab out for "
                          f"{DEFAULT_LAB}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the lab file: {exc.strerror}") from None
    return parse_lab(data, str(path))


def parse_lab(data: Mapping[str, Any], source: str = "<lab>") -> Lab:
    root = TomlTable(source, "", data)
    lab = root.table("lab")
    domain = lab.str("domain").lower()
    utc_offset = _offset(lab, "utc_offset", "+00:00")
    debug = lab.bool("debug", True)
    storm_count = lab.int("storm_users", 0, low=0, high=100_000)
    control = Listener("control.mrasim", 8990, "http", "127.0.0.1", lab.int("control_port", 18990, low=0, high=65535))
    lab.done()
    tls_enabled = root.table("tls").bool("enabled", True)

    e = root.table("expressway_e")
    edge = EdgeConfig(
        system_name=e.str("system_name", "expe"),
        listener=_listener(e, domain, "expe", tls_enabled),
        txn_start=e.int("txn_start", 2000, low=1),
        pid=e.int("pid", 16087, low=1),
        max_header_bytes=e.int("max_header_bytes", 8190, low=1024, high=65536),
        intrusion_protection=e.on_off("intrusion_protection", True),
        intrusion_trigger=e.int("intrusion_trigger", 5, low=1, high=1000),
        intrusion_window=e.int("intrusion_window", 60, low=1, high=86400),
        intrusion_block=e.int("intrusion_block", 600, low=1, high=86400),
        aliases=tuple(_fqdn(a, domain) for a in e.str_list("aliases", [])),
        xmpp=_stream_listener(e, _fqdn(e.str("host", "expe"), domain), "xmpp", 5222),
        max_in_flight=e.int("max_in_flight", 256, low=1, high=100_000),
        xmpp_max_sessions=e.int("xmpp_max_sessions", 25_000, low=1, high=1_000_000),
        xmpp_max_signins=e.int("xmpp_max_signins", 256, low=1, high=100_000),
        xmpp_signin_timeout=e.float("xmpp_signin_timeout", 60.0, low=0.1, high=3600),
        # The traversal zone's listeners are on E's internal interface (dual NIC: LAN1, ``internal_address``).
        tunnel=_stream_listener(e, _fqdn(e.str("host", "expe"), domain), "ssh", 2222,
                                e.str("internal_address", e.str("address", "127.0.0.1")), address_key=""),
        xcp=_stream_listener(e, _fqdn(e.str("host", "expe"), domain), "xcp", 7400,
                             e.str("internal_address", e.str("address", "127.0.0.1")), address_key=""),
        zone_name=e.str("zone_name", "UC Traversal"),
        xcp_bind_address=e.str("xcp_bind_address", ""),
    )
    edge_credentials = (e.str("traversal_username", ""), e.str("traversal_password", ""))
    e.done()

    c = root.table("expressway_c")
    core = CoreConfig(
        system_name=c.str("system_name", "expc"),
        listener=_listener(c, domain, "expc", tls_enabled),
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
        traversal_username=c.str("traversal_username", "traversal"),
        zone_name=c.str("zone_name", "UC Traversal"),
        traversal_peer=c.str("traversal_peer", "").lower(),
        tunnel_retry_min=c.float("tunnel_retry_min", 0.5, low=0.01, high=600),
        tunnel_retry_max=c.float("tunnel_retry_max", 30.0, low=0.01, high=3600),
    )
    c.done()
    # E's local authentication database holds the zone's credentials; unless the lab file says otherwise, the same
    # ones Expressway-C is configured with (a scenario changes one side to break the zone).
    edge = dataclasses.replace(edge, traversal_username=edge_credentials[0] or core.traversal_username,
                               traversal_password=edge_credentials[1] or core.traversal_password)

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
            listener=_listener(cl, domain, "cucm", tls_enabled),
            admin_user=cl.str("admin_user"),
            admin_password=cl.str("admin_password"),
            imp_hosts=tuple(_fqdn(h, domain) for h in cl.str_list("imp", [])),
            enterprise=_enterprise(cl.table("enterprise"), version),
            subscribers=tuple(_subscriber(st, domain, tls_enabled) for st in cl.tables("subscribers")),
            ils=cl.bool("ils", True),
            sso=_enabled(cl, "sso"),
            tls_verify=cl.on_off("tls_verify", True),
            sip_listen_ports=(cl.int("sip_oauth_listen_port", 0, low=0, high=65535),
                              cl.int("sip_mra_oauth_listen_port", 0, low=0, high=65535),
                              cl.int("sip_secure_listen_port", 0, low=0, high=65535),
                              cl.int("tftp_listen_port", 0, low=0, high=65535)),
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
    table = UserTable(users, storm_count, clusters[0].name)  # storm users are made when looked up

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
    imps = _imps(root, clusters, domain, tls_enabled)
    unity = _unity(root, domain, names, tls_enabled)
    idp = _idp(root, domain, table, tls_enabled)
    sip = _sip(root, domain, edge, clusters[0].listener, core.mra_domains)
    certified = {"expressway-e", "expressway-c", *(c.node_name(n) for c in clusters for n in c.nodes),
                 *(i.name for i in imps), *(["unity"] if unity else []), *(["idp"] if idp else [])}
    tls = parse_tls(root, certified)
    dns = parse_dns(root)
    root.done()
    return Lab(source, domain, utc_offset, debug, edge, core, tuple(clusters), table, tuple(clients), jabber,
               tuple(srv), control, imps, unity, idp, sip, tls, dns)


def _enabled(t: TomlTable, key: str) -> bool:
    value = t.str(key, "Disabled")
    if value not in ("Enabled", "Disabled"):
        raise ConfigError(f'{t.where(key)}: expected "Enabled" or "Disabled", got {value!r}')
    return value == "Enabled"


def _idp(root: TomlTable, domain: str, users: Sequence[User], tls_enabled: bool) -> IdpConfig | None:
    """``[idp]``: the SAML identity provider; its directory is the lab's users plus ``[[idp.users]]``."""
    if "idp" not in root.data:
        root.seen.add("idp")
        return None
    t = root.table("idp")
    extra = []
    for ut in t.tables("users"):
        userid = ut.str("userid")
        extra.append(IdpUser(userid, ut.str("password"), ut.str("mail", f"{userid}@{domain}")))
        ut.done()
    uid_from = t.str("uid_from", "userid")
    if uid_from not in ("userid", "mail", "none"):
        raise ConfigError(f"{t.where('uid_from')}: expected 'userid', 'mail' or 'none', got {uid_from!r}")
    listener = _listener(t, domain, "idp", https=tls_enabled)  # HTTPS with a lab-PKI certificate, as AD FS or Okta
    base = default_idp(domain, users, tuple(extra), dataclasses.replace(listener, port=t.int("port", 443, low=1,
                                                                                              high=65535)))
    idp = dataclasses.replace(base, entity_id=t.str("entity_id", base.entity_id), uid_from=uid_from,
                              assertion_minutes=t.int("assertion_minutes", 5, low=1, high=1440),
                              rollover=t.bool("rollover", False),
                              sp_certificate_renewed=t.bool("sp_certificate_renewed", False),
                              encrypt_assertions=t.bool("encrypt_assertions", True))
    t.done()
    return idp


def _sip(root: TomlTable, domain: str, edge: EdgeConfig, cucm: Listener, mra_domains: tuple[str, ...]) -> SipConfig:
    """``[sip]``: every key optional (docs/sip.md); ports are nominal, ``*_listen_port`` where they really listen.

    Each SIP listener is on its node's address: E's client port on its external one, the zone port on E's internal
    one (where the tunnel and XCP listen), CUCM's on the publisher's."""
    t = root.table("sip") if "sip" in root.data else TomlTable(root.source, "sip", {})
    root.seen.add("sip")
    edge_host, cucm_host = edge.listener.host, cucm.host

    def port(name: str, host: str, default: int, address: str, scheme: str = "sip") -> Listener:
        return Listener(host, t.int(f"{name}_port", default, low=1, high=65535), scheme, address,
                        t.int(f"{name}_listen_port", 0, low=0, high=65535))

    sip = SipConfig(
        edge=port("edge", edge_host, 5061, edge.listener.address),
        zone=port("zone", edge_host, 7001, edge.tunnel.address),
        oauth=port("oauth", cucm_host, 5090, cucm.address), mra_oauth=port("mra_oauth", cucm_host, 5091, cucm.address),
        secure=port("secure", cucm_host, 5061, cucm.address), tftp=port("tftp", cucm_host, 6970, cucm.address, "http"),
        sip_domains=tuple(d.lower() for d in t.str_list("sip_domains", list(mra_domains))),
        zone_peer_address=t.str("zone_peer_address", ""),
        keepalive_seconds=float(t.int("keepalive_seconds", 30, low=1, high=3600)),
        oauth_mode=t.bool("oauth_mode", True),
        profile_oauth=t.bool("profile_oauth", True),
        profile_name=_fqdn(t.str("profile_name", "jabber-secure"), domain),
        digest_auth=t.bool("digest_auth", True),
        zone_port_to_cucm=t.int("zone_port_to_cucm", 0, low=0, high=65535),
        c_san=tuple(_fqdn(n, domain) for n in t.str_list("c_san", ["jabber-secure"])),
        cucm_trusts_c=t.bool("cucm_trusts_c", True),
        expires=t.int("expires", 3600, low=60, high=86400),
        granted_expires=t.int("granted_expires", 120, low=30, high=86400),
        min_oauth_jabber=t.str("min_oauth_jabber", "12.5"),
    )
    t.done()
    return sip


def _unity(root: TomlTable, domain: str, clusters: set[str], https: bool) -> UnityConfig | None:
    if "unity" not in root.data:
        root.seen.add("unity")
        return None
    t = root.table("unity")
    cluster = t.str("authz_cluster")
    if cluster not in clusters:
        raise ConfigError(f"{t.where('authz_cluster')}: expected one of {sorted(clusters)}, got {cluster!r}")
    unity = UnityConfig(_listener(t, domain, "cuc", https), cluster, t.str("axl_user"), t.str("axl_password"),
                        t.on_off("tls_verify", True))
    t.done()
    return unity


def _stream_listener(t: TomlTable, host: str, scheme: str, port: int, address: str = "127.0.0.1",
                     address_key: str = "address") -> Listener:
    """A TCP stream service (XMPP 5222, XCP 7400): ``<scheme>_port`` names it, ``<scheme>_listen_port`` binds it;
    ``address_key`` "" takes ``address`` as given."""
    return Listener(host, t.int(f"{scheme}_port", port, low=1, high=65535), scheme,
                    t.str(address_key, address) if address_key else address,
                    t.int(f"{scheme}_listen_port", 0, low=0, high=65535))


def _imps(root: TomlTable, clusters: list[ClusterConfig], domain: str, https: bool) -> tuple[ImpConfig, ...]:
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
            t = tables.get(host) or TomlTable(root.source, f"imp[{host}]", {})
            address = t.str("address", "127.0.0.1")
            t.str("host", host)
            imps.append(ImpConfig(host, cluster.name, _stream_listener(t, host, "xmpp", 5222, address),
                                  _stream_listener(t, host, "xcp", 7400, address),
                                  Listener(host, t.int("epas_port", 8443, low=1, high=65535),
                                           "https" if https else "http", address,
                                           t.int("epas_listen_port", 0, low=0, high=65535)),
                                  t.on_off("tls_verify", True)))
            t.done()
    names = [imp.name for imp in imps]
    if len(set(names)) != len(names):
        raise ConfigError(f"{root.source}: IM&P hosts must differ in their first label, got {sorted(names)}")
    return tuple(imps)


def _subscriber(t: TomlTable, domain: str, https: bool) -> Listener:
    listener = _listener(t, domain, None, https)
    t.done()
    return listener


def parse_enterprise(data: Mapping[str, Any], version: str, source: str = "<enterprise parameters>",
                     base: EnterpriseParameters | None = None) -> EnterpriseParameters:
    """Enterprise parameters from a mapping of lab-file keys, over ``base``; the same validation as the lab file."""
    current = enterprise_settings(base or EnterpriseParameters())
    return _enterprise(TomlTable(source, "enterprise", {**current, **data}), version)


def enterprise_settings(params: EnterpriseParameters) -> dict[str, Any]:
    """Enterprise parameters under the lab file's keys, the names a user types (``mrasim enterprise KEY=VALUE``)."""
    return {"oauth_refresh_login_flow": "Enabled" if params.refresh_login_flow else "Disabled",
            "oauth_access_token_expiry_minutes": params.access_token_minutes,
            "oauth_refresh_token_expiry_days": params.refresh_token_days}


def _enterprise(t: TomlTable, version: str) -> EnterpriseParameters:
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


def _listener(t: TomlTable, domain: str, default_host: str | None, https: bool) -> Listener:
    """An HTTP service; its scheme follows ``[tls] enabled`` (a ``scheme`` key, if given, must agree)."""
    expected = "https" if https else "http"
    scheme = t.str("scheme", expected)
    if scheme not in ("http", "https"):
        raise ConfigError(f"{t.where('scheme')}: expected 'http' or 'https', got {scheme!r}")
    if scheme != expected:
        raise ConfigError(f"{t.where('scheme')}: {scheme!r} in a lab with [tls] enabled = "
                          f"{str(https).lower()}; every hop is {expected}")
    return Listener(
        host=_fqdn(t.str("host") if default_host is None else t.str("host", default_host), domain),
        port=t.int("port", 8443, low=1, high=65535),
        scheme=scheme,
        address=t.str("address", "127.0.0.1"),
        listen_port=t.int("listen_port", 0, low=0, high=65535),
    )


def _offset(t: TomlTable, key: str, default: str) -> dt.timedelta:
    text = t.str(key, default)
    match = _OFFSET.match(text)
    if not match:
        raise ConfigError(f"{t.where(key)}: expected an offset such as '-06:00', got {text!r}")
    if int(match.group(2)) > 23 or int(match.group(3)) > 59:
        raise ConfigError(f"{t.where(key)}: expected hours 00-23 and minutes 00-59, got {text!r}")
    sign = -1 if match.group(1) == "-" else 1
    return sign * dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
