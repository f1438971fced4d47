"""IM&P's EPAS SOAP login (``POST /EPASSoap/service/v80``): credentials in, a one-time password out.

:func:`login` decides, the aiohttp handler adapts. The user is authenticated by the HTTP Basic credentials the
request carries (through MRA, Expressway-C attaches those of the client's ``X-Auth`` session); the SOAP body names the
user, which must be the same one. The answer's ``session-key`` is a one-time password for SASL ``CISCO-VTG-TOKEN``
(:class:`presence.auth.OneTimePasswords`). Shapes: :mod:`common.xmpp.epas` (*modelled*).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from common.basic import parse_basic
from common.clock import LabClock
from common.config import ImpConfig, Lab
from common.nodelog import Log4jLog
from common.xmpp.epas import CONTENT_TYPE, PATH, EpasError, LoginRequest, LoginResponse
from presence.auth import ImpAuthenticator

CATEGORY = "epas.soap"
REALM = 'Basic realm="Cisco EPAS"'


@dataclass(frozen=True)
class EpasReply:
    status: int
    body: bytes
    log: str
    level: str = "INFO"


def login(authorization: str | None, body: bytes, auth: ImpAuthenticator, host: str, now: float) -> EpasReply:
    credentials = parse_basic(authorization)
    if credentials is None or auth.directory.check_end_user(*credentials) is None:
        who = credentials[0] if credentials else "a request without Basic credentials"
        return EpasReply(401, EpasError("Authentication failed").to_xml(), f"EPAS login refused for {who}", "WARN")
    try:
        request = LoginRequest.from_xml(body)
    except EpasError as exc:
        return EpasReply(500, exc.to_xml(), f"EPAS login malformed: {exc.fault}", "WARN")
    if request.username != credentials[0]:
        return EpasReply(500, EpasError("username does not match the credentials").to_xml(),
                         f"EPAS login for {request.username} with credentials of {credentials[0]}", "WARN")
    otp = auth.otps.issue(request.username, now)
    response = LoginResponse(otp, host, auth.domain)
    return EpasReply(200, response.to_xml(), f"EPAS login for {request.username} ({request.client_type} "
                                             f"{request.client_version}): one-time password issued")


def epas_app(lab: Lab, imp: ImpConfig, auth: ImpAuthenticator, clock: LabClock, log: Log4jLog) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        reply = login(request.headers.get("Authorization"), await request.read(), auth, imp.host, clock.timestamp())
        log.write(reply.level, "http-epas", CATEGORY, reply.log)
        headers = {"WWW-Authenticate": REALM} if reply.status == 401 else {}
        return web.Response(status=reply.status, body=reply.body, headers={"Content-Type": CONTENT_TYPE, **headers})

    app = web.Application()
    app.router.add_post(PATH, handle)
    return app
