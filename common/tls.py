"""TLS for every node: the lab's certificates on disk, and the SSL contexts each node listens and dials with.

:class:`LabTls` is made once per lab (``lab/running.py``, ``mrasim serve``) from the lab file and its state folder,
and hangs off the lab's resolver (the lab's network, like the fault engine), so each node takes its contexts from
there without any start function changing shape:

* ``server_context(listener)`` — the certificate the listener presents (E's on 8443 and 5222, C's, CUCM's Tomcat …).
  Expressway-C asks the peer for a certificate and checks any it gets (the traversal link is mutual TLS).
* ``client_context(node, host)`` — what the node trusts when it dials ``host``: the lab CA (or the user's), plus any
  certificate a peer stored before it was renewed. Expressway-C checks CUCM, IM&P and Unity only when its "TLS verify
  mode" for that server is On (Cisco Expressway MRA Deployment Guide, "Unified CM servers"; since X14.2 the traffic
  server enforces it — Cisco TAC doc 218018); ``False`` means "encrypt, verify nothing".

Both sides speak TLS 1.2, as Expressway X14 and CUCM 14 negotiate it by default; it also makes a client's refusal of a
certificate reach the server inside the handshake (with TLS 1.3 the server would finish first and see only a closed
connection), so both ends can log it — see docs/transport.md.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from common.labmodel import Lab
from common.pki import OTHER_CA_NAME, CertInfo, CertSpec, Issued, cert_specs, issue, lab_ca
from common.pkifiles import load_ca, load_certificates, load_key, load_pair, resolve
from common.tomltable import ConfigError

TLS_VERSION = ssl.TLSVersion.TLSv1_2

# Which certificate each TLS listener presents (listener names are Lab.listeners()'s).
_ROLE_OF_LISTENER = {"expressway-e": ("expressway-e", "server"), "expressway-e:xmpp": ("expressway-e", "server"),
                     "expressway-e:xcp": ("expressway-e", "server"),
                     "expressway-c": ("expressway-c", "server"), "unity": ("unity", "tomcat"),
                     "idp": ("idp", "server")}


class ServerContext(ssl.SSLContext):
    """A listener's SSL context, with what its accept loop needs besides (``common/serve.py``): how long a client has
    to finish the handshake, and the names its certificate carries, to tell a foreign SNI name (RFC 6066 section 3)."""

    handshake_timeout: float = 30.0
    names: tuple[str, ...] = ()


def _note_server_name(tls: ssl.SSLObject | ssl.SSLSocket, name: str | None, context: ssl.SSLContext) -> None:
    """Keep the SNI name the client sent on its connection; the handshake goes on with our certificate whatever it is
    (Apache Traffic Server presents its default certificate for an unknown name)."""
    tls.server_name_indication = name  # type: ignore[union-attr]


def _watch_renegotiation(tls: object, direction: str, version: object, content_type: object, msg_type: object,
                         data: bytes) -> None:
    """Tell the accept loop when a client sends a second ClientHello on a connection: a renegotiation, which
    OpenSSL refuses (``OP_NO_RENEGOTIATION``) and the accept loop logs and closes (``common/serve.py``).

    ``SSLContext._msg_callback`` is CPython's hook for watching TLS messages (``ssl`` module, since 3.8; not in the
    documented API): OpenSSL refuses a renegotiation with a warning alert and nothing reaches the application, so this
    is the only place it can be seen from Python.
    """
    if direction != "read" or content_type != ssl._TLSContentType.HANDSHAKE:  # type: ignore[attr-defined]
        return
    if msg_type != ssl._TLSMessageType.CLIENT_HELLO:  # type: ignore[attr-defined]
        return
    if getattr(tls, "client_hellos", 0) >= 1:
        refused = getattr(tls, "on_renegotiation", None)
        if refused is not None:
            refused()
    setattr(tls, "client_hellos", getattr(tls, "client_hellos", 0) + 1)


@dataclass
class LabTls:
    """The lab's certificates (``<state>/pki/``) and the SSL contexts made from them, each made once."""

    lab: Lab
    directory: Path
    ca_pem: bytes
    issued: dict[str, Issued]
    specs: dict[str, CertSpec]
    _servers: dict[str, ServerContext] = field(default_factory=dict)
    _clients: dict[tuple[str, bool], ssl.SSLContext] = field(default_factory=dict)

    @classmethod
    def prepare(cls, lab: Lab, state_dir: Path) -> LabTls | None:
        """Load or make the lab's certificates in ``state_dir/pki``; None for a plain-HTTP lab.

        Raises :class:`ConfigError` naming the file for a user's certificate, key or CA that cannot be used.
        """
        if not lab.tls.enabled:
            return None
        user_ca = load_ca(resolve(lab.tls.ca_file, lab.source)) if lab.tls.ca_file else b""
        directory = state_dir / "pki"
        if lab.tls.ca_key_file:
            ca_path = resolve(lab.tls.ca_file, lab.source)
            ca_key = load_key(resolve(lab.tls.ca_key_file, lab.source), load_certificates(ca_path)[1][0], ca_path)
            signing = (user_ca, ca_key)
            trust = user_ca
        else:
            signing = _lab_ca_on_disk(directory)
            trust = user_ca + signing[0]
        kept = _kept(directory)
        issued: dict[str, Issued] = {}
        specs: dict[str, CertSpec] = {}
        for spec in cert_specs(lab):
            staging = spec.staging
            if staging.cert_file:
                cert_pem, key_pem = load_pair(resolve(staging.cert_file, lab.source),
                                              resolve(staging.key_file, lab.source))
                issued[spec.key] = Issued(cert_pem, key_pem)
            else:
                issued[spec.key] = kept.get(_manifest_line(spec, signing[0])) or issue(spec, *signing)
            specs[spec.key] = spec
        trust += b"".join(i.previous_pem for i in issued.values())
        files = {"ca.pem": trust}
        for key, done in issued.items():
            files.update({f"{_stem(key)}.pem": done.cert_pem, f"{_stem(key)}.key": done.key_pem})
            if done.previous_pem:
                files[f"{_stem(key)}.previous.pem"] = done.previous_pem
        files["manifest"] = "".join(f"{_manifest_line(s, signing[0])}\t{_stem(k)}\n"
                                    for k, s in specs.items() if not s.staging.cert_file).encode()
        _write(directory, files)
        return cls(lab, directory, trust, issued, specs)

    @property
    def ca_file(self) -> Path:
        """The trust anchors (``curl --cacert``, slixmpp's ``ca_certs``)."""
        return self.directory / "ca.pem"

    def certificates(self) -> list[CertInfo]:
        return [CertInfo.of(key, issued.cert_pem) for key, issued in self.issued.items()]

    def cert_key(self, listener: str) -> str:
        """The certificate (``node role``) a listener presents."""
        if listener in _ROLE_OF_LISTENER:
            return " ".join(_ROLE_OF_LISTENER[listener])
        if listener.endswith(":xcp"):  # IM&P's XCP router port presents its cup-xmpp certificate
            return f"{listener[:-4]} cup-xmpp"
        if listener.endswith(":epas"):
            return f"{listener[:-5]} tomcat"
        return f"{listener} tomcat"

    def server_context(self, listener: str) -> ServerContext:
        if listener not in self._servers:
            key = self.cert_key(listener)
            context = ServerContext(ssl.PROTOCOL_TLS_SERVER)
            context.maximum_version = TLS_VERSION
            # Client-initiated renegotiation (TLS 1.2) is refused, as Apache Traffic Server and Tomcat refuse it by
            # default: a renegotiation costs the server a handshake for a few bytes of the client's (CVE-2011-1473).
            context.options |= ssl.OP_NO_RENEGOTIATION
            context.handshake_timeout = self.lab.tls.handshake_timeout
            context.names = CertInfo.of(key, self.issued[key].cert_pem).sans if key in self.issued else ()
            context.sni_callback = _note_server_name
            if hasattr(context, "_msg_callback"):
                context._msg_callback = _watch_renegotiation
            stem = self.directory / _stem(key)
            context.load_cert_chain(f"{stem}.pem", f"{stem}.key")
            if listener in ("expressway-c", "expressway-e:xcp"):  # the traversal links are mutual TLS
                context.verify_mode = ssl.CERT_OPTIONAL
                context.load_verify_locations(cadata=self.ca_pem.decode())
            self._servers[listener] = context
        return self._servers[listener]

    def client_context(self, node: str, host: str = "") -> ssl.SSLContext | bool:
        """How ``node`` dials ``host``: a verifying context, or False where its TLS verify mode is Off."""
        verify = not (node == "expressway-c" and not self._verify_mode(host))
        if not verify:
            return False
        if (node, verify) not in self._clients:
            context = ssl.create_default_context(cadata=self.ca_pem.decode())
            context.maximum_version = TLS_VERSION
            own = {"expressway-e": "expressway-e server", "expressway-c": "expressway-c server"}.get(node)
            if own is not None and own in self.issued:
                stem = self.directory / _stem(own)
                context.load_cert_chain(f"{stem}.pem", f"{stem}.key")
            self._clients[(node, verify)] = context
        return self._clients[(node, verify)]

    def sip_server_context(self, listener: str) -> ServerContext:
        """A SIP listener (``Lab.sip_listeners()``'s names):

        * E's 5061 (``expressway-e:sip``): E's server certificate; Jabber presents none.
        * E's 7001 (``expressway-e:zone``): E's certificate, and C must present one E can verify (the traversal zone
          is mutual TLS, like the tunnel).
        * CUCM's SIP OAuth ports 5090 (``…:sipoauth``) and 5091 (``…:sipmra``): the node's Tomcat certificate, which
          CallManager presents on the OAuth ports (Cisco TAC 215572); 5091 requires the peer's certificate.
        * CUCM's secure port 5061 (``…:sips``): the CallManager certificate, the peer's required.

        A peer's certificate is checked against CUCM's trust stores (:meth:`cucm_trust`).
        """
        if listener not in self._servers:
            node, _, port = listener.rpartition(":")
            context = ServerContext(ssl.PROTOCOL_TLS_SERVER)
            context.maximum_version = TLS_VERSION
            context.options |= ssl.OP_NO_RENEGOTIATION  # as on the HTTPS listeners (server_context)
            role = {"sipoauth": "tomcat", "sipmra": "tomcat", "sips": "CallManager"}.get(port)
            stem = self.directory / _stem(f"{node} {role}" if role else "expressway-e server")
            context.load_cert_chain(f"{stem}.pem", f"{stem}.key")
            if port == "zone":
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(cadata=self.ca_pem.decode())
            elif port in ("sipmra", "sips"):
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(cadata=self.cucm_trust().decode())
            self._servers[listener] = context
        return self._servers[listener]

    def cucm_trust(self) -> bytes:
        """What CUCM's tomcat-trust and CallManager-trust hold for its mutual-TLS SIP ports: the lab's trust anchors,
        unless ``[sip] cucm_trusts_c = false`` — Expressway-C's issuing CA never uploaded to CUCM (TAC 215572
        scenario 3; TAC 225476: C's CA chain belongs in both stores) — when they hold another enterprise CA instead."""
        if self.lab.sip.cucm_trusts_c:
            return self.ca_pem
        return lab_ca(OTHER_CA_NAME)[0]

    def sip_client_context(self, host: str) -> ssl.SSLContext:
        """Expressway-C's CEOAuth/CEtls zone to the CUCM node ``host``: C always presents its certificate (CUCM's
        5091/5061 require it); it checks CUCM's CallManager certificate only when its TLS verify mode for the
        cluster is On (the zone follows the server's setting, MRA deployment guide)."""
        verified = self.client_context("expressway-c", host)
        if verified is not False:
            return verified
        key = ("expressway-c sip", False)
        if key not in self._clients:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.maximum_version = TLS_VERSION
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            stem = self.directory / _stem("expressway-c server")
            context.load_cert_chain(f"{stem}.pem", f"{stem}.key")
            self._clients[key] = context
        return self._clients[key]

    def _verify_mode(self, host: str) -> bool:
        """Expressway-C's "TLS verify mode" for the server at ``host`` (On unless the lab file says Off)."""
        host = host.lower()
        for cluster in self.lab.clusters:
            if any(node.host == host for node in cluster.nodes):
                return cluster.tls_verify
        for imp in self.lab.imps:
            if imp.host == host:
                return imp.tls_verify
        if self.lab.unity is not None and self.lab.unity.listener.host == host:
            return self.lab.unity.tls_verify
        return True


