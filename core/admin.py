"""Expressway-C's administration surface for the lab: ``xCommand`` as ``mrasim xcommand`` sends it.

The real product takes these over SSH or its web and REST APIs; the lab reaches them over HTTP on C's own listener
under ``/mrasim/`` (a modelled, lab-only path) with the administrator's credentials from the lab file.

``RefreshServers`` is the "Refresh servers" button of *Configuration > Unified Communications > Unified CM servers*:
C fetches each cluster's AuthZ keys again. Until it does, tokens signed with regenerated keys fail at C's
credentialmanager with "No matching AuthZ key".
"""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from common.basic import parse_basic
from common.logformats.expressway import EDGECONFIG_EVENT
from core.state import CORE_STATE, CoreState

COMMANDS = {"refreshservers": "RefreshServers"}


def admin_refusal(request: web.Request, state: CoreState) -> web.Response | None:
    credentials = parse_basic(request.headers.get("Authorization"))
    config = state.config
    if (credentials is None or not config.admin_password or credentials[0] != config.admin_user
            or not hmac.compare_digest(credentials[1].encode(), config.admin_password.encode())):
        return web.json_response({"error": "administrator credentials required"}, status=401,
                                 headers={"WWW-Authenticate": 'Basic realm="Expressway"'})
    return None


async def xcommand(request: web.Request) -> web.Response:
    state = request.app[CORE_STATE]
    refused = admin_refusal(request, state)
    if refused is not None:
        return refused
    try:
        text = str(json.loads(await request.read())["command"])
    except (ValueError, KeyError, TypeError):
        return web.json_response({"error": 'expected {"command": "RefreshServers"}'}, status=400)
    command = COMMANDS.get(text.replace(" ", "").lower().removeprefix("xcommand"))
    if command is None:
        return web.json_response({"error": f"unknown xCommand {text!r}; known: {', '.join(COMMANDS.values())}"},
                                 status=400)
    failed = await state.keys.refresh()
    fetched = [c.name for c in state.lab.clusters if c.name not in failed]
    status = "OK" if not failed else "Error"
    state.log.write(EDGECONFIG_EVENT, "INFO", {"Event": "AuthZ keys refreshed", "Detail": command,
                                               "Clusters": ",".join(fetched), "Failed": ",".join(failed)})
    output = f"*r {command}Result (status={status}):\n  Refreshed: {', '.join(fetched) or 'none'}\n"
    if failed:
        output += f"  Unreachable: {', '.join(failed)}\n"
    return web.json_response({"command": command, "output": output + "** end", "ok": not failed})
