"""``mrasim certs``: the lab's certificates as the products' certificate pages show them.

Expressway's *Maintenance > Security > Server certificate* and CUCM's *OS Administration > Certificate Management*
show, for each certificate, its subject, subject alternative names, issuer, validity and fingerprint; so does this,
from the lab's state folder (made on first use, as ``mrasim up`` would), or as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from cli.output import command
from common.config import Lab
from common.pki import CertInfo
from common.tls import LabTls


def add_parser(sub: argparse._SubParsersAction, state: Path) -> None:  # type: ignore[type-arg]
    certs = command(sub, "certs", "show the lab's certificates (subject, SANs, issuer, validity, fingerprint)",
                    ["mrasim certs", "mrasim certs --json"],
                    description="Show each node's certificate from the lab's state folder, made from the lab "
                                       "file on first use (or the user's own files named in [tls]).")
    certs.add_argument("--state", type=Path, default=state, help="the lab's state folder (%(default)s)")
    certs.add_argument("--json", action="store_true", help="print JSON instead of the certificate pages")


def render(info: CertInfo) -> str:
    rows = [("Subject", info.subject), ("Subject alternative names", ", ".join(f"DNS:{n}" for n in info.sans) or "-"),
            ("Issuer", info.issuer), ("Valid from", info.not_before), ("Valid to", info.not_after),
            ("Serial number", info.serial), ("SHA-256 fingerprint", info.fingerprint)]
    return "\n".join([info.name, *(f"  {k:<27}{v}" for k, v in rows)])


def run(args: argparse.Namespace, lab: Lab) -> int:
    tls = LabTls.prepare(lab, args.state)
    if tls is None:
        print("mrasim: this lab runs without TLS ([tls] enabled = false); it has no certificates")
        return 1
    infos = tls.certificates()
    if args.json:
        print(json.dumps({"trust": str(tls.ca_file), "certificates": [dataclasses.asdict(i) for i in infos]},
                         indent=2))
        return 0
    print("\n\n".join(render(i) for i in infos))
    print(f"\nTrusted CA list (curl --cacert): {tls.ca_file}")
    return 0
