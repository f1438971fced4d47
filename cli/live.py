"""``mrasim status | clock | restart | stop | start | skew | fault | enterprise``: act on a running lab by hand.

Each command calls the control API of the lab ``mrasim up`` runs from the same lab file (:mod:`lab.control`,
:mod:`lab.controlfaults`, :mod:`lab.processcontrol`), so what works in a scenario works live in front of a class. The
answer is printed as a table (``--json``: the API's own JSON).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import aiohttp

from cli.output import CliError, command, duration, emit, fail, node_name, say_duration, table
from common.config import Lab
from common.faults import CONNECTION_KINDS, HTTP_KINDS
from common.zone import render as render_zone
from lab.running import node_names

COMMANDS = ("status", "clock", "restart", "stop", "start", "skew", "fault", "enterprise")
FAULT_OPTIONS = ("node", "source", "method", "path", "user", "first", "after", "every", "probability", "status",
                 "body", "seconds")
NODE_HELP = "a node of the lab file: expressway-e, expressway-c, cucm (or cucm:CLUSTER[:HOST]), imp, unity"


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command(sub, "status", "show every node of a running lab: state, where it listens, clock skew", "mrasim status",
            description="Show the nodes of the lab 'mrasim up' runs from the same lab file: running or stopped, the "
                        "address in URLs and logs, the loopback port it really listens on, its clock skew, and the "
                        "lab clock.")
    clock = command(sub, "clock", "move a running lab's clock: forward (+61m, +60d) or back (-61m)",
                    ["mrasim clock +61m      # the access token expires", "mrasim clock -61m      # and back again"],
                    description="Move the lab clock every node reads, so expiries happen without waiting. A step goes "
                                "back as far as real time, no further; to make one node run behind, use 'mrasim "
                                "skew NODE -5m'.")
    clock.add_argument("step", type=duration, help="a signed number and a unit s, m, h or d: +61m, -5m, 2d")
    for verb, text, example in (
            ("restart", "restart one node of a running lab, keeping its log and state", "mrasim restart cucm"),
            ("stop", "stop one node of a running lab (its listener closes, as on a shut-down VM)",
             "mrasim stop cucm"),
            ("start", "start a stopped node again", "mrasim start cucm")):
        command(sub, verb, text, example).add_argument("node", help=NODE_HELP)
    skew = command(sub, "skew", "make one node's clock run ahead of the lab's (or behind, with -)",
                   ["mrasim skew expressway-c 10m    # NTP broken: the traversal zone refuses, 403",
                    "mrasim skew expressway-c 0s     # back in step"])
    skew.add_argument("node", help=NODE_HELP)
    skew.add_argument("offset", type=duration, help="how far ahead (+10m) or behind (-5m), units s, m, h, d")
    enterprise = command(sub, "enterprise", "set CUCM OAuth enterprise parameters on a running lab",
                         "mrasim enterprise oauth_refresh_login_flow=Disabled oauth_access_token_expiry_minutes=5",
                         description="Set CUCM enterprise parameters of a running lab, validated as in the lab file: "
                                     "oauth_refresh_login_flow=Enabled|Disabled, oauth_access_token_expiry_minutes=N "
                                     "(1-1440), oauth_refresh_token_expiry_days=N.")
    enterprise.add_argument("settings", nargs="+", metavar="KEY=VALUE", help="a parameter and its new value")
    enterprise.add_argument("--cluster", help="cluster name (default: the first in the lab file)")
    _add_fault_parser(sub)


def _add_fault_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fault = command(sub, "fault", "add, list or clear faults on a running lab",
                    ["mrasim fault add refuse --node expressway-c --source expressway-e", "mrasim fault list",
                     "mrasim fault clear"],
                    description="Inject a fault into a running lab, as a scenario's [[faults]] does.")
    verbs = fault.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = command(verbs, "add", "add a fault",
                  ["mrasim fault add refuse --node expressway-c --source expressway-e   # the SSH tunnel is down",
                   "mrasim fault add respond --node cucm --path authorize_proxy --status 503 --first 1"],
                  description=f"HTTP faults act where a node receives a request ({', '.join(HTTP_KINDS)}); "
                              f"connection faults where a node dials the next hop ({', '.join(CONNECTION_KINDS)}).")
    add.add_argument("kind", choices=HTTP_KINDS + CONNECTION_KINDS, metavar="KIND",
                     help=f"one of {', '.join(HTTP_KINDS + CONNECTION_KINDS)}")
    add.add_argument("--node", help="the node that receives (HTTP) or is dialled (connection)")
    add.add_argument("--source", help="connection faults: the node that dials")
    add.add_argument("--method", help="only requests with this HTTP method")
    add.add_argument("--path", help="regular expression searched in the request path")
    add.add_argument("--user", help="only requests for this user")
    add.add_argument("--first", type=int, help="only the first N matching exchanges")
    add.add_argument("--after", type=int, help="only after the first N matching exchanges")
    add.add_argument("--every", type=int, help="every Nth matching exchange")
    add.add_argument("--probability", type=float, help="seeded probability (0..1]")
    add.add_argument("--status", type=int, help="respond: the HTTP status (default 503)")
    add.add_argument("--body", help="respond: the body")
    add.add_argument("--seconds", type=float, help="delay, latency, blackhole: how long, in seconds")
    command(verbs, "list", "the active faults and how often each hit", "mrasim fault list")
    clear = command(verbs, "clear", "remove one fault (by id) or all", ["mrasim fault clear f1", "mrasim fault clear"])
    clear.add_argument("id", nargs="?", help="the fault's id from 'mrasim fault list' (default: all)")


def request_for(args: argparse.Namespace, lab: Lab) -> tuple[str, str, dict[str, Any] | None]:
    """The control API call (method, path, JSON body) a command stands for; node names made full."""
    known = node_names(lab)
    if args.action == "status":
        return "GET", "/status", None
    if args.action == "clock":
        return "POST", "/clock", {"advance": f"{args.step}s"}
    if args.action == "fault":
        if args.verb == "add":
            body = {"kind": args.kind, **{k: getattr(args, k) for k in FAULT_OPTIONS if getattr(args, k) is not None}}
            for key in ("node", "source"):
                if key in body:
                    body[key] = node_name(body[key], known)
            return "POST", "/faults", body
        if args.verb == "list":
            return "GET", "/faults", None
        return "DELETE", f"/faults/{args.id}" if args.id else "/faults", None
    if args.action in ("stop", "start", "restart"):
        return "POST", f"/nodes/{node_name(args.node, known)}/{args.action}", None
    if args.action == "skew":
        return "POST", f"/nodes/{node_name(args.node, known)}/skew", {"seconds": args.offset}
    settings: dict[str, Any] = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"{item!r}: expected KEY=VALUE, e.g. oauth_refresh_login_flow=Disabled")
        settings[key] = int(value) if value.isdigit() else value
    return "POST", f"/clusters/{args.cluster or lab.clusters[0].name}/enterprise", settings


async def call(lab: Lab, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call the control API of the lab 'mrasim up' runs from the same lab file; CliError says what to do."""
    url = f"http://{lab.control.address}:{lab.control.listen_port}{path}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, url, json=body) as response:
                data = await response.json(content_type=None)
    except (aiohttp.ClientConnectionError, ValueError):
        raise CliError(f"no lab answers on {lab.control.address}:{lab.control.listen_port}; start one with "
                       f"'mrasim up' (same --lab file) in another shell") from None
    if response.status != 200:
        raise CliError(data.get("error", data) if isinstance(data, dict) else data)
    return data  # type: ignore[no-any-return]


