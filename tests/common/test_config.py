"""The lab description: the default lab loads, and every error names the file and the key."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import pytest

from common.config import DEFAULT_LAB, ConfigError, Lab, load_lab, parse_lab

SOURCE = "x.toml"


@pytest.fixture(scope="module")
def default_data() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_LAB.read_text())


@pytest.fixture
def data(default_data: dict[str, Any]) -> dict[str, Any]:
    """A fresh, mutable copy of the default lab's TOML."""
    return copy.deepcopy(default_data)


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        parse_lab(data, SOURCE)
    return str(info.value)


# --- the default lab -----------------------------------------------------------------------------------------------

def test_default_lab_loads() -> None:
    lab = load_lab()
    assert isinstance(lab, Lab)
    assert lab.source == str(DEFAULT_LAB)
    assert lab.domain and lab.domain == lab.domain.lower()
    assert lab.clusters and lab.users and lab.clients
    assert all(lab.cluster(u.cluster) for u in lab.users)
    assert lab.jabber.client_id in {c.client_id for c in lab.clients}
    assert lab.user(lab.jabber.userid) is not None
    assert lab.core.validator.port == 9998 and lab.core.validator.host == "127.0.0.1"
    assert {"expressway-e", "expressway-c", "oauthvalidator"} <= set(lab.listeners())


def test_default_lab_matches_parse_of_its_data(default_data: dict[str, Any]) -> None:
    assert parse_lab(default_data, str(DEFAULT_LAB)) == load_lab()


def test_default_srv_points_at_expressway_e_when_none_given(data: dict[str, Any]) -> None:
    data.pop("srv", None)
    lab = parse_lab(data, SOURCE)
    assert [(r.name, r.target, r.port) for r in lab.srv] == [
        (f"_collab-edge._tls.{lab.domain}", lab.edge.listener.host, lab.edge.listener.port)]


def test_values_are_parsed_as_documented(data: dict[str, Any]) -> None:
    data["lab"]["utc_offset"] = "+05:30"
    data["expressway_c"].update(oauth_local="Off", legacy_cred=True, sso="ON")
    data["expressway_e"]["host"] = "edge.other.example"
    lab = parse_lab(data, SOURCE)
    assert lab.utc_offset == dt.timedelta(hours=5, minutes=30)
    assert (lab.core.oauth_local, lab.core.legacy_cred, lab.core.sso) == (False, True, True)
    assert lab.edge.listener.host == "edge.other.example"  # a dotted name is already an FQDN
    assert lab.core.listener.host.endswith("." + lab.domain)
    data["lab"]["utc_offset"] = "-06:00"
    assert parse_lab(data, SOURCE).utc_offset == -dt.timedelta(hours=6)


def test_with_ephemeral_ports_zeroes_every_listen_port() -> None:
    lab = load_lab()
    assert any(listener.listen_port for listener in lab.listeners().values())
    free = lab.with_ephemeral_ports()
    assert free.listeners().keys() == lab.listeners().keys()
    for name, listener in free.listeners().items():
        assert listener.listen_port == 0, name
        assert dataclasses.replace(listener, listen_port=lab.listeners()[name].listen_port) == lab.listeners()[name]
    assert lab.listeners()["expressway-e"].listen_port != 0  # the original is untouched


def test_replace_core_changes_only_core() -> None:
    lab = load_lab()
    changed = lab.replace_core(oauth_local=not lab.core.oauth_local)
    assert changed.core.oauth_local != lab.core.oauth_local
    assert dataclasses.replace(changed, core=lab.core) == lab


# --- errors name the file and the key ------------------------------------------------------------------------------

def test_unknown_key_is_named(data: dict[str, Any]) -> None:
    data["expressway_c"]["oauth_locall"] = "On"
    message = _error(data)
    assert message.startswith(f"{SOURCE}: expressway_c.oauth_locall: unknown key")
    assert "oauth_local" in message.split("known:")[1]


def test_unknown_top_level_table_is_named(data: dict[str, Any]) -> None:
    data["expressway_x"] = {}
    assert _error(data).startswith(f"{SOURCE}: expressway_x: unknown key")


def test_unknown_key_in_nested_array_table_is_named(data: dict[str, Any]) -> None:
    data["users"][0]["devices"][0]["colour"] = "red"
    assert _error(data).startswith(f"{SOURCE}: users[0].devices[0].colour: unknown key")


