"""Each refusal renders the RFC 6749 (or Tomcat) answer it stands for, and logs its reason, not its secret."""

from __future__ import annotations

import json

import pytest

from cucm_stub.errors import (
    AccessDenied,
    BadRequest,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    NotFound,
    OAuthError,
    Unauthorized,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
)


@pytest.mark.parametrize(("cls", "error", "status"), [
    (InvalidRequest, "invalid_request", 400),
    (InvalidClient, "invalid_client", 401),
    (InvalidGrant, "invalid_grant", 400),
    (UnauthorizedClient, "unauthorized_client", 401),
    (UnsupportedGrantType, "unsupported_grant_type", 400),
    (UnsupportedResponseType, "unsupported_response_type", 400),
    (AccessDenied, "access_denied", 401),
])
def test_oauth_error_renders_registered_code_and_status(cls: type[OAuthError], error: str, status: int) -> None:
    got_status, headers, body = cls("what went wrong").render()
    assert got_status == status
    assert body == json.dumps({"error": error, "error_description": "what went wrong"}, separators=(",", ":")).encode()
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store" and headers["Pragma"] == "no-cache"


@pytest.mark.parametrize("cls", [InvalidClient, UnauthorizedClient, AccessDenied])
def test_every_oauth_401_carries_the_ssosp_challenge(cls: type[OAuthError]) -> None:
    assert cls("x").render()[1]["WWW-Authenticate"] == 'Basic realm="ssosp"'


def test_invalid_client_at_authorize_proxy_is_400_without_challenge() -> None:
    status, headers, _ = InvalidClient("Unknown client_id", status=400).render()
    assert status == 400
    assert "WWW-Authenticate" not in headers


def test_access_denied_for_mra_disabled_user_is_403_and_says_why() -> None:
    denied = AccessDenied.mra_not_enabled("nomra")
    status, _, body = denied.render()
    assert status == 403
    assert json.loads(body) == {"error": "access_denied",
                                "error_description": "Mobile and Remote Access is not enabled in the user profile"}
    assert "nomra" in denied.log_message()


def test_invalid_credentials_keep_the_wire_text_generic_and_the_log_specific() -> None:
    denied = AccessDenied.invalid_credentials("wrong password for user aokanlawon")
    assert json.loads(denied.render()[2])["error_description"] == "Invalid user credentials"
    assert denied.log_message() == "access_denied: wrong password for user aokanlawon"
    assert denied.log_level == "ERROR"


def test_log_message_falls_back_to_the_description() -> None:
    assert InvalidGrant("authorization code already used").log_message() == (
        "invalid_grant: authorization code already used"
    )


def test_web_service_refusals_have_no_body() -> None:
    assert Unauthorized("x").render() == (401, {"WWW-Authenticate": 'Basic realm="Cisco Web Services Realm"'}, b"")
    assert NotFound("x").render() == (404, {}, b"")
    assert BadRequest("x").render() == (400, {}, b"")
    assert NotFound("Not Found", "user x not found").log_message() == "HTTP 404: user x not found"
