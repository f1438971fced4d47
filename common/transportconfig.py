"""The lab file's ``[tls]`` and ``[dns]`` tables (read by :mod:`common.config`, described in docs/transport.md).

``[tls]`` turns TLS on every hop on (the default) or off (the plain-HTTP lab kept for speed comparisons), names the
user's own CA, and stages each node's certificate (``[tls.certs.<node>]``: who signed it, names left out, expired,
renewed, or the user's own files). ``[dns]`` takes records out of the public or the internal view.
"""

from __future__ import annotations

from common.labmodel import CertStaging, DnsConfig, TlsConfig
from common.tomltable import ConfigError, TomlTable

SIGNERS = ("lab-ca", "self-signed", "other-ca")


def parse_tls(root: TomlTable, nodes: set[str]) -> TlsConfig:
    """``nodes``: the lab's node names a ``[tls.certs.<node>]`` table may name."""
    t = root.table("tls")
    enabled = t.bool("enabled", True)
    ca_file, ca_key_file = t.str("ca_file", ""), t.str("ca_key_file", "")
    if ca_key_file and not ca_file:
        raise ConfigError(f"{t.where('ca_key_file')}: a CA key needs its certificate in ca_file")
    certs = []
    table = t.table("certs")
    for node in table.data:
        if node not in nodes:
            raise ConfigError(f"{table.where(node)}: no node {node!r} presents a certificate; "
                              f"expected one of {sorted(nodes)}")
        c = table.table(node)
        signer = c.str("signer", "lab-ca")
        if signer not in SIGNERS:
            raise ConfigError(f"{c.where('signer')}: expected one of {', '.join(SIGNERS)}, got {signer!r}")
        staging = CertStaging(signer=signer, omit_sans=tuple(c.str_list("omit_sans", [])),
                              expired=c.bool("expired", False), renewed=c.bool("renewed", False),
                              cert_file=c.str("cert_file", ""), key_file=c.str("key_file", ""))
        if bool(staging.cert_file) != bool(staging.key_file):
            raise ConfigError(f"{c.where('cert_file')}: a certificate file and its key_file go together")
        c.done()
        certs.append((node, staging))
    table.done()
    handshake_timeout = t.float("handshake_timeout", 30.0, low=0.1, high=3600.0)
    t.done()
    return TlsConfig(enabled, ca_file, ca_key_file, tuple(certs), handshake_timeout)


def parse_dns(root: TomlTable) -> DnsConfig:
    t = root.table("dns")
    dns = DnsConfig(tuple(n.lower().rstrip(".") for n in t.str_list("omit_public", [])),
                    tuple(n.lower().rstrip(".") for n in t.str_list("omit_internal", [])))
    t.done()
    return dns
