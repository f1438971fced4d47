"""The refusals CUCM's Tomcat applications send, each a class that renders itself to ``(status, headers, body)``.

Two families, as on the real node::

    Refusal                                   status  where
    ├── OAuthError  (JSON, RFC 6749 §5.2)
    │   ├── InvalidRequest                    400     authorize_proxy, access_token
    │   ├── InvalidClient                     400/401 authorize_proxy (unknown client_id), access_token (client auth)
    │   ├── InvalidGrant                      400     access_token: code or refresh token refused
    │   ├── UnauthorizedClient                401     authorize_proxy: caller is not the AXL application user
    │   ├── UnsupportedGrantType              400     access_token
    │   ├── UnsupportedResponseType           400     authorize_proxy
    │   └── AccessDenied                      401/403 authorize_proxy: end-user credentials, MRA not enabled
    └── WebServiceError  (empty body, Tomcat style)
        ├── BadRequest                        400     UDS query parameters
        ├── Unauthorized                      401     UDS and authz_keys, ``Basic realm="Cisco Web Services Realm"``
        └── NotFound                          404     UDS user unknown to an authenticated administrator

Every refusal carries two texts: ``description`` goes on the wire, ``reason`` goes into CUCM's own log. Neither
may hold a password, code or token; callers pass what was wrong, never the value that was wrong.

The OAuth bodies are compact JSON ``{"error":…,"error_description":…}`` with ``Cache-Control: no-store`` and
``Pragma: no-cache`` (RFC 6749 §5.1 requires them on token responses; ssosp sends them on its errors too, as Authlib
does). Every 401 carries a ``WWW-Authenticate`` challenge (RFC 7235 §3.1): ``Basic realm="ssosp"`` on the OAuth
endpoints, ``Basic realm="Cisco Web Services Realm"`` on UDS and the key export.
"""

from __future__ import annotations

import json
from typing import ClassVar

SSOSP_REALM = 'Basic realm="ssosp"'
WEB_SERVICES_REALM = 'Basic realm="Cisco Web Services Realm"'
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class Refusal(Exception):
    """A request CUCM turns away; ``log_level`` is the level of the one line it writes about it."""

    status_code: ClassVar[int] = 400
    log_level: ClassVar[str] = "INFO"

    def __init__(self, description: str, reason: str | None = None, *, status: int | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.reason = reason or description
        self.status = status or self.status_code

    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> bytes:
        return b""

    def render(self) -> tuple[int, dict[str, str], bytes]:
        return self.status, self.headers(), self.body()

    def log_message(self) -> str:
        return f"HTTP {self.status}: {self.reason}"


class OAuthError(Refusal):
    """An RFC 6749 error response; ``error`` is the registered code (RFC 6749 §11.4)."""

    error: ClassVar[str] = "invalid_request"

    def log_message(self) -> str:
        return f"{self.error}: {self.reason}"

    def headers(self) -> dict[str, str]:
        found = {"Content-Type": "application/json", **NO_STORE}
        if self.status == 401:
            found["WWW-Authenticate"] = SSOSP_REALM
        return found

    def body(self) -> bytes:
        payload = {"error": self.error, "error_description": self.description}
        return json.dumps(payload, separators=(",", ":")).encode()


class InvalidRequest(OAuthError):
    """A parameter missing, repeated or malformed (RFC 6749 §4.1.2.1, §5.2; repeats are forbidden by §3.1)."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed or the client is unknown (RFC 6749 §5.2).

    At the token endpoint the client authenticates with HTTP Basic, so the answer is 401 with a challenge. At
    ``authorize_proxy`` the ``Authorization`` header belongs to Expressway-C, not to the client, so an unregistered
    ``client_id`` is answered 400 (§5.2 allows 400 when the client did not try the ``Authorization`` header) and is
    never turned into a redirect (§4.1.2.1).
    """

    error = "invalid_client"
    status_code = 401
    log_level = "ERROR"


class InvalidGrant(OAuthError):
    """The code or refresh token is invalid, expired, revoked, reused or issued to another client (RFC 6749 §5.2)."""

    error = "invalid_grant"
    log_level = "ERROR"


class UnauthorizedClient(OAuthError):
    """Expressway-C's application user is missing or not accepted at ``authorize_proxy``.

    RFC 6749 §5.2 gives ``unauthorized_client`` a 400; ssosp answers 401 because what failed is the caller's HTTP
    authentication (mra-facts §3 step 5), and a 401 must carry a challenge.
    """

    error = "unauthorized_client"
    status_code = 401
    log_level = "ERROR"


class UnsupportedGrantType(OAuthError):
    """RFC 6749 §5.2: ssosp knows ``authorization_code`` and ``refresh_token`` only."""

    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    """RFC 6749 §4.1.2.1: CUCM 11.5(1)SU3 and later hand out codes only (no implicit grant through the proxy)."""

    error = "unsupported_response_type"


class AccessDenied(OAuthError):
    """The resource owner cannot be authorized (RFC 6749 §4.1.2.1).

    401 for credentials CUCM does not accept; 403 for a user whose profile does not allow Mobile and Remote Access
    ("Enable Mobile and Remote Access" unchecked, mra-facts §6).
    """

    error = "access_denied"
    status_code = 401
    log_level = "ERROR"

    @classmethod
    def invalid_credentials(cls, reason: str) -> AccessDenied:
        return cls("Invalid user credentials", reason)

    @classmethod
    def mra_not_enabled(cls, userid: str) -> AccessDenied:
        return cls(
            "Mobile and Remote Access is not enabled in the user profile",
            f"Mobile and Remote Access is not enabled in the user profile of {userid}",
            status=403,
        )


class WebServiceError(Refusal):
    """A refusal from UDS or another Tomcat web service: status and headers, no body."""


class BadRequest(WebServiceError):
    status_code = 400


class Unauthorized(WebServiceError):
    """Basic authentication refused; the realm is the one every CUCM web service shares (mra-facts §4)."""

    status_code = 401
    log_level = "ERROR"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": WEB_SERVICES_REALM}


class NotFound(WebServiceError):
    status_code = 404
