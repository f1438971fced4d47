"""CUCM's platform side of OAuth: the AuthZ keys a node holds, and the CLI commands that show and regenerate them.

``show key authz signing`` / ``show key authz encryption`` print a key's checksum, which is how an engineer checks
that every node holds the same keys (seed, "Troubleshooting Tips"). ``set key regen authz signing|encryption`` makes
the publisher generate a new key and store it for the cluster (Cisco *Security Guide for CUCM*, "Regenerating Keys for
OAuth"); each other node, and every resource server that fetched the keys (Expressway-C, Unity Connection), keeps the
old key until it is restarted or refreshed, so tokens signed with the new key fail there until then.

The CLI's exact wording is modelled; the checksum is the SHA-256 that also forms the key's ``kid``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from common.tokens import AuthzKeys, EncryptionKey, KeyRing, SigningKey
from cucm_stub.database import ClusterDatabase
from cucm_stub.wire import LogEvent

KEY_MANAGER = "authz.AuthzKeyManager"
KINDS = ("signing", "encryption")


class ClusterKeys:
    """The AuthZ keys this node's Tomcat loaded; replaced on regeneration (publisher) or restart (others)."""

    def __init__(self, keys: AuthzKeys) -> None:
        self.current = keys
        self.ring = KeyRing((keys,))

    def replace(self, keys: AuthzKeys) -> None:
        self.current = keys
        self.ring = KeyRing((keys,))


def load_or_generate(db: ClusterDatabase, cluster_uuid: str, publisher: bool) -> AuthzKeys:
    """The cluster's keys from its database; a publisher without keys generates them, as on install."""
    keys = db.load_keys(cluster_uuid)
    if keys is not None:
        return keys
    if not publisher:
        raise RuntimeError("no AuthZ keys in the cluster database; start the publisher first")
    keys = AuthzKeys.generate(cluster_uuid)
    db.save_signing(keys.signing)
    db.save_encryption(keys.encryption)
    return keys


@dataclass
class CliResult:
    output: str
    events: list[LogEvent] = field(default_factory=list)
    ok: bool = True


def run_command(command: str, keys: ClusterKeys, db: ClusterDatabase, publisher: bool) -> CliResult:
    words = command.lower().split()
    if words[:3] == ["show", "key", "authz"] and len(words) == 4 and words[3] in KINDS:
        return _show(words[3], keys, db)
    if words[:4] == ["set", "key", "regen", "authz"] and len(words) == 5 and words[4] in KINDS:
        if not publisher:
            return CliResult("Executed command unsuccessfully\nKeys can only be regenerated on the publisher", ok=False)
        return _regen(words[4], keys, db)
    return CliResult(f"Executed command unsuccessfully\nUnknown or incomplete command: {command}\n"
                     "Supported: show key authz signing|encryption, set key regen authz signing|encryption", ok=False)


def _show(kind: str, keys: ClusterKeys, db: ClusterDatabase) -> CliResult:
    key: SigningKey | EncryptionKey = keys.current.signing if kind == "signing" else keys.current.encryption
    created = db.key_created(kind)
    when = dt.datetime.fromtimestamp(created, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if created else "-"
    return CliResult(f"Authz {kind} key checksum: {key.checksum}\nKey last synced: {when}")


def _regen(kind: str, keys: ClusterKeys, db: ClusterDatabase) -> CliResult:
    old = keys.current
    uuid = old.cluster_uuid
    if kind == "signing":
        signing = SigningKey.generate(uuid)
        db.save_signing(signing)
        new = AuthzKeys(uuid, signing, old.encryption)
        checksum = signing.checksum
    else:
        encryption = EncryptionKey.generate(uuid)
        db.save_encryption(encryption)
        new = AuthzKeys(uuid, old.signing, encryption)
        checksum = encryption.checksum
    keys.replace(new)
    event = LogEvent("INFO", KEY_MANAGER, f"AuthZ {kind} key regenerated, new checksum {checksum}")
    return CliResult(
        f"Regenerating authz {kind} key...\nAuthz {kind} key checksum: {checksum}\n"
        "Restart Cisco Tomcat on the other nodes of the cluster and the Cisco XCP Authentication Service on IM and "
        "Presence nodes, and refresh the servers on Expressway-C and Unity Connection, for the new key to apply there.",
        [event],
    )
