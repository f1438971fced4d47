"""``mrasim bundle start | marker TEXT | stop [--out FILE]``: diagnostic logging against a lab run by ``mrasim up``."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import aiohttp

from cli.output import command, emit
from common.config import Lab

BUNDLES = Path("bundles")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bundle = command(sub, "bundle", "diagnostic logging on a running lab: start, marker TEXT, stop",
                     ["mrasim bundle start", 'mrasim bundle marker "before the failing login"', "mrasim bundle stop",
                      "mrasim diagnose bundles/diagnostic_logs_*.tar.gz"],
                     description="Like Expressway's diagnostic logging: 'start' marks where every node's log "
                                        "stands, 'marker TEXT' writes a DEBUG_MARKER line into every node's log, "
                                        "'stop' writes a .tar.gz with the logs since start, an xconf_dump and an "
                                        "xstat_dump — ready for 'mrasim diagnose'.")
    actions = bundle.add_subparsers(dest="bundle_action", required=True, metavar="ACTION")
    command(actions, "start", "start diagnostic logging", "mrasim bundle start")
    marker = command(actions, "marker", "write a DEBUG_MARKER line into every node's log",
                     'mrasim bundle marker "before the failing login"')
    marker.add_argument("text", help="the marker text")
    stop = command(actions, "stop", "stop and write the bundle", ["mrasim bundle stop", "mrasim bundle stop --out x.tar.gz"])
    stop.add_argument("--out", type=Path, help=f"bundle file (default: {BUNDLES}/diagnostic_logs_<time>.tar.gz, kept "
                                               "apart from the logs so 'diagnose logs/' never reads a log twice)")


async def run(args: argparse.Namespace, lab: Lab) -> int:
    body: dict[str, str] = {}
    if args.bundle_action == "marker":
        body["text"] = args.text
    if args.bundle_action == "stop":
        stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
        body["out"] = str((args.out or BUNDLES / f"diagnostic_logs_{stamp}.tar.gz").resolve())
    url = f"http://{lab.control.address}:{lab.control.listen_port}/bundle/{args.bundle_action}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json=body) as response:
                data = await response.json()
    except aiohttp.ClientError:
        print(f"mrasim: no lab answers on {lab.control.address}:{lab.control.listen_port}; start one with "
              "'mrasim up' (same --lab file)", file=sys.stderr)
        return 1
    if response.status != 200:
        print(f"mrasim: {data.get('error', data)}", file=sys.stderr)
        return 1
    if "bundle" in data:
        text = f"bundle written: {data['bundle']}\nNext: mrasim diagnose {data['bundle']}"
    elif "marked" in data:
        text = f"DEBUG_MARKER written to {data['marked']} node log(s)"
    else:
        text = f"diagnostic logging started at {data['started']} on {', '.join(data['nodes'])}"
    emit(args, data, text)
    return 0
