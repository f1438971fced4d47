"""``mrasim``: run the MRA lab, one node of it, or a whole login; break it, and read its logs.

This module only builds the parser and dispatches; each command group lives in its own module, and the conventions
every command shares (global options before or after the subcommand, help with examples, tables and ``--json``,
units, node names, errors) are in :mod:`cli.output` and docs/cli.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import aiohttp

from cli import analyzer as analyzercli, bundle as bundlecli, live as livecli, runcmd, scenario as scenariocli
from cli import certs as certscli, serve as servecli, storm as stormcli, ui as uicli
from cli.output import Parser, add_global_options, command, emit, fail
from cli.servenode import use_fast_loop
from common.config import DEFAULT_LAB, ConfigError, Lab, Listener, load_lab
from lab.adminclient import send_admin
from common.stormusers import with_storm_users


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="mrasim",
        description="A lab in a box for Cisco Mobile and Remote Access: Jabber, Expressway-E, Expressway-C, CUCM, "
                    "IM&P and Unity Connection as live services on loopback, with the real requests, tokens and log "
                    "lines.",
        epilog="Start with 'mrasim run' to watch one login, then 'mrasim up' to drive the lab yourself. Global "
               "options go before or after the command; 'mrasim COMMAND --help' shows each command with examples. "
               "Conventions: docs/cli.md.",
    )
    parser.add_argument("--lab", type=Path, default=DEFAULT_LAB, help="lab description (TOML); default: %(default)s")
    parser.add_argument("--json", action="store_true", help="print the result as JSON, for scripts")
    sub = parser.add_subparsers(dest="action", required=True, metavar="COMMAND")

    runcmd.add_parser(sub)
    stormcli.add_up_options(servecli.add_up_parser(sub))
    servecli.add_serve_parser(sub)
    livecli.add_parsers(sub)
    _add_product_commands(sub)
    scenariocli.add_parser(sub)
    analyzercli.add_commands(sub)
    bundlecli.add_parser(sub)
    stormcli.add_parser(sub)
    uicli.add_parser(sub)
    certscli.add_parser(sub, servecli.STATE)
    add_global_options(parser)
    return parser


def _add_product_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cucm = command(sub, "cucm", "run a CUCM CLI command on a running lab",
                   ['mrasim cucm "show key authz signing"', 'mrasim cucm "set key regen authz signing"'],
                   description="Run a CUCM platform CLI command on the publisher of a cluster: "
                               "show key authz signing|encryption, set key regen authz signing|encryption.")
    cucm.add_argument("command", help="the CLI command, quoted")
    cucm.add_argument("--cluster", help="cluster name (default: the first in the lab file)")
    xcommand = command(sub, "xcommand", "run an xCommand on Expressway-C of a running lab",
                       "mrasim xcommand RefreshServers",
                       description="Run an xCommand on Expressway-C of a running lab. RefreshServers fetches the "
                                   "AuthZ keys from every CUCM cluster again (\"Refresh servers\").")
    xcommand.add_argument("command", help="the xCommand, e.g. RefreshServers or 'refresh servers'")
    xconfiguration = command(
        sub, "xconfiguration", "read or set xConfiguration CollaborationEdge OAuthLocal|LegacyCred on Expressway-C",
        ["mrasim xconfiguration", "mrasim xconfiguration CollaborationEdge OAuthLocal: Off"],
        description="Read or set Expressway-C's CollaborationEdge settings on a running lab. The HTTP side applies a "
                    "change at once; the XCP router (XMPP) keeps its old value until 'mrasim restart expressway-c'.")
    xconfiguration.add_argument("setting", nargs="*", help="e.g. CollaborationEdge OAuthLocal: Off (empty: read)")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # 'mrasim … | head': stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    use_fast_loop()
    if args.action == "scenario":
        return scenariocli.main(args)
    if args.action == "ui":
        return uicli.main(args)
    if args.action in analyzercli.COMMANDS:
        return analyzercli.run(args)
    try:
        lab = load_lab(args.lab)
    except ConfigError as exc:
        return fail(exc)
    try:
        return _dispatch(args, lab)
    except KeyboardInterrupt:
        return 0 if args.action in ("up", "serve") else 130
    except ConfigError as exc:  # e.g. a certificate file of the lab's [tls] that is missing or broken
        return fail(exc)
    except OSError as exc:
        return fail(exc, 1)


def _dispatch(args: argparse.Namespace, lab: Lab) -> int:
    if args.action == "run":
        return runcmd.main(args, lab)
    if args.action == "certs":
        return certscli.run(args, lab)
    if args.action == "bundle":
        return asyncio.run(bundlecli.run(args, lab))
    if args.action == "up" and (args.processes or args.netns):
        return stormcli.up(args, lab)
    if args.action == "up":
        return asyncio.run(servecli.up(with_storm_users(lab, args.storm_users), args.logs, args.state, args.json))
    if args.action == "serve":
        return asyncio.run(servecli.serve(args, lab))
    if args.action == "storm":
        return stormcli.main(args, lab)
    if args.action in livecli.COMMANDS:
        return asyncio.run(livecli.main(args, lab))
    if args.action == "cucm":
        cluster = next((c for c in lab.clusters if c.name == (args.cluster or lab.clusters[0].name)), None)
        if cluster is None:
            return fail(f"no cluster {args.cluster!r} in {lab.source}; clusters: "
                        f"{', '.join(c.name for c in lab.clusters)}")
        return asyncio.run(_admin(args, cluster.listener, "/mrasim/cli", args.command,
                                  (cluster.admin_user, cluster.admin_password)))
    path, text = ("/mrasim/xconfiguration", " ".join(args.setting)) if args.action == "xconfiguration" else (
        "/mrasim/xcommand", args.command)
    return asyncio.run(_admin(args, lab.core.listener, path, text, (lab.core.admin_user, lab.core.admin_password)))


async def _admin(args: argparse.Namespace, listener: Listener, path: str, command_text: str,
                 credentials: tuple[str, str]) -> int:
    """Send an administration command to a node of a running lab, as its administrator."""
    try:
        status, data = await send_admin(listener.address, listener.listen_port, f"{listener.host}:{listener.port}",
                                        path, command_text, credentials, listener.scheme)
    except aiohttp.ClientConnectionError:
        return fail(f"{listener.host} does not answer on {listener.address}:{listener.listen_port}: is the lab up "
                    "('mrasim up', same --lab file, in another shell) and the node running ('mrasim status')?", 1)
    if status != 200:
        return fail(data.get("error", data), 1)
    emit(args, data, data["output"])
    return 0 if data.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main())
