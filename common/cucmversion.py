"""CUCM versions and what each can do for OAuth (mra-facts section 6; the seed's version table).

* 10.5 ≤ v < 11.5(1)SU3 — implicit grant only, SAML SSO only, access tokens only;
* v ≥ 11.5(1)SU3 (11.5.1.13900) — authorization code grant for local, LDAP and SAML users, access and refresh tokens,
  when the enterprise parameter "OAuth with Refresh Login Flow" is Enabled.

The refresh token lifetime range also depends on the release: 1–90 days up to 12.0, 1–365 days from 12.5.
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-\d+)?$")
CODE_GRANT_SINCE = (11, 5, 1, 13900)
OAUTH_SINCE = (10, 5, 0, 0)
LONG_REFRESH_SINCE = (12, 5, 0, 0)


def parse_version(text: str) -> tuple[int, int, int, int]:
    """``14.0.1.12900-161`` → ``(14, 0, 1, 12900)``; a shorter form like ``11.0`` fills with zeros."""
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a CUCM version such as 14.0.1.12900-161")
    major, minor, mr, build = (int(part) if part else 0 for part in match.groups())
    return major, minor, mr, build


def supports_oauth(version: str) -> bool:
    return parse_version(version) >= OAUTH_SINCE


def supports_code_grant(version: str) -> bool:
    return parse_version(version) >= CODE_GRANT_SINCE


def refresh_days_range(version: str) -> tuple[int, int]:
    return (1, 365) if parse_version(version) >= LONG_REFRESH_SINCE else (1, 90)
