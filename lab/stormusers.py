"""Storm users: the lab's users multiplied so a login storm has someone to log in.

They are generated, not written in the lab file: ``storm00001`` … with a password derived from the number, so a storm
against a lab in another process (``mrasim up --storm-users N``) and the lab agree on them without sharing anything
but ``N``. The lab adds them when it starts (:mod:`lab.processes`); the load tools (:mod:`load.client`) log in as them.
"""

from __future__ import annotations

import dataclasses

from common.config import Device, Lab, User

STORM_PREFIX = "storm"


def storm_userid(number: int) -> str:
    return f"{STORM_PREFIX}{number:05d}"


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


def storm_users_toml(count: int, cluster: str) -> str:
    """The storm users as ``[[users]]`` tables, to append to a copy of a lab file for nodes in other processes."""
    blocks = []
    for user in storm_users(count, cluster):
        device = user.devices[0]
        blocks.append(f'\n[[users]]\nuserid = "{user.userid}"\npassword = "{user.password}"\ncluster = "{cluster}"\n'
                      f'display_name = "{user.display_name}"\n[[users.devices]]\nname = "{device.name}"\n')
    return "".join(blocks)
