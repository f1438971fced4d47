"""``mrasim fault | stop | start | skew | enterprise``: break a running lab by hand, as a scenario file would.

Each command calls the control API of the lab ``mrasim up`` runs from the same lab file (see
:mod:`lab.controlfaults`), so what works in a scenario works live in front of a class.
"""

from __future__ import annotations

import argparse
from typing import Any

from common.faults import CONNECTION_KINDS, HTTP_KINDS

FAULT_OPTIONS = ("node", "source", "method", "path", "user", "first", "after", "every", "probability", "status",
                 "body", "seconds")


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    fault = sub.add_parser("fault", help="add, list or clear faults on a running lab",
                           description="Inject a fault into a running lab, as a scenario's [[faults]] does.")
    verbs = fault.add_subparsers(dest="verb", required=True, metavar="VERB")
    add = verbs.add_parser("add", help="add a fault", description=(
        "HTTP faults act where a node receives a request (respond, delay, drop, corrupt); connection faults where a "
        "node dials the next hop (refuse, reset, blackhole, latency). Example: mrasim fault add refuse --node "
        "expressway-c --source expressway-e  (the SSH tunnel is down)."))
    add.add_argument("kind", choices=HTTP_KINDS + CONNECTION_KINDS)
    add.add_argument("--node", help="the node that receives (HTTP) or is dialled (connection)")
    add.add_argument("--source", help="connection faults: the node that dials")
    add.add_argument("--method")
    add.add_argument("--path", help="regular expression searched in the request path")
    add.add_argument("--user")
    add.add_argument("--first", type=int, help="only the first N matching exchanges")
    add.add_argument("--after", type=int, help="only after the first N matching exchanges")
    add.add_argument("--every", type=int, help="every Nth matching exchange")
    add.add_argument("--probability", type=float, help="seeded probability (0..1]")
    add.add_argument("--status", type=int, help="respond: the HTTP status (default 503)")
    add.add_argument("--body", help="respond: the body")
    add.add_argument("--seconds", type=float, help="delay, latency, blackhole: how long")
    verbs.add_parser("list", help="the active faults and how often each hit")
    clear = verbs.add_parser("clear", help="remove one fault (by id) or all")
    clear.add_argument("id", nargs="?")

    for verb, text in (("stop", "stop one node of a running lab"), ("start", "start a stopped node again")):
        parser = sub.add_parser(verb, help=text)
        parser.add_argument("node")
    skew = sub.add_parser("skew", help="make a node's clock run ahead (or behind, negative) of the lab's")
    skew.add_argument("node")
    skew.add_argument("seconds", type=float)
    enterprise = sub.add_parser("enterprise", help="set CUCM OAuth enterprise parameters on a running lab",
                                description="Set enterprise parameters, e.g. oauth_refresh_login_flow=Disabled "
                                            "oauth_access_token_expiry_minutes=5; validated as in the lab file.")
    enterprise.add_argument("settings", nargs="+", metavar="KEY=VALUE")
    enterprise.add_argument("--cluster", help="cluster name (default: the first in the lab file)")


def request_for(args: argparse.Namespace, default_cluster: str) -> tuple[str, str, dict[str, Any] | None]:
    """The control API call (method, path, JSON body) a command stands for."""
    if args.action == "fault":
        if args.verb == "add":
            body = {"kind": args.kind, **{k: getattr(args, k) for k in FAULT_OPTIONS if getattr(args, k) is not None}}
            return "POST", "/faults", body
        if args.verb == "list":
            return "GET", "/faults", None
        return "DELETE", f"/faults/{args.id}" if args.id else "/faults", None
    if args.action in ("stop", "start"):
        return "POST", f"/nodes/{args.node}/{args.action}", None
    if args.action == "skew":
        return "POST", f"/nodes/{args.node}/skew", {"seconds": args.seconds}
    settings: dict[str, Any] = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{item!r}: expected KEY=VALUE")
        settings[key] = int(value) if value.isdigit() else value
    return "POST", f"/clusters/{args.cluster or default_cluster}/enterprise", settings
