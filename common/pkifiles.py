"""The user's own certificate files in place of the lab's, checked before anything starts.

A customer's exact chain is reproduced by naming their files in the lab file (``[tls] ca_file``, ``ca_key_file``,
``[tls.certs.<node>] cert_file``/``key_file``). Each file is read and checked here, once, and every problem is a
:class:`~common.tomltable.ConfigError` naming the file and the reason — missing, not PEM, a CA file that is not a CA,
a key that does not belong to its certificate — as the products' certificate upload pages refuse them, never a
traceback from deep inside ``ssl``.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from common.pki import is_ca
from common.tomltable import ConfigError


def resolve(path: str, lab_source: str) -> Path:
    """A path from the lab file: absolute, or relative to the lab file's folder."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    base = Path(lab_source).parent if lab_source and not lab_source.startswith("<") else Path.cwd()
    return base / candidate


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file: {exc.strerror}") from None


def load_certificates(path: Path, what: str = "certificate") -> tuple[bytes, list[x509.Certificate]]:
    """Every certificate in a PEM file (a chain or a CA bundle), refused if there is none."""
    data = _read(path, what)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise ConfigError(f"{path}: not a PEM {what} (expected -----BEGIN CERTIFICATE-----)")
    return data, certs


def load_ca(path: Path) -> bytes:
    """The user's CA bundle: every certificate in it must be a CA (basicConstraints CA:TRUE)."""
    data, certs = load_certificates(path, "CA certificate")
    for cert in certs:
        if not is_ca(cert):
            raise ConfigError(f"{path}: {cert.subject.rfc4514_string()} is not a CA certificate "
                              "(basicConstraints CA:FALSE or missing); upload it as a server certificate instead")
    return data


def load_key(path: Path, cert: x509.Certificate, cert_path: Path) -> bytes:
    """A private key in PEM that belongs to ``cert`` (the first certificate of ``cert_path``)."""
    data = _read(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ConfigError(f"{path}: the private key is encrypted; the lab needs it without a passphrase") from None
    except (ValueError, TypeError, Exception) as exc:  # cryptography raises ValueError or UnsupportedAlgorithm
        raise ConfigError(f"{path}: not a PEM private key ({type(exc).__name__})") from None
    mine = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    theirs = cert.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    if mine != theirs:
        raise ConfigError(f"{path}: this private key does not match the certificate in {cert_path}")
    return data


def load_pair(cert_path: Path, key_path: Path) -> tuple[bytes, bytes]:
    """A node's own certificate (with its chain, if the file has one) and the key that matches it."""
    data, certs = load_certificates(cert_path)
    return data, load_key(key_path, certs[0], cert_path)
