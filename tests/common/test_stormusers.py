"""Storm users are made when looked up, never when a lab file is read (issue 18: a start independent of the user
count), and they are the same users whichever way they are reached: by userid, by device name, by position, by a
walk over the table, through CUCM's directory and its SIP line side."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator

import pytest

import common.stormusers as stormusers
from common.config import DEFAULT_LAB, parse_lab
from common.directory import Directory
from common.stormusers import UserTable, storm_password, storm_user, with_storm_users
from cucm_stub.sipnode import device_config
from lab.processes import set_lab_key


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The numbers of the storm users made so far."""
    numbers: list[int] = []

    def counted(number: int, cluster: str) -> stormusers.User:
        numbers.append(number)
        return storm_user(number, cluster)

    monkeypatch.setattr(stormusers, "storm_user", counted)
    yield numbers


def test_a_lab_of_20000_storm_users_makes_none_until_one_is_looked_up(made: list[int]) -> None:
    lab = parse_lab(tomllib.loads(set_lab_key(DEFAULT_LAB.read_text(), "storm_users", "20000")))
    cucm = Directory(lab, lab.clusters[0])
    device_config(lab, "CSFAOKANLAWON")
    assert made == [], "reading the lab file and starting CUCM's directory made storm users"
    assert isinstance(lab.users, UserTable) and len(lab.users) == len(lab.users.listed) + 20000

    user = lab.user("storm20000")
    assert user is not None and user.password == storm_password(20000) and user.cluster == lab.clusters[0].name
    assert made == [20000]
    assert cucm.check_end_user("storm00042", storm_password(42)) is not None
    assert cucm.check_end_user("storm00042", storm_password(41)) is None
    assert lab.users.owner_of("CSFSTORM00007") == lab.users[len(lab.users.listed) + 6] == lab.user("storm00007")
    config = device_config(lab, "CSFSTORM00007")
    assert config is not None and config.device == "CSFSTORM00007"
    assert sorted(set(made)) == [7, 42, 20000], "only the users looked up were made"


def test_only_the_storm_users_there_are_are_found() -> None:
    lab = with_storm_users(parse_lab(tomllib.loads(DEFAULT_LAB.read_text())), 3)
    for userid in ("storm00000", "storm00004", "storm3", "storm0003", "Storm00003", "storm00003x", "CSFSTORM00003"):
        assert lab.user(userid) is None, userid
    assert lab.users.owner_of("CSFSTORM00004") is None
    assert lab.users.owner_of("tctaokanlawon") == lab.user("aokanlawon"), "device names match without case"
    assert lab.users.owner_of("BOTAOKANLAWON") is None and lab.users.owner_of("CSFNOBODY") is None


def test_the_table_is_the_sequence_its_lookups_say() -> None:
    lab = with_storm_users(parse_lab(tomllib.loads(DEFAULT_LAB.read_text())), 5)
    walked = tuple(lab.users)
    assert len(walked) == len(lab.users) and lab.users == walked and lab.users[-1] == walked[-1]
    assert all(lab.users.index(user) == position for position, user in enumerate(walked))
    assert all(lab.user(user.userid) == user for user in walked) and walked[-1] in lab.users
    assert lab.users[-2:] == walked[-2:] and lab.users == with_storm_users(lab, 0).users
