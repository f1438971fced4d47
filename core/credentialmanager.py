"""Expressway-C's credentialmanager: the OAuthvalidator on 127.0.0.1:9998 and the AuthZ keys it validates with.

Expressway-C never asks CUCM whether a token is good. After "Refresh servers" it holds each cluster's signing and
encryption keys and validates tokens locally (seed article, step 8): the provisioning service posts
``{"token": "…"}`` to ``http://127.0.0.1:9998/OAuthvalidator?reqtype=access`` and credentialmanager answers, logging
``Detail="Access Token accepted" User=…`` and an ``OAuthinspector`` line with the reason (``Matched AuthZ key``).

The key fetch itself is modelled (``GET /ssosp/token/authz_keys`` with the AXL user, see ``docs/flow.md``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aiohttp import web

from common.clock import LabClock
from common.config import ClusterConfig, CoreConfig
from common.hop import HopError
from common.logformats.expressway import CREDENTIALMANAGER
from common.nodelog import ExpresswayLog
from common.tokens import (AUTHZ_KEYS_PATH, AuthzKeys, KeyRing, TokenError, keys_from_response, read_access_token,
                           token_kid)
from common.basic import basic_header
from core.upstream import Upstream

INSPECTOR = "developer.credentialmanager.OAuthinspector"
KEYS_MODULE = "developer.edgeconfigprovisioning.server"
TYPES = {"access": "Access Token"}


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    token_type: str
    reason: str
    user: str = ""
    issuer: str = ""
    expires: int = 0


def inspect(token: str, reqtype: str, ring: KeyRing, now: float) -> Verdict:
    """Decide on one token: the pure core of the OAuthvalidator."""
    token_type = TYPES.get(reqtype)
    if token_type is None:
        return Verdict(False, reqtype, "Unsupported request type")
    try:
        claims = read_access_token(token, ring, now)
    except TokenError as exc:
        return Verdict(False, token_type, exc.reason)
    kid = _kid(token)
    return Verdict(True, token_type, "Matched AuthZ key", str(claims.get("sub", "")), ring.issuer(kid),
                   int(claims["exp"]))


def _kid(token: str) -> str:
    return token_kid(token)


class AuthzKeyStore:
    """The keys Expressway-C fetched from each CUCM cluster ("Refresh servers")."""

    def __init__(self, config: CoreConfig, clusters: tuple[ClusterConfig, ...], upstream: Upstream) -> None:
        self.config = config
        self.clusters = clusters
        self.upstream = upstream
        self.ring = KeyRing()

    async def refresh(self) -> list[str]:
        """Fetch every cluster's keys; return the clusters that could not be reached."""
        failed = []
        ring = KeyRing()
        for cluster in self.clusters:
            keys = await self._fetch(cluster)
            if keys is None:
                failed.append(cluster.name)
            else:
                ring.add(keys, issuer=cluster.listener.host)
        self.ring = ring
        return failed

    async def _fetch(self, cluster: ClusterConfig) -> AuthzKeys | None:
        """The keys from the first node of ``cluster`` that hands them over."""
        for node in cluster.nodes:
            try:
                response = await self.upstream.call(
                    KEYS_MODULE, "GET", f"{node.origin}{AUTHZ_KEYS_PATH}",
                    headers={"Authorization": basic_header(self.config.axl_user, self.config.axl_password)},
                )
            except HopError:
                continue
            keys = keys_from_response(response.status, response.body)
            if keys is not None:
                return keys
        return None


def validator_app(keys: AuthzKeyStore, clock: LabClock, log: ExpresswayLog) -> web.Application:
    """The OAuthvalidator service, an app of its own on its own loopback port."""

    async def validate(request: web.Request) -> web.Response:
        reqtype = request.query.get("reqtype", "")
        try:
            body = json.loads(await request.read())
            token = body["token"]
            if not isinstance(token, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            log.write(CREDENTIALMANAGER, "INFO", {"Detail": "Token validation failed", "Reason": "Malformed request"})
            return web.json_response({"error": "invalid_request"}, status=400)
        if not len(keys.ring):
            await keys.refresh()
        verdict = inspect(token, reqtype, keys.ring, clock.timestamp())
        log.write(CREDENTIALMANAGER, "INFO" if verdict.accepted else "WARN",
                  {"CodeLocation": "OAuthinspector(331)", "Detail": "Token validation", "Type": verdict.token_type,
                   "Reason": verdict.reason, "Issuer": verdict.issuer}, module=INSPECTOR)
        if verdict.accepted:
            log.write(CREDENTIALMANAGER, "INFO", {"Detail": f"{verdict.token_type} accepted", "User": verdict.user})
            return web.json_response({"user": verdict.user, "expires": verdict.expires, "issuer": verdict.issuer})
        log.write(CREDENTIALMANAGER, "INFO", {"Detail": f"{verdict.token_type} rejected", "Reason": verdict.reason})
        return web.json_response({"error": "invalid_token", "reason": verdict.reason}, status=401)

    app = web.Application()
    app.router.add_post("/OAuthvalidator", validate)
    return app
