"""The lab PKI: one certificate per node with the names the MRA deployment guide requires, shown like the products'
certificate pages, and the user's own files checked before anything starts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from cli.main import main
from common.config import ConfigError, Lab, load_lab, parse_lab
from common.labmodel import CertStaging, TlsConfig
from common.pki import CertInfo, lab_ca
from common.tls import LabTls


@pytest.fixture(scope="module")
def lab() -> Lab:
    return load_lab()


def staged(lab: Lab, node: str, **staging: object) -> Lab:
    return dataclasses.replace(lab, tls=TlsConfig(True, certs=((node, CertStaging(**staging)),)))  # type: ignore[arg-type]


def infos(tls: LabTls) -> dict[str, CertInfo]:
    return {i.name: i for i in tls.certificates()}


def test_every_node_has_a_certificate_with_the_names_the_guide_requires(lab: Lab, tmp_path: Path) -> None:
    tls = LabTls.prepare(lab, tmp_path)
    assert tls is not None
    certs = infos(tls)
    assert certs["expressway-e server"].sans == ("expe.lab.example", "lab.example")
    assert certs["expressway-e server"].subject.startswith("CN=expe.lab.example")
    # C's certificate carries the phone security profile names ([sip] c_san), as the MRA deployment guide asks
    assert certs["expressway-c server"].sans == ("expc.lab.example", "jabber-secure.lab.example")
    assert certs["cucm:cluster1 tomcat"].sans == ("cucm.lab.example",)
    assert "cucm:cluster1 CallManager" in certs and "imp:imp tomcat" in certs and "unity tomcat" in certs
    assert all(c.issuer.startswith("CN=mrasim Lab Root CA") for c in certs.values())
    assert len(certs["unity tomcat"].fingerprint.split(":")) == 32


def test_the_state_folder_keeps_the_certificates_across_starts(lab: Lab, tmp_path: Path) -> None:
    first, again = LabTls.prepare(lab, tmp_path), LabTls.prepare(lab, tmp_path)
    assert first is not None and again is not None
    assert first.issued == again.issued
    assert (tmp_path / "pki" / "ca.pem").read_bytes() == first.ca_pem


def test_staged_certificates_fail_the_way_the_field_does(lab: Lab, tmp_path: Path) -> None:
    tls = LabTls.prepare(staged(lab, "expressway-e", omit_sans=("lab.example",), expired=True), tmp_path / "a")
    assert tls is not None
    edge = x509.load_pem_x509_certificate(tls.issued["expressway-e server"].cert_pem)
    assert infos(tls)["expressway-e server"].sans == ("expe.lab.example",)
    assert edge.not_valid_after_utc < x509.load_pem_x509_certificate(tls.ca_pem).not_valid_after_utc
    tls = LabTls.prepare(staged(lab, "cucm:cluster1", signer="self-signed", renewed=True), tmp_path / "b")
    assert tls is not None
    tomcat = infos(tls)["cucm:cluster1 tomcat"]
    assert tomcat.subject == tomcat.issuer
    previous = tls.issued["cucm:cluster1 tomcat"].previous_pem
    assert previous and previous in tls.ca_pem and tls.issued["cucm:cluster1 tomcat"].cert_pem not in tls.ca_pem


def _user_pair(tmp_path: Path, lab: Lab) -> tuple[Path, Path, Path]:
    """A 'customer' CA and an E certificate it signed, written as the customer would hand them over."""
    other = LabTls.prepare(lab, tmp_path / "customer")
    assert other is not None
    ca, cert, key = tmp_path / "ca.pem", tmp_path / "expe.pem", tmp_path / "expe.key"
    ca.write_bytes((tmp_path / "customer" / "pki" / "lab-ca.pem").read_bytes())
    cert.write_bytes(other.issued["expressway-e server"].cert_pem)
    key.write_bytes(other.issued["expressway-e server"].key_pem)
    return ca, cert, key


def _lab_with_files(tmp_path: Path, **files: str) -> Lab:
    text = Path("lab/labs/default.toml").read_text() + "\n[tls]\n"
    if "ca" in files:
        text += f'ca_file = "{files["ca"]}"\n'
    if "cert" in files:
        text += f'[tls.certs.expressway-e]\ncert_file = "{files["cert"]}"\nkey_file = "{files["key"]}"\n'
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return load_lab(path)


def test_the_users_own_certificate_replaces_the_generated_one(lab: Lab, tmp_path: Path) -> None:
    ca, cert, key = _user_pair(tmp_path, lab)
    tls = LabTls.prepare(_lab_with_files(tmp_path, ca="ca.pem", cert="expe.pem", key="expe.key"), tmp_path / "state")
    assert tls is not None
    assert tls.issued["expressway-e server"].cert_pem == cert.read_bytes()
    assert ca.read_bytes() in tls.ca_pem


@pytest.mark.parametrize("problem", ["missing", "not-pem", "ca-not-a-ca", "key-mismatch"])
def test_a_broken_user_file_is_refused_naming_the_file(lab: Lab, tmp_path: Path, problem: str) -> None:
    ca, cert, key = _user_pair(tmp_path, lab)
    files = {"ca": "ca.pem", "cert": "expe.pem", "key": "expe.key"}
    if problem == "missing":
        files["cert"], expected = "nowhere.pem", "nowhere.pem: no such certificate file"
    elif problem == "not-pem":
        cert.write_text("hello\n")
        expected = "expe.pem: not a PEM certificate"
    elif problem == "ca-not-a-ca":
        files["ca"], expected = "expe.pem", "is not a CA certificate"
    else:
        other = serialization.load_pem_private_key(lab_ca("Someone Else")[1], None)
        key.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
        expected = "expe.key: this private key does not match the certificate in"
    with pytest.raises(ConfigError) as caught:
        LabTls.prepare(_lab_with_files(tmp_path, **files), tmp_path / "state")
    assert expected in str(caught.value)


def test_mrasim_up_refuses_a_broken_file_at_start_without_a_traceback(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    text = Path("lab/labs/default.toml").read_text() + '\n[tls]\nca_file = "missing-ca.pem"\n'
    (tmp_path / "lab.toml").write_text(text)
    assert main(["--lab", str(tmp_path / "lab.toml"), "certs", "--state", str(tmp_path / "state")]) == 2
    err = capsys.readouterr().err
    assert "missing-ca.pem: no such CA certificate file" in err and "Traceback" not in err


def test_mrasim_certs_shows_the_certificate_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "--state", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "expressway-e server\n  Subject                    CN=expe.lab.example" in text
    assert "Subject alternative names  DNS:expe.lab.example, DNS:lab.example" in text
    assert "SHA-256 fingerprint" in text and f"{tmp_path}/pki/ca.pem" in text
    assert main(["certs", "--state", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {c["name"]: c for c in data["certificates"]}
    assert names["cucm:cluster1 tomcat"]["sans"] == ["cucm.lab.example"]


def test_tls_and_dns_tables_are_validated_like_the_rest_of_the_lab_file() -> None:
    import tomllib
    data = tomllib.loads(Path("lab/labs/default.toml").read_text())
    with pytest.raises(ConfigError, match=r"tls\.certs\.expressway-e\.signer: expected one of"):
        parse_lab({**data, "tls": {"certs": {"expressway-e": {"signer": "mystery"}}}}, "lab.toml")
    with pytest.raises(ConfigError, match="no node 'expressway-x' presents a certificate"):
        parse_lab({**data, "tls": {"certs": {"expressway-x": {}}}}, "lab.toml")
    with pytest.raises(ConfigError, match=r"dns\.omit_public: expected a list of strings"):
        parse_lab({**data, "dns": {"omit_public": "x"}}, "lab.toml")
    plain = parse_lab({**data, "tls": {"enabled": False}}, "lab.toml")
    assert plain.edge.listener.origin == "http://expe.lab.example:8443"
