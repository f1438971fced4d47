"""CUCM's OAuth enterprise parameters and releases, validated as the administration page does."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from common.config import DEFAULT_LAB, ConfigError, parse_lab
from common.cucmversion import parse_version, refresh_days_range, supports_code_grant, supports_oauth


def lab_with(version: str = "14.0.1.12900-161", **enterprise: Any) -> Any:
    data = tomllib.loads(DEFAULT_LAB.read_text())
    data["clusters"][0]["version"] = version
    data["clusters"][0]["enterprise"] = enterprise
    return parse_lab(data, "lab.toml")


def test_defaults_are_cucm_defaults() -> None:
    params = lab_with().clusters[0].enterprise
    assert (params.refresh_login_flow, params.access_token_minutes, params.refresh_token_days) == (False, 60, 60)
    assert (params.access_lifetime, params.refresh_lifetime) == (3600, 5_184_000)


@pytest.mark.parametrize(("changes", "named", "range_text"), [
    ({"oauth_access_token_expiry_minutes": 0}, "OAuth Access Token Expiry Timer", "1-1440"),
    ({"oauth_access_token_expiry_minutes": 1441}, "OAuth Access Token Expiry Timer", "1-1440"),
    ({"oauth_refresh_token_expiry_days": 366}, "OAuth Refresh Token Expiry Timer", "1-365"),
    ({"oauth_refresh_token_expiry_days": 0}, "OAuth Refresh Token Expiry Timer", "1-365"),
    ({"oauth_refresh_login_flow": "On"}, "OAuth with Refresh Login Flow", '"Enabled" or "Disabled"'),
])
def test_out_of_range_parameters_name_the_parameter_and_the_range(changes: dict[str, Any], named: str,
                                                                   range_text: str) -> None:
    with pytest.raises(ConfigError) as error:
        lab_with(**changes)
    assert named in str(error.value) and range_text in str(error.value) and "lab.toml" in str(error.value)


def test_refresh_token_range_depends_on_the_release() -> None:
    assert lab_with("12.5.1.11900-146", oauth_refresh_token_expiry_days=365).clusters[0].enterprise.refresh_token_days
    with pytest.raises(ConfigError, match="1-90 days on CUCM 12.0.1"):
        lab_with("12.0.1.10000-10", oauth_refresh_token_expiry_days=91)


def test_versions_decide_the_grant() -> None:
    assert parse_version("11.5.1.13900-52") == (11, 5, 1, 13900)
    assert not supports_code_grant("11.5.1.12900-21") and supports_code_grant("11.5.1.13900-52")
    assert supports_oauth("10.5.2.10000-5") and not supports_oauth("10.0.1.10000-24")
    assert refresh_days_range("11.5.1.13900-52") == (1, 90)
    with pytest.raises(ConfigError, match="not a CUCM version"):
        lab_with("fourteen")
