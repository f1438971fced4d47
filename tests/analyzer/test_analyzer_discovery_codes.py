"""Jabber's service discovery result codes are named with their documented causes (knowledge/client.toml).

The line is doc 221845's own ``evaluateServiceDiscoveryResult`` line with its code replaced (a paraphrased shape: the
codes are the ones Jabber writes there); FAILED_UCM90_CREDENTIALS_NOT_SET, the normal state before a password is
typed, is no failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.diagnose import analyze

_LINE = ("INFO [0x00000c94] [vices\\impl\\DiscoveryHandlerImpl.cpp(668)] [service-discovery] "
         "[CSFUnified::DiscoveryHandlerImpl::evaluateServiceDiscoveryResult] - ServiceDiscoveryHandlerResult return "
         "code {code}\n")


@pytest.mark.parametrize(("code", "entry", "words"), [
    ("FAILED_EDGE_AUTHENTICATION", "jabber-discovery-edge-authentication-failed", "wrong password"),
    ("FAILED_UCM90_CONNECTION", "jabber-discovery-ucm-connection-failed", "Tomcat certificate"),
])
def test_a_discovery_failure_code_is_named_with_its_causes(code: str, entry: str, words: str, tmp_path: Path) -> None:
    log = tmp_path / "csf-unified.log"
    log.write_text(_LINE.format(code=code))
    root = analyze([log]).root_cause
    assert root is not None and root.id == entry and words in root.root_cause


def test_credentials_not_yet_set_is_not_a_failure(tmp_path: Path) -> None:
    log = tmp_path / "csf-unified.log"
    log.write_text(_LINE.format(code="FAILED_UCM90_CREDENTIALS_NOT_SET"))
    assert not analyze([log]).issues
