"""Storm users: the lab's users multiplied so a login storm has someone to log in.

They are generated, not written out as users: ``storm00001`` … with a password derived from the number, so a storm
against a lab in another process and the lab agree on them without sharing anything but ``N``. A lab file says
``[lab] storm_users = N`` (``mrasim up --processes --storm-users N`` writes it into the copy each node reads). The
load tools (:mod:`load.client`) log in as them.

The lab's users are a :class:`UserTable`: the users the lab file lists, then the ``N`` storm users, each made only
when it is looked up (by userid or by device name, in constant time) or when the whole table is walked. Every node
process of ``up --processes`` reads the lab file; generating 20,000 users there cost each of them 0.1–0.2 s of CPU
at start, and building its lookup tables as much again (issue 18: a start independent of the user count).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import overload

from common.labmodel import Device, Lab, User

STORM_PREFIX = "storm"
DEVICE_PREFIX = "CSF"  # a Jabber for Windows/Mac (CSF) device is named CSF<userid>, upper case


def storm_userid(number: int) -> str:
    return f"{STORM_PREFIX}{number:05d}"


def storm_number(userid: str) -> int | None:
    """The number of the storm user ``userid`` names (the inverse of :func:`storm_userid`), or None."""
    digits = userid[len(STORM_PREFIX):]
    if not userid.startswith(STORM_PREFIX) or not digits.isdigit():
        return None
    number = int(digits)
    return number if storm_userid(number) == userid else None


def is_storm_userid(userid: str) -> bool:
    """Whether ``userid`` (or a bare JID's local part) names a generated storm user."""
    return storm_number(userid.partition("@")[0]) is not None


def storm_password(number: int) -> str:
    return f"Storm!{number:05d}"


def storm_user(number: int, cluster: str) -> User:
    """Storm user ``number``: MRA-enabled, homed on ``cluster``, with one Jabber (CSF) device."""
    userid = storm_userid(number)
    return User(userid, storm_password(number), cluster, f"Storm User {number}", True,
                (Device(f"{DEVICE_PREFIX}{userid.upper()}", "Cisco Unified Client Services Framework", ""),))


class UserTable(Sequence[User]):
    """The users a lab file lists, then ``storm`` storm users homed on ``cluster``: a sequence of :class:`User` that
    makes a storm user only when asked for it. :meth:`find` and :meth:`owner_of` answer in constant time."""

    __slots__ = ("listed", "storm", "cluster", "_by_id", "_by_device")

    def __init__(self, listed: Iterable[User] = (), storm: int = 0, cluster: str = "") -> None:
        self.listed = tuple(listed)
        self.storm, self.cluster = storm, cluster
        self._by_id: dict[str, User] = {}
        for user in self.listed:
            self._by_id.setdefault(user.userid, user)  # the first of two with one userid, as a scan finds it
        self._by_device: dict[str, User] = {}
        for user in self.listed:
            for device in user.devices:
                self._by_device.setdefault(device.name.upper(), user)

    def _storm_number(self, userid: str) -> int | None:
        number = storm_number(userid)
        return number if number is not None and 1 <= number <= self.storm else None

    def find(self, userid: str) -> User | None:
        """The user with this userid, or None."""
        user = self._by_id.get(userid)
        if user is None and (number := self._storm_number(userid)) is not None:
            user = storm_user(number, self.cluster)
        return user

    def owner_of(self, device: str) -> User | None:
        """The user one of whose devices has this name (compared without case, as CUCM's database does), or None."""
        key = device.upper()
        user = self._by_device.get(key)
        if user is None and key.startswith(DEVICE_PREFIX):
            user = self.find(key[len(DEVICE_PREFIX):].lower())
            if user is not None and self._by_id.get(user.userid) is not None:
                return None  # a listed user of that userid owns no such device
        return user

    def __len__(self) -> int:
        return len(self.listed) + self.storm

    @overload
    def __getitem__(self, index: int) -> User: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[User, ...]: ...

    def __getitem__(self, index: int | slice) -> User | tuple[User, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(len(self))[index])
        position = range(len(self))[index]  # IndexError beyond either end, negative indices from the end
        if position < len(self.listed):
            return self.listed[position]
        return storm_user(position - len(self.listed) + 1, self.cluster)

    def __iter__(self) -> Iterator[User]:
        yield from self.listed
        for number in range(1, self.storm + 1):
            yield storm_user(number, self.cluster)

    def __contains__(self, user: object) -> bool:
        return isinstance(user, User) and self.find(user.userid) == user

    def index(self, user: User, start: int = 0, stop: int | None = None) -> int:
        if start == 0 and stop is None:
            if user in self.listed:
                return self.listed.index(user)
            number = self._storm_number(user.userid)
            if number is not None and storm_user(number, self.cluster) == user:
                return len(self.listed) + number - 1
            raise ValueError(f"{user.userid} is not in the lab's users")
        return super().index(user, start, stop)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UserTable):
            return (self.listed, self.storm, self.cluster) == (other.listed, other.storm, other.cluster)
        if isinstance(other, tuple):
            return len(self) == len(other) and tuple(self) == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.listed, self.storm, self.cluster))

    def __repr__(self) -> str:
        return f"UserTable({len(self.listed)} listed, {self.storm} storm users on {self.cluster!r})"


def find_user(users: Sequence[User]) -> Callable[[str], User | None]:
    """A lookup by userid over ``users``: the table's own, or a dictionary built once from any other sequence (a
    test's tuple)."""
    if isinstance(users, UserTable):
        return users.find
    table = UserTable(users)
    return table.find


def device_owner(users: Sequence[User]) -> Callable[[str], User | None]:
    """A lookup of a device's owner over ``users``, as :func:`find_user`."""
    return users.owner_of if isinstance(users, UserTable) else UserTable(users).owner_of


def with_storm_users(lab: Lab, count: int) -> Lab:
    """The same lab with ``count`` more storm users on its first cluster (the lab file is not touched)."""
    if isinstance(lab.users, UserTable):
        table = UserTable(lab.users.listed, lab.users.storm + count, lab.users.cluster or lab.clusters[0].name)
    else:
        table = UserTable(lab.users, count, lab.clusters[0].name)
    return dataclasses.replace(lab, users=table)