async def main(args: argparse.Namespace, lab: Lab) -> int:
    try:
        method, path, body = request_for(args, lab)
        data = await call(lab, method, path, body)
    except CliError as exc:
        return fail(exc, 1 if "no lab answers" in str(exc) else 2)
    emit(args, data, render(args, data))
    return 0


def render(args: argparse.Namespace, data: dict[str, Any]) -> str:
    """The control API's answer as a person reads it."""
    if args.action == "status":
        return render_status(data)
    if args.action == "clock":
        return f"lab clock {_clock(data['now'], data['offset_seconds'])}"
    if args.action == "skew":
        skew = data["skew_seconds"]
        where = "in step with" if skew == 0 else ("ahead of" if skew > 0 else "behind")
        return f"{data['node']} runs {say_duration(abs(skew)).lstrip('+') + ' ' if skew else ''}{where} the lab clock"
    if args.action == "enterprise":
        return f"cluster {data['cluster']} enterprise parameters:\n" + table(
            ("PARAMETER", "VALUE"), data["enterprise"].items(), indent="  ")
    if args.action == "fault":
        if "faults" in data:
            return render_faults(data["faults"]) if data["faults"] else "no active faults"
        if "added" in data:
            return f"fault {data['added']['id']} added: {_fault_match(data['added'])}"
        return f"{data['cleared']} fault(s) cleared"
    done = next(k for k in ("restarted", "stopped", "started") if k in data)
    pid = f" (pid {data['pid']})" if data.get("pid") and data.get("alive") else ""
    return f"{data[done]} {done}{pid}"


def render_status(data: dict[str, Any]) -> str:
    clock = data.get("clock")
    head = f"lab {data['domain']} ({data.get('mode', 'single process')})"
    if clock:
        head += f", clock {_clock(clock['now'], clock['offset_seconds'])}"
    with_pid = any("pid" in node for node in data["nodes"].values())
    headers = ("NODE", "STATE", *(("PID",) if with_pid else ()), "LISTENING", "SKEW", "NAME IN URLS AND LOGS")
    rows = [(name, node.get("state", "running" if node.get("alive", True) else "stopped"),
             *((node.get("pid", "-"),) if with_pid else ()), node.get("listening", "-"),
             say_duration(node["skew_seconds"]) if "skew_seconds" in node else "-", node.get("origin", "-"))
            for name, node in data["nodes"].items()]
    lines = [head, table(headers, rows)]
    if data.get("not_served"):
        lines.append(f"not started in processes: {', '.join(data['not_served'])}")
    if data.get("zones"):
        lines.append("\nTraversal zone (Status > Zones):")
        for node, zone in data["zones"].items():
            lines.extend(render_zone(node, zone))
    return "\n".join(lines)


def _clock(now: str, offset: float) -> str:
    when = dt.datetime.fromisoformat(now).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{when} ({say_duration(offset)} from real time)" if offset else f"{when} (real time)"


def render_faults(faults: list[dict[str, Any]]) -> str:
    rows = [(f["id"], f["kind"], f.get("hits", 0), _fault_match(f)) for f in faults]
    return table(("ID", "KIND", "HITS", "MATCH"), rows)


def _fault_match(fault: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in fault.items() if k not in ("id", "kind", "hits")) or "every exchange"
