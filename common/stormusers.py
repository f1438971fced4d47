"""Storm users: the lab's users multiplied so a login storm has someone to log in.

They are generated, not written out as users: ``storm00001`` … with a password derived from the number, so a storm
against a lab in another process and the lab agree on them without sharing anything but ``N``. A lab file says
``[lab] storm_users = N`` (``mrasim up --processes --storm-users N`` writes it into the copy each node reads), and
:func:`common.config.parse_lab` adds them in bulk: 20,000 users as 20,000 ``[[users]]`` tables cost each node process
seconds of TOML parsing at start; a count costs nothing. The load tools (:mod:`load.client`) log in as them.
"""

from __future__ import annotations

import dataclasses

from common.labmodel import Device, Lab, User

STORM_PREFIX = "storm"


def storm_userid(number: int) -> str:
    return f"{STORM_PREFIX}{number:05d}"


def is_storm_userid(userid: str) -> bool:
    """Whether ``userid`` (or a bare JID's local part) names a generated storm user."""
    number = userid.partition("@")[0][len(STORM_PREFIX):]
    return userid.startswith(STORM_PREFIX) and len(number) >= 5 and number.isdigit()


def storm_password(number: int) -> str:
    return f"Storm!{number:05d}"


def storm_users(count: int, cluster: str) -> tuple[User, ...]:
    """``count`` MRA-enabled users homed on ``cluster``, each with one Jabber (CSF) device."""
    return tuple(
        User(storm_userid(n), storm_password(n), cluster, f"Storm User {n}", True,
             (Device(f"CSF{storm_userid(n).upper()}", "Cisco Unified Client Services Framework", ""),))
        for n in range(1, count + 1)
    )


def with_storm_users(lab: Lab, count: int) -> Lab:
    """The same lab with ``count`` storm users added to its first cluster (the lab file is not touched)."""
    return dataclasses.replace(lab, users=lab.users + storm_users(count, lab.clusters[0].name))
