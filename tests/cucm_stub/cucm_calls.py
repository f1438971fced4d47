"""Requests to the sans-IO ssosp server as Expressway-C and Jabber make them, shared by the ssosp test modules."""

from __future__ import annotations

import base64
import json
import re

from common.config import OAuthClient
from cucm_stub.ssosp import SsospServer
from cucm_stub.wire import FORM, Reply, Request

ADMIN = ("axladmin", "Axl!Pass123")
USER = ("aokanlawon", "Cisco!123")
REDIRECT = re.compile(
    r"^http://cucm\.lab\.example:8443/ssosp/public/OAuthcb#code=(?P<code>[A-Za-z0-9_-]{40,})"
    r"&expires_in=299&realm=local(?:&state=(?P<state>.*))?$"
)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def post(form: list[tuple[str, str]], content_type: str = FORM, **headers: str) -> Request:
    return Request("POST", "/ssosp/token/x", {k.replace("_", "-").lower(): v for k, v in headers.items()},
                   form=tuple(form), content_type=content_type)


def authorize(client: OAuthClient, *, user: tuple[str, str] = USER, state: str | None = "1771145038",
              extra: list[tuple[str, str]] | None = None, drop: str = "", **headers: str) -> Request:
    form = [("client_id", client.client_id), ("response_type", "code"), ("realm", "local")]
    if state is not None:
        form.append(("state", state))
    form = [(k, v) for k, v in form if k != drop] + (extra or [])
    merged = {"authorization": basic(*ADMIN), "x_credentials": basic(*user), **headers}
    return post(form, **merged)


def body(reply: Reply) -> dict[str, object]:
    return json.loads(reply.body)


def error(reply: Reply) -> str:
    return str(body(reply)["error"])


def code_of(reply: Reply) -> str:
    match = REDIRECT.match(str(body(reply)["redirect_uri"]))
    assert match, body(reply)
    return match.group("code")


def redeem(client: OAuthClient, code: str, **overrides: str) -> Request:
    form = {"code": code, "client_id": client.client_id, "grant_type": "authorization_code", **overrides}
    return post(list(form.items()), authorization=basic(client.client_id, client.client_secret))


def refresh(client: OAuthClient, token: str) -> Request:
    return post([("grant_type", "refresh_token"), ("refresh_token", token)],
                authorization=basic(client.client_id, client.client_secret))


def login(server: SsospServer, client: OAuthClient) -> dict[str, object]:
    reply = server.access_token(redeem(client, code_of(server.authorize_proxy(authorize(client)))))
    assert reply.status == 200, reply.body
    return body(reply)