@pytest.mark.parametrize(("table", "key", "value", "expected"), [
    ("expressway_e", "port", "8443", "expected an integer"),
    ("expressway_e", "port", True, "expected an integer"),
    ("expressway_e", "port", 70000, "expected 1..65535"),
    ("lab", "debug", "yes", "expected true or false"),
    ("lab", "domain", 42, "expected a non-empty string"),
    ("lab", "domain", "", "expected a non-empty string"),
    ("expressway_c", "oauth_local", "maybe", 'expected "On" or "Off"'),
    ("expressway_c", "mra_domains", "lab.example", "expected a list of strings"),
    ("expressway_c", "scheme", "ftp", "expected 'http' or 'https'"),
])
def test_wrong_type_is_named(data: dict[str, Any], table: str, key: str, value: Any, expected: str) -> None:
    data[table][key] = value
    message = _error(data)
    assert message.startswith(f"{SOURCE}: {table}.{key}: ")
    assert expected in message
    assert repr(value) in message or str(value) in message


def test_wrong_table_type_is_named(data: dict[str, Any]) -> None:
    data["users"] = {"userid": "x"}
    assert _error(data).startswith(f"{SOURCE}: users: expected an array of tables [[users]]")
    data["users"] = []
    data["lab"] = "lab.example"
    assert _error(data).startswith(f"{SOURCE}: lab: expected a table")


@pytest.mark.parametrize(("path", "key"), [
    (("lab",), "domain"),
    (("expressway_c",), "axl_user"),
    (("clusters", 0), "uuid"),
    (("users", 0), "password"),
    (("clients", 0), "client_secret"),
])
def test_missing_required_key_is_named(data: dict[str, Any], path: tuple, key: str) -> None:
    node: Any = data
    for step in path:
        node = node[step]
    del node[key]
    where = path[0] if len(path) == 1 else f"{path[0]}[{path[1]}]"
    assert _error(data) == f"{SOURCE}: {where}.{key}: required, but missing"


def test_no_cluster_is_refused(data: dict[str, Any]) -> None:
    data["clusters"] = []
    assert _error(data) == f"{SOURCE}: [[clusters]]: expected at least one CUCM cluster"


@pytest.mark.parametrize("client_id", ["C123", "c" + "a" * 64, "C" + "A" * 64, "C" + "g" * 64, "C" + "a" * 65])
def test_bad_client_id_is_refused(data: dict[str, Any], client_id: str) -> None:
    data["clients"][0]["client_id"] = client_id
    message = _error(data)
    assert message.startswith(SOURCE) and "client_id" in message and repr(client_id) in message


def test_unknown_cluster_for_a_user_is_refused(data: dict[str, Any]) -> None:
    data["users"][0]["cluster"] = "cluster9"
    message = _error(data)
    assert message.startswith(SOURCE) and "cluster" in message and "'cluster9'" in message
    assert repr(data["clusters"][0]["name"]) in message  # says which clusters exist


@pytest.mark.parametrize("offset", ["-6", "06:00", "-6:00", "UTC", "-06:00:00", "+0600"])
def test_bad_utc_offset_is_refused(data: dict[str, Any], offset: str) -> None:
    data["lab"]["utc_offset"] = offset
    assert _error(data) == f"{SOURCE}: lab.utc_offset: expected an offset such as '-06:00', got {offset!r}"


@pytest.mark.parametrize("offset", ["+25:00", "-24:00", "+05:99"])
def test_out_of_range_utc_offset_is_refused(data: dict[str, Any], offset: str) -> None:
    data["lab"]["utc_offset"] = offset
    assert "lab.utc_offset" in _error(data)


@pytest.mark.parametrize("table", ["expressway_e", "expressway_c", "clusters"])
def test_a_scheme_that_disagrees_with_tls_is_refused_with_a_clear_message(data: dict[str, Any], table: str) -> None:
    node = data[table][0] if table == "clusters" else data[table]
    node["scheme"] = "http"
    where = "clusters[0]" if table == "clusters" else table
    assert _error(data) == f"{SOURCE}: {where}.scheme: 'http' in a lab with [tls] enabled = true; every hop is https"


def test_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[lab\ndomain = = 'x'\n")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_lab(path)
    assert str(info.value).startswith(f"{path}: ")


def test_binary_file_is_refused_as_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "image.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(ConfigError, match=str(path)):
        load_lab(path)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_lab(path)
    assert str(info.value).startswith(f"{path}: no such lab file; give --lab an existing file")


def test_load_lab_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "lab.toml"
    path.write_text(DEFAULT_LAB.read_text() + "\n[surprise]\n")
    with pytest.raises(ConfigError) as info:
        load_lab(path)
    assert str(info.value).startswith(f"{path}: surprise: unknown key")
