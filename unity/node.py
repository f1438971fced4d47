"""A minimal Unity Connection: a resource server that validates CUCM's OAuth tokens with keys it fetched itself.

Unity Connection is not part of the CUCM cluster, so it cannot receive the keys by replication. Its administrator
adds the CUCM publisher under "AuthZ Servers" with an AXL user, and Unity fetches the signing and encryption keys
over REST (seed article, "Enabling Unity Connection"); after a key regeneration on CUCM, the AuthZ server has to be
refreshed there too, or Jabber's voicemail fails with tokens signed by the new key.

Only what that story needs is here: the key fetch (at start and on ``refresh authz servers``), and one mailbox resource
(``GET /vmrest/mailbox``, modelled) that answers a valid Bearer token and refuses any other.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass

from aiohttp import web
from lxml import etree

from common.basic import parse_basic
from common.clock import LabClock
from common.config import Lab, UnityConfig
from common.faults import fault_middleware
from common.hop import HopClient
from common.nodelog import LineSink, Log4jLog
from common.resolver import LabResolver
from common.serve import Running, serve
from common.tomcatlog import tomcat_tls_refused
from common.tokens import KeyRing, TokenError, read_access_token
from common.keyfetch import fetch_authz_keys

AUTHZ = "authz.AuthZServerRefresher"
VMREST = "vmrest.MailboxResource"


class UnityKeys:
    """The keys of the configured AuthZ server, as last fetched."""

    def __init__(self, config: UnityConfig, lab: Lab, hop: HopClient, log: Log4jLog) -> None:
        self.config, self.lab, self.hop, self.log = config, lab, hop, log
        self.ring = KeyRing()

    async def refresh(self) -> bool:
        cluster = self.lab.cluster(self.config.authz_cluster)
        fetched = await fetch_authz_keys(self.hop, cluster.nodes, self.config.axl_user, self.config.axl_password)
        if fetched.keys is None:
            self.log.write("ERROR", "AuthZRefresh", AUTHZ, f"AuthZ server {fetched.host} refused the key fetch: "
                                                           f"{fetched.problem}")
            return False
        self.ring = KeyRing((fetched.keys,))
        self.log.write("INFO", "AuthZRefresh", AUTHZ, f"AuthZ keys fetched from {fetched.host}: signing "
                                                     f"checksum {fetched.keys.signing.checksum}")
        return True


@dataclass
class UnityNode:
    name: str
    running: Running
    keys: UnityKeys
    hop: HopClient

    async def stop(self) -> None:
        await self.running.stop()
        await self.hop.close()


def unity_app(config: UnityConfig, keys: UnityKeys, clock: LabClock, log: Log4jLog) -> web.Application:
    async def mailbox(request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _unauthorized("no Bearer token")
        try:
            claims = read_access_token(token.strip(), keys.ring, clock.timestamp())
        except TokenError as exc:
            log.write("ERROR", "http-nio-8443-exec-1", VMREST, f"Token validation failed: {exc.reason}")
            return _unauthorized(exc.reason)
        root = etree.Element("Mailbox")
        etree.SubElement(root, "Alias").text = str(claims.get("sub", ""))
        etree.SubElement(root, "MessageCount").text = "0"
        log.write("INFO", "http-nio-8443-exec-1", VMREST, f"Mailbox served to {claims.get('sub')}")
        return web.Response(body=etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                            content_type="application/xml")

    async def cli(request: web.Request) -> web.Response:
        credentials = parse_basic(request.headers.get("Authorization"))
        if credentials is None or credentials[0] != config.axl_user or not hmac.compare_digest(
                credentials[1].encode(), config.axl_password.encode()):
            return web.json_response({"error": "administrator credentials required"}, status=401)
        try:
            command = " ".join(str(json.loads(await request.read())["command"]).lower().split())
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": 'expected {"command": "refresh authz servers"}'}, status=400)
        if command != "refresh authz servers":
            return web.json_response({"error": f"unknown command {command!r}; known: refresh authz servers"},
                                     status=400)
        ok = await keys.refresh()
        return web.json_response({"command": command, "ok": ok,
                                  "output": "AuthZ server refreshed" if ok else "AuthZ server unreachable"})

    app = web.Application()
    app.router.add_get("/vmrest/mailbox", mailbox)
    app.router.add_post("/mrasim/cli", cli)
    return app


def _unauthorized(reason: str) -> web.Response:
    return web.Response(status=401, text=f"Unauthorized: {reason}\n",
                        headers={"WWW-Authenticate": 'Bearer realm="Cisco Unity Connection"'})


async def start_unity(lab: Lab, clock: LabClock, resolver: LabResolver, sink: LineSink) -> UnityNode:
    assert lab.unity is not None
    log = Log4jLog(clock, sink, lab.utc_offset, debug=lab.debug)
    hop = HopClient(resolver, lab.unity.listener.address, name="unity")
    await hop.start()
    keys = UnityKeys(lab.unity, lab, hop, log)
    await keys.refresh()
    app = unity_app(lab.unity, keys, clock, log)
    app.middlewares.append(fault_middleware(resolver.faults, "unity"))
    tls = resolver.tls
    running = await serve(app, lab.unity.listener, ssl_context=tls.server_context("unity") if tls else None,
                          on_tls_error=tomcat_tls_refused(log, lab.unity.listener.port))
    resolver.bind(lab.unity.listener, running.port)
    return UnityNode("unity", running, keys, hop)
