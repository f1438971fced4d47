"""The CUCM database as UDS and ssosp see it: end users, their devices, and the application user Expressway-C uses.

Users come from the lab file. A cluster *homes* the users whose ``cluster`` names it; it also knows every other
user's home cluster, as CUCM does through ILS, so ``clusterUser`` can answer for users homed elsewhere while
``/cucm-uds/user/<u>``, password checks and tokens are only for users homed here.

User ids match case-sensitively: CUCM stores the id as entered and ``clusterUser?username=AOkanlawon`` does not find
``aokanlawon``. Passwords never leave this module: :class:`EndUser` carries no password, so no repr or log of a
user can print one, and checks use :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass

from common.config import ClusterConfig, Lab, User
from common.stormusers import find_user

_NO_PASSWORD = "\x00no such user\x00"


@dataclass(frozen=True)
class PhoneDevice:
    """A device associated with the user in CUCM (UDS ``/user/<u>/devices``)."""

    pkid: str
    name: str
    model: str
    description: str
    type: str = "Phone"


@dataclass(frozen=True)
class EndUser:
    """An end user as UDS renders it; ``home_origin`` is the home cluster's URL origin."""

    pkid: str
    userid: str
    first_name: str
    last_name: str
    display_name: str
    email: str
    home_host: str
    home_origin: str
    home_local: bool
    mra_enabled: bool
    devices: tuple[PhoneDevice, ...]
    home_cluster: bool = True
    home_ils: bool = True


class Directory:
    """One cluster's view of the lab's users: lookups and password checks, no I/O."""

    def __init__(self, lab: Lab, cluster: ClusterConfig) -> None:
        self.cluster = cluster
        self._domain = lab.domain
        self._clusters = {c.name: c for c in lab.clusters}
        # Rows are built when first looked up: a lab with 20,000 storm users starts as fast as one with three.
        self._find = find_user(lab.users)
        self._users: dict[str, EndUser] = {}

    def _row(self, userid: str) -> EndUser | None:
        user = self._users.get(userid)
        if user is None:
            row = self._find(userid)
            if row is None:
                return None
            home = self._clusters[row.cluster]
            user = self._users[userid] = _end_user(row, home, self._domain, home.name == self.cluster.name)
        return user

    def find(self, userid: str) -> EndUser | None:
        """A user this cluster can name a home cluster for: its own users, and those of the clusters it shares an ILS
        network with (the view ``clusterUser`` answers from). A user whose "Home Cluster" box is unchecked has no
        home cluster anywhere."""
        user = self._row(userid)
        if user is None or not user.home_cluster:
            return None
        if user.home_local or (self.cluster.ils and user.home_ils):
            return user
        return None

    def local_user(self, userid: str) -> EndUser | None:
        """A user homed on this cluster, or None."""
        user = self._row(userid)
        return user if user is not None and user.home_local else None

    def check_end_user(self, userid: str, password: str) -> EndUser | None:
        """The local user whose password this is, or None (unknown users cost a comparison too)."""
        row = self._find(userid)
        local = row is not None and row.cluster == self.cluster.name
        expected = row.password if row is not None and local else _NO_PASSWORD
        matched = hmac.compare_digest(expected.encode(), password.encode())
        return self.local_user(userid) if matched and local else None

    def check_app_user(self, name: str, password: str) -> bool:
        """The cluster's application user with the AXL role, as configured on Expressway-C and Unity Connection."""
        name_ok = hmac.compare_digest(self.cluster.admin_user.encode(), name.encode())
        password_ok = hmac.compare_digest(self.cluster.admin_password.encode(), password.encode())
        return name_ok and password_ok


def split_display_name(display_name: str) -> tuple[str, str]:
    """``"Ayodeji Okanlawon"`` → ``("Ayodeji", "Okanlawon")``; CUCM requires a last name, the first is optional."""
    first, _, last = display_name.strip().rpartition(" ")
    return first.strip(), last


def user_pkid(cluster_uuid: str, userid: str) -> str:
    """A stable pkid: CUCM's is a random UUID made once, so ours is derived from what identifies the row."""
    return str(uuid.uuid5(uuid.UUID(cluster_uuid), f"enduser:{userid}"))


def device_pkid(cluster_uuid: str, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(cluster_uuid), f"device:{name}"))


def _end_user(user: User, home: ClusterConfig, domain: str, local: bool) -> EndUser:
    first, last = split_display_name(user.display_name)
    devices = tuple(
        PhoneDevice(device_pkid(home.uuid, d.name), d.name, d.model, d.description) for d in user.devices
    )
    return EndUser(
        pkid=user_pkid(home.uuid, user.userid),
        userid=user.userid,
        first_name=first,
        last_name=last,
        display_name=user.display_name,
        email=f"{user.userid}@{domain}",
        home_host=home.listener.host,
        home_origin=home.listener.origin,
        home_local=local,
        mra_enabled=user.mra_enabled,
        devices=devices,
        home_cluster=user.home_cluster,
        home_ils=home.ils,
    )