def _lab_ca_on_disk(directory: Path) -> tuple[bytes, bytes]:
    """The lab CA this state folder already has (nodes in other processes sign nothing new), else a new one."""
    try:
        return (directory / "lab-ca.pem").read_bytes(), (directory / "lab-ca.key").read_bytes()
    except OSError:
        made = lab_ca()
        _write(directory, {"lab-ca.pem": made[0], "lab-ca.key": made[1]})
        return made


def _manifest_line(spec: CertSpec, ca_pem: bytes) -> str:
    """What a kept certificate was made from: the same spec under the same CA is the same certificate."""
    return hashlib.sha256(repr((spec, ca_pem)).encode()).hexdigest()


def _kept(directory: Path) -> dict[str, Issued]:
    """The certificates already in the state folder, by the manifest line they were made from."""
    kept: dict[str, Issued] = {}
    try:
        lines = (directory / "manifest").read_text().splitlines()
    except OSError:
        return kept
    for line in lines:
        digest, _, stem = line.partition("\t")
        try:
            cert, key = (directory / f"{stem}.pem").read_bytes(), (directory / f"{stem}.key").read_bytes()
        except OSError:
            continue
        previous = directory / f"{stem}.previous.pem"
        kept[digest] = Issued(cert, key, previous.read_bytes() if previous.exists() else b"")
    return kept


def _stem(key: str) -> str:
    return key.replace(":", "_").replace(" ", "-")


def _write(directory: Path, files: dict[str, bytes]) -> None:
    """Write the files unless they are already there with the same bytes; atomically, for nodes in other processes."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        path = directory / name
        try:
            if path.read_bytes() == data:
                continue
        except OSError:
            pass
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if name.endswith(".key"):
            os.chmod(temporary, 0o600)
        os.replace(temporary, path)


def peer_subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


__all__ = ["ConfigError", "LabTls", "TLS_VERSION"]
