"""``mrasim``: run the MRA lab, one node of it, or a whole login.

    mrasim up                 start every node on loopback and wait; prints what you need to drive it with curl
    mrasim serve NODE         run one node (expressway-e, expressway-c, cucm[:CLUSTER]) alone from the lab file
    mrasim run [--out DIR]    start the lab, log in as Jabber, print the request sequence, write the four logs
    mrasim status | clock STEP | restart NODE     act on a lab started with 'mrasim up'
    mrasim cucm "show key authz signing"          CUCM CLI on a running lab
    mrasim xcommand RefreshServers                 xCommand on Expressway-C of a running lab
    mrasim xconfiguration [CollaborationEdge OAuthLocal: On|Off]   read or set Expressway-C's xConfiguration
    mrasim certs [--json]     the lab's certificates: subject, SANs, issuer, validity, fingerprint
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from cli import analyzer as analyzercli
from common.clock import LabClock
from common.config import DEFAULT_LAB, ConfigError, Lab, Listener, load_lab
from common.domain import ProxyDescriptor, encode_segment
from common.nodelog import LineSink
from common.resolver import LabResolver
from common.zone import render as render_zone
from common.tls import LabTls
from core.node import CoreNode, start_core
from cucm_stub.app import CucmNode, start_cucm
from presence.node import ImpNode, start_imp
from edge.node import EdgeNode, start_edge
from cli import live as livecli, scenario as scenariocli, storm as stormcli
from cli import bundle as bundlecli
from cli import certs as certscli
from lab.adminclient import send_admin
from lab.control import start_control
from lab.running import RunningLab, log_name, node_names, start_lab
from common.stormusers import with_storm_users
from lab.runner import Entry
from lab.xmpprun import run_sign_in


STATE = Path(".mrasim") / "state"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mrasim",
        description="A lab in a box for Cisco Mobile and Remote Access: Jabber, Expressway-E, Expressway-C and CUCM "
                    "as live services on loopback, with the real requests, tokens and log lines.",
        epilog="Start with 'mrasim run' to watch one login, then 'mrasim up' to drive the lab yourself.",
    )
    parser.add_argument("--lab", type=Path, default=DEFAULT_LAB, help="lab description (TOML); default: %(default)s")
    sub = parser.add_subparsers(dest="action", required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start every node on loopback and wait (Ctrl-C stops)",
                        description="Start the whole lab on the listen ports of the lab file and keep it running.")
    up.add_argument("--logs", type=Path, default=Path("logs"), help="directory for the node logs (%(default)s)")
    up.add_argument("--state", type=Path, default=STATE, help="where CUCM keeps its database and keys (%(default)s)")
    stormcli.add_up_options(up)

    serve = sub.add_parser("serve", help="run one node alone from the lab file",
                           description="Run one node on the fixed listen port of the lab file; the other nodes are "
                                       "reached by name through the lab's resolver, wherever they run.")
    serve.add_argument("node", help="expressway-e, expressway-c, cucm, or cucm:CLUSTER[:HOST] for a subscriber")
    serve.add_argument("--logs", type=Path, default=Path("logs"), help="directory for the node log (%(default)s)")
    serve.add_argument("--state", type=Path, default=STATE,
                       help="CUCM's database and keys, shared by the nodes of a cluster (%(default)s)")

    run = sub.add_parser("run", help="start the lab, log in as Jabber, print the request sequence",
                         description="Start the lab on free ports, perform the Jabber MRA login, print each request "
                                     "with its status and time, write the node logs; exit 0 only if the login worked.")
    run.add_argument("--out", type=Path, default=Path("logs"), help="directory for the four logs (%(default)s)")
    run.add_argument("--user", help="log in as this user instead of the lab's Jabber user")
    run.add_argument("--password", help="with --user: the password to type into the login form")

    sub.add_parser("status", help="show the nodes and the clock of a running lab ('mrasim up')")
    clock = sub.add_parser("clock", help="move a running lab's clock forward, e.g. +61m or +60d",
                           description="Advance the lab clock every node reads, so expiries happen without waiting.")
    clock.add_argument("step", help="+<n>s, +<n>m, +<n>h or +<n>d")
    restart = sub.add_parser("restart", help="restart one node of a running lab, keeping its log and state")
    restart.add_argument("node", help="expressway-e, expressway-c or cucm:<cluster>")

    cucm = sub.add_parser("cucm", help='run a CUCM CLI command on a running lab, e.g. "show key authz signing"',
                          description="Run a CUCM platform CLI command on the publisher of a cluster: "
                                      "show key authz signing|encryption, set key regen authz signing|encryption.")
    cucm.add_argument("command", help="the CLI command, quoted")
    cucm.add_argument("--cluster", help="cluster name (default: the first in the lab file)")
    xcommand = sub.add_parser("xcommand", help='run an xCommand on Expressway-C, e.g. "RefreshServers"',
                              description="Run an xCommand on Expressway-C of a running lab. RefreshServers fetches "
                                          "the AuthZ keys from every CUCM cluster again (\"Refresh servers\").")
    xcommand.add_argument("command", help="the xCommand, e.g. RefreshServers or 'refresh servers'")
    xconfiguration = sub.add_parser(
        "xconfiguration", help="read or set xConfiguration CollaborationEdge OAuthLocal|LegacyCred on Expressway-C",
        description="Read or set Expressway-C's CollaborationEdge settings on a running lab, e.g. "
                    "'mrasim xconfiguration CollaborationEdge OAuthLocal: On'. The HTTP side applies a change at once; "
                    "the XCP router (XMPP) keeps its old value until 'mrasim restart expressway-c'.")
    xconfiguration.add_argument("setting", nargs="*", help="e.g. CollaborationEdge OAuthLocal: Off (empty: read)")
    scenariocli.add_parser(sub)
    analyzercli.add_commands(sub)
    bundlecli.add_parser(sub)
    certscli.add_parser(sub, STATE)
    stormcli.add_parser(sub)
    livecli.add_parsers(sub)
    return parser


def use_fast_loop() -> None:
    """Run the lab on uvloop where it is installed (it is a dependency on Linux and macOS): the same asyncio API over
    libuv, measured 15-20 % faster per login for the lab and a bare relay alike (docs/performance.md).
    ``MRASIM_LOOP=asyncio`` keeps the standard loop, e.g. to compare."""
    if os.environ.get("MRASIM_LOOP", "uvloop") != "uvloop":
        return
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_fast_loop()
    if args.action == "scenario":
        return scenariocli.main(args)
    if args.action in analyzercli.COMMANDS:
        return analyzercli.run(args)
    try:
        lab = load_lab(args.lab)
    except ConfigError as exc:
        print(f"mrasim: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "run":
            return asyncio.run(_run(lab, args.out, args.user, args.password))
        if args.action == "certs":
            return certscli.run(args, lab)
        if args.action == "bundle":
            return asyncio.run(bundlecli.run(args, lab))
        if args.action == "up" and (args.processes or args.netns):
            return asyncio.run(stormcli.up(args, lab))
        if args.action == "up":
            return asyncio.run(_up(with_storm_users(lab, args.storm_users), args.logs, args.state))
        if args.action == "storm":
            return stormcli.main(args, lab)
        if args.action in ("fault", "stop", "start", "skew", "enterprise"):
            try:
                method, path, body = livecli.request_for(args, lab.clusters[0].name)
            except ValueError as exc:
                print(f"mrasim: {exc}", file=sys.stderr)
                return 2
            return asyncio.run(_control(lab, method, path, body))
        if args.action == "status":
            return asyncio.run(_control(lab, "GET", "/status"))
        if args.action == "clock":
            return asyncio.run(_control(lab, "POST", "/clock", {"advance": args.step}))
        if args.action == "restart":
            return asyncio.run(_control(lab, "POST", f"/nodes/{args.node}/restart"))
        if args.action == "cucm":
            cluster = next((c for c in lab.clusters if c.name == (args.cluster or lab.clusters[0].name)), None)
            if cluster is None:
                print(f"mrasim: no cluster {args.cluster!r} in {lab.source}", file=sys.stderr)
                return 2
            return asyncio.run(_admin(cluster.listener, "/mrasim/cli", args.command,
                                      (cluster.admin_user, cluster.admin_password)))
        if args.action == "xconfiguration":
            return asyncio.run(_admin(lab.core.listener, "/mrasim/xconfiguration", " ".join(args.setting),
                                      (lab.core.admin_user, lab.core.admin_password)))
        if args.action == "xcommand":
            return asyncio.run(_admin(lab.core.listener, "/mrasim/xcommand", args.command,
                                      (lab.core.admin_user, lab.core.admin_password)))
        return asyncio.run(_serve(lab, args.node, args.logs, args.state))
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:
        print(f"mrasim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mrasim: {exc}", file=sys.stderr)
        return 1


async def _run(lab: Lab, out: Path, user: str | None, password: str | None) -> int:
    out.mkdir(parents=True, exist_ok=True)
    for name in ("jabber", *node_names(lab)):
        (out / log_name(name, lab)).unlink(missing_ok=True)
    started = time.perf_counter()
    running = await start_lab(lab.with_ephemeral_ports(), out)
    ready = (time.perf_counter() - started) * 1000
    print(f"lab up in {ready:.0f} ms: {lab.edge.listener.host} → {lab.core.listener.host} → "
          f"{', '.join(c.listener.host for c in lab.clusters)}")
    print(f"logging in as {user or lab.jabber.userid}@{lab.domain}\n")

    def show(entry: Entry) -> None:
        print(entry.render(), flush=True)

    try:
        began = time.perf_counter()
        outcome, xmpp, _, _ = await run_sign_in(running, show, user, password)
        total = (time.perf_counter() - began) * 1000
    finally:
        await running.stop()
    print()
    if outcome.ok:
        print(f"login succeeded ({outcome.path} path) in {total:.1f} ms; devices: {', '.join(outcome.devices)}")
        if xmpp is not None:
            print(f"XMPP: signed in as {xmpp.jid} with SASL {xmpp.mechanism} (offered: {', '.join(xmpp.offered)})")
    else:
        print(f"login FAILED at {outcome.failed_step}: {outcome.reason}")
    print(f"logs: {', '.join(str(out / log_name(n, lab)) for n in ('jabber', *reversed(node_names(lab))))}")
    return 0 if outcome.ok else 1


async def _up(lab: Lab, logs: Path, state: Path) -> int:
    running = await start_lab(lab, logs, state_dir=state)
    try:
        control = await start_control(running)
    except OSError:
        await running.stop()
        raise
    try:
        print(describe(running), flush=True)
        await asyncio.Event().wait()
    finally:
        await control.stop()
        await running.stop()
    return 0


async def _admin(listener: Listener, path: str, command: str, credentials: tuple[str, str]) -> int:
    """Send an administration command to a node of a running lab, as its administrator."""
    try:
        status, data = await send_admin(listener.address, listener.listen_port, f"{listener.host}:{listener.port}",
                                        path, command, credentials, listener.scheme)
    except aiohttp.ClientConnectionError:
        print(f"mrasim: {listener.host} does not answer on {listener.address}:{listener.listen_port}; start the lab "
              "with 'mrasim up' (same --lab file)", file=sys.stderr)
        return 1
    if status != 200:
        print(f"mrasim: {data.get('error', data)}", file=sys.stderr)
        return 1
    print(data["output"])
    return 0 if data.get("ok", True) else 1


async def _control(lab: Lab, method: str, path: str, body: dict[str, Any] | None = None) -> int:
    """Call the control API of the lab that 'mrasim up' runs from the same lab file."""
    url = f"http://{lab.control.address}:{lab.control.listen_port}{path}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, url, json=body) as response:
                data = await response.json()
    except aiohttp.ClientConnectionError:
        print(f"mrasim: no lab answers on {lab.control.address}:{lab.control.listen_port}; start one with "
              f"'mrasim up' (same --lab file)", file=sys.stderr)
        return 1
    if response.status != 200:
        print(f"mrasim: {data.get('error', data)}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2))
    if path == "/status" and data.get("zones"):
        print("\nTraversal zone (Status > Zones):")
        for node, zone in data["zones"].items():
            print("\n".join(render_zone(node, zone)))
    return 0


def describe(running: RunningLab) -> str:
    lab = running.lab
    edge = lab.edge.listener
    seg = encode_segment(lab.domain)
    user = lab.user(lab.jabber.userid)
    client = lab.client(lab.jabber.client_id)
    uds = ProxyDescriptor(lab.domain, "https", lab.clusters[0].listener.host, 8443).encode()
    tls = running.resolver.tls
    local = f"{'https' if tls else 'http'}://{edge.host if tls else edge.address}:{running.edge_port}"
    curl = (f"curl --cacert {tls.ca_file} --resolve {edge.host}:{running.edge_port}:{edge.address}" if tls
            else "curl")
    return "\n".join([
        "mrasim lab is up (Ctrl-C stops it)",
        f"  Expressway-E   {edge.origin}  →  listening on {local}",
        f"  domain         {lab.domain}  (base64 segment: {seg})",
        f"  test user      {user.userid if user else '-'} / {user.password if user else '-'}",
        f"  Jabber client  client_id={lab.jabber.client_id}",
        f"                 client_secret={client.client_secret if client else '-'}",
        f"  UDS via edge   /{uds}/cucm-uds/user/<user>",
        "",
        "Try:",
        f"  {curl} -i '{local}/{seg}/get_edge_sso?email={lab.jabber.userid}@{lab.domain}'",
        f"  {curl} -i -u '{lab.jabber.userid}:{user.password if user else ''}' "
        f"'{local}/{seg}/get_edge_config?service_name=_cisco-uds&service_name=_cuplogin'",
        f"Logs are written to {running.sinks['expressway-e'].path.parent if running.sinks['expressway-e'].path else '-'}/",
    ])


async def _serve(lab: Lab, node: str, logs: Path, state: Path) -> int:
    clock = LabClock()
    resolver = LabResolver.from_lab(lab)
    resolver.tls = LabTls.prepare(lab, state)
    started: EdgeNode | CoreNode | CucmNode | ImpNode
    if node == "expressway-e":
        sink = LineSink(logs / log_name(node, lab))
        edge = await start_edge(lab, clock, resolver, sink, status_dir=state)
        started, where, port = edge, lab.edge.listener, edge.running.port
    elif node == "expressway-c":
        sink = LineSink(logs / log_name(node, lab))
        core = await start_core(lab, clock, resolver, sink, status_dir=state)
        started, where, port = core, lab.core.listener, core.traffic.port
    elif node == "cucm" or node.startswith("cucm:"):
        name = node if node != "cucm" else lab.clusters[0].node_name(lab.clusters[0].listener)
        found = [(c, n) for c in lab.clusters for n in c.nodes if c.node_name(n) == name]
        if not found:
            known = ", ".join(n for n in node_names(lab) if n.startswith("cucm:"))
            print(f"mrasim: no CUCM node {name!r} in {lab.source}; known: {known}", file=sys.stderr)
            return 2
        cluster, listener = found[0]
        sink = LineSink(logs / log_name(name, lab))
        cucm = await start_cucm(lab, cluster, clock, sink, state_dir=state / f"cucm-{cluster.name}", node=listener,
                                tls=resolver.tls)
        started, where, port = cucm, listener, cucm.running.port
    elif node.startswith("imp:") and any(imp.name == node for imp in lab.imps):
        config = next(imp for imp in lab.imps if imp.name == node)
        sink = LineSink(logs / log_name(node, lab))
        imp_node = await start_imp(lab, config, clock, resolver, sink)
        started, where, port = imp_node, config.xcp, imp_node.xcp.port
    else:
        print(f"mrasim: unknown node {node!r}; expected expressway-e, expressway-c, cucm[:CLUSTER[:HOST]] or "
              f"{', '.join(imp.name for imp in lab.imps) or 'imp:HOST'}", file=sys.stderr)
        return 2
    print(f"{node} serving {where.origin} on {where.address}:{port}; log {sink.path} (Ctrl-C stops)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await started.stop()
        sink.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
