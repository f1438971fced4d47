"""The cluster's view of users: homing, ILS-wide lookups, case-sensitive ids and password checks."""

from __future__ import annotations

import pytest

from common.config import Lab
from common.directory import Directory, device_pkid, split_display_name, user_pkid


@pytest.mark.parametrize(("display", "first", "last"), [
    ("Ayodeji Okanlawon", "Ayodeji", "Okanlawon"),
    ("Mary Ann Smith", "Mary Ann", "Smith"),
    ("Cher", "", "Cher"),
    ("  N Tanborgeson ", "N", "Tanborgeson"),
])
def test_display_name_splits_into_first_and_last(display: str, first: str, last: str) -> None:
    assert split_display_name(display) == (first, last)


def test_local_user_carries_uds_fields(directory: Directory, lab: Lab) -> None:
    user = directory.local_user("aokanlawon")
    assert user is not None
    assert (user.first_name, user.last_name, user.email) == ("Ayodeji", "Okanlawon", "aokanlawon@lab.example")
    assert user.home_host == "cucm.lab.example" and user.home_local
    assert [d.name for d in user.devices] == ["CSFAOKANLAWON", "TCTAOKANLAWON"]
    assert "Cisco!123" not in repr(user)


def test_pkids_are_stable_and_distinct(lab: Lab) -> None:
    first, second = Directory(lab, lab.clusters[0]), Directory(lab, lab.clusters[0])
    a, b = first.local_user("aokanlawon"), second.local_user("aokanlawon")
    other = first.local_user("ntanborgeson")
    assert a is not None and b is not None and other is not None
    assert a.pkid == b.pkid == user_pkid(lab.clusters[0].uuid, "aokanlawon")
    assert a.pkid != other.pkid
    assert a.devices[0].pkid == device_pkid(lab.clusters[0].uuid, "CSFAOKANLAWON") != a.devices[1].pkid


def test_user_homed_on_another_cluster_is_found_but_not_local(directory: Directory) -> None:
    remote = directory.find("remoteuser")
    assert remote is not None and remote.home_host == "cucm2.lab.example" and not remote.home_local
    assert directory.local_user("remoteuser") is None
    assert directory.check_end_user("remoteuser", "Remote!000") is None


def test_the_other_cluster_homes_that_user(lab: Lab) -> None:
    second = Directory(lab, lab.clusters[1])
    assert second.check_end_user("remoteuser", "Remote!000") is not None
    assert second.local_user("aokanlawon") is None


def test_end_user_password_check(directory: Directory) -> None:
    assert directory.check_end_user("aokanlawon", "Cisco!123") is not None
    assert directory.check_end_user("aokanlawon", "Cisco!124") is None
    assert directory.check_end_user("aokanlawon", "") is None
    assert directory.check_end_user("nobody", "Cisco!123") is None


def test_userids_match_case_sensitively(directory: Directory) -> None:
    assert directory.find("AOkanlawon") is None
    assert directory.check_end_user("AOKANLAWON", "Cisco!123") is None


def test_application_user_is_the_clusters_axl_user(directory: Directory) -> None:
    assert directory.check_app_user("axladmin", "Axl!Pass123")
    assert not directory.check_app_user("axladmin", "wrong")
    assert not directory.check_app_user("aokanlawon", "Cisco!123")
