"""``mrasim bundle start | marker TEXT | stop [--out FILE]``: diagnostic logging against a lab run by ``mrasim up``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import aiohttp

from common.config import Lab


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bundle = sub.add_parser("bundle", help="diagnostic logging on a running lab: start, marker TEXT, stop",
                            description="Like Expressway's diagnostic logging: 'start' marks where every node's log "
                                        "stands, 'marker TEXT' writes a DEBUG_MARKER line into every node's log, "
                                        "'stop' writes a .tar.gz with the logs since start, an xconf_dump and an "
                                        "xstat_dump — ready for 'mrasim diagnose'.")
    actions = bundle.add_subparsers(dest="bundle_action", required=True, metavar="ACTION")
    actions.add_parser("start", help="start diagnostic logging")
    marker = actions.add_parser("marker", help="write a DEBUG_MARKER line into every node's log")
    marker.add_argument("text", help="the marker text")
    stop = actions.add_parser("stop", help="stop and write the bundle")
    stop.add_argument("--out", type=Path, help="bundle file (default: diagnostic_logs_<time>.tar.gz beside the logs)")


async def run(args: argparse.Namespace, lab: Lab) -> int:
    body: dict[str, str] = {}
    if args.bundle_action == "marker":
        body["text"] = args.text
    if args.bundle_action == "stop" and args.out is not None:
        body["out"] = str(args.out.resolve())
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
        print(f"bundle written: {data['bundle']}")
    elif "marked" in data:
        print(f"DEBUG_MARKER written to {data['marked']} node log(s)")
    else:
        print(f"diagnostic logging started at {data['started']} on {', '.join(data['nodes'])}")
    return 0
