"""The lab's transport settings, parts of :class:`common.labmodel.Lab`: the certificates staged for each node
(``[tls]``, docs/transport.md), the records taken out of the DNS views (``[dns]``) and phone service over the edge
(``[sip]``, docs/sip.md)."""

from __future__ import annotations

from dataclasses import dataclass

from common.listener import Listener


@dataclass(frozen=True)
class CertStaging:
    """How a node's certificate is staged (``[tls.certs.<node>]``); the default is a lab-CA certificate with every
    name the deployment guide requires (:mod:`common.pki`).

    ``signer``: ``lab-ca``, ``self-signed`` (the products' install-time default) or ``other-ca`` (a CA the peers do not
    trust). ``omit_sans``: names left out. ``expired``: its validity ended yesterday. ``renewed``: regenerated after its
    peers stored the previous one. ``cert_file``/``key_file``: the user's own certificate and key in its place.
    """

    signer: str = "lab-ca"
    omit_sans: tuple[str, ...] = ()
    expired: bool = False
    renewed: bool = False
    cert_file: str = ""
    key_file: str = ""


@dataclass(frozen=True)
class TlsConfig:
    """``[tls]``: TLS on every hop (the default) or the plain-HTTP lab kept for speed comparisons; the user's CA; how
    each node's certificate is staged."""

    enabled: bool = True
    ca_file: str = ""
    ca_key_file: str = ""
    certs: tuple[tuple[str, CertStaging], ...] = ()
    handshake_timeout: float = 30.0  # seconds a client has to finish its TLS handshake (slowloris over TLS)

    def staging(self, node: str) -> CertStaging:
        return next((s for n, s in self.certs if n == node), CertStaging())


@dataclass(frozen=True)
class DnsConfig:
    """``[dns]``: the records taken out of the public view (what Jabber outside sees: ``_collab-edge._tls``, E's A
    record) and of the internal view (``_cisco-uds._tcp``, CUCM, IM&P and Unity hosts)."""

    omit_public: tuple[str, ...] = ()
    omit_internal: tuple[str, ...] = ()


@dataclass(frozen=True)
class SipConfig:
    """Phone service over the edge (docs/sip.md): E's SIP ports, the traversal zone, CUCM's SIP line side.

    ``oauth_mode`` is CUCM's cluster parameter ClusterSIPOAuthMode (``utils sipOAuth-mode enable``);
    ``profile_oauth`` the phone security profile's "Enable OAuth Authentication"; ``zone_port_to_cucm`` the port of the
    CEOAuth zone Expressway-C built at "Refresh servers" (CUCM's sipMRAOAuthPort then). Names in ``c_san`` are
    the extra SANs of C's certificate (the phone security profile names, as the deployment guide asks).
    """

    edge: Listener = Listener("expe", 5061, "sip", "127.0.0.1", 0)
    zone: Listener = Listener("expe", 7001, "sip", "127.0.0.1", 0)
    oauth: Listener = Listener("cucm", 5090, "sip", "127.0.0.1", 0)
    mra_oauth: Listener = Listener("cucm", 5091, "sip", "127.0.0.1", 0)
    secure: Listener = Listener("cucm", 5061, "sip", "127.0.0.1", 0)
    tftp: Listener = Listener("cucm", 6970, "http", "127.0.0.1", 0)
    sip_domains: tuple[str, ...] = ()
    zone_peer_address: str = ""
    keepalive_seconds: float = 30.0
    oauth_mode: bool = True
    profile_oauth: bool = True
    profile_name: str = "jabber-secure.lab.example"
    digest_auth: bool = True
    zone_port_to_cucm: int = 0
    c_san: tuple[str, ...] = ("jabber-secure.lab.example",)
    cucm_trusts_c: bool = True
    expires: int = 3600
    granted_expires: int = 120
    min_oauth_jabber: str = "12.5"

    @property
    def cucm_zone_port(self) -> int:
        """The port C's automatic zone dials on CUCM: the CEOAuth zone with SIP OAuth, else CEtls 5061."""
        if self.oauth_mode and self.profile_oauth:
            return self.zone_port_to_cucm or self.mra_oauth.port
        return self.secure.port
