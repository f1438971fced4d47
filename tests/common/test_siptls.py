"""The SIP hops on the lab PKI (common/tls.py): each listener presents the certificate TAC 215572 and the MRA
deployment guide name, and a certificate CUCM does not trust fails the handshake itself. Handshakes run over memory
BIOs (no sockets, no timing): the same OpenSSL checks the nodes make on their sockets."""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from common.config import Lab, load_lab
from common.tls import LabTls


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab()


def handshake(client: ssl.SSLContext, server: ssl.SSLContext, name: str) -> tuple[x509.Certificate | None,
                                                                                str | None]:
    """Run a TLS handshake between the two contexts; the server certificate the client saw, and the error of the
    side that failed (None when both finished)."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_client = client.wrap_bio(c_in, c_out, server_hostname=name)
    tls_server = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for side, obj, out, peer_in in (("client", tls_client, c_out, s_in), ("server", tls_server, s_out, c_in)):
            if not done[side]:
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
                except ssl.SSLError as exc:
                    return None, f"{side}: {exc.reason}"
            peer_in.write(out.read())
        if all(done.values()):
            return _seen(tls_client), None
    raise AssertionError("handshake did not finish")


def _seen(obj: ssl.SSLObject) -> x509.Certificate:
    der = obj.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _cn(cert: x509.Certificate) -> str:
    return cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value  # type: ignore[return-value]


def _pem(tls: LabTls, key: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(tls.issued[key].cert_pem)


def test_each_sip_listener_presents_the_certificate_cisco_documents(lab: Lab, tmp_path: Path) -> None:
    tls = LabTls.prepare(lab, tmp_path)
    assert tls is not None
    jabber = tls.client_context("jabber")
    assert isinstance(jabber, ssl.SSLContext)
    seen, error = handshake(jabber, tls.sip_server_context("expressway-e:sip"), "expe.lab.example")
    assert error is None and seen == _pem(tls, "expressway-e server")
    c_to_cucm = tls.sip_client_context("cucm.lab.example")
    for port, role in (("sipmra", "tomcat"), ("sips", "CallManager")):
        seen, error = handshake(c_to_cucm, tls.sip_server_context(f"cucm:cluster1:{port}"), "cucm.lab.example")
        assert error is None, port
        assert seen is not None and seen == _pem(tls, f"cucm:cluster1 {role}") and _cn(seen) == "cucm.lab.example"
    zone_client = tls.client_context("expressway-c")
    assert isinstance(zone_client, ssl.SSLContext)
    assert handshake(zone_client, tls.sip_server_context("expressway-e:zone"), "expe.lab.example")[1] is None


def test_mutual_tls_ports_refuse_a_peer_without_a_trusted_certificate(lab: Lab, tmp_path: Path) -> None:
    tls = LabTls.prepare(lab, tmp_path)
    assert tls is not None
    jabber = tls.client_context("jabber")
    assert isinstance(jabber, ssl.SSLContext)
    # Jabber has no certificate: E's zone port and CUCM's 5091 require one
    assert handshake(jabber, tls.sip_server_context("expressway-e:zone"), "expe.lab.example")[1] is not None
    assert handshake(jabber, tls.sip_server_context("cucm:cluster1:sipmra"), "cucm.lab.example")[1] is not None
    # C's issuer never uploaded to CUCM: CUCM's 5091 refuses C's certificate, while E's zone still takes it
    untrusting = dataclasses.replace(lab, sip=dataclasses.replace(lab.sip, cucm_trusts_c=False))
    tls = LabTls.prepare(untrusting, tmp_path)
    assert tls is not None
    _, error = handshake(tls.sip_client_context("cucm.lab.example"), tls.sip_server_context("cucm:cluster1:sipmra"),
                         "cucm.lab.example")
    assert error is not None and "CERTIFICATE_VERIFY_FAILED" in error.upper().replace(" ", "_"), error
    zone_client = tls.client_context("expressway-c")
    assert isinstance(zone_client, ssl.SSLContext)
    assert handshake(zone_client, tls.sip_server_context("expressway-e:zone"), "expe.lab.example")[1] is None


def test_cs_certificate_names_the_phone_security_profiles_cucm_checks(lab: Lab, tmp_path: Path) -> None:
    without = dataclasses.replace(lab, sip=dataclasses.replace(lab.sip, c_san=()))
    for model, expected in ((lab, True), (without, False)):
        tls = LabTls.prepare(model, tmp_path / str(expected))
        assert tls is not None
        sans = _pem(tls, "expressway-c server").extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert ("jabber-secure.lab.example" in sans.value.get_values_for_type(x509.DNSName)) is expected
