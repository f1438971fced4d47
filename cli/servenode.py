"""``mrasim serve NODE``: one node of the lab alone, importing that node only.

A node process of ``mrasim up --processes`` enters here (:data:`lab.processes._GATE`) rather than through
:mod:`cli.main`, whose parser imports every command and so every node, the analyzer and the SAML stack: each node
process imported all of it at once on two cores, most of ``up --processes``'s ready time (issue 18,
docs/performance.md "Ready time"). :func:`preload` imports the one node's package while the process waits for its
wave; :func:`main` parses the same ``serve`` arguments as ``mrasim serve`` and runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import signal
import sys
from pathlib import Path

from cli.output import CliError, Parser, add_global_options, command, fail, node_name
from common.clock import LabClock
from common.config import DEFAULT_LAB, ConfigError, Lab, load_lab
from common.memory import pin_mmap_threshold
from common.nodelog import LineSink
from common.resolver import LabResolver
from common.tls import LabTls
from lab.nodenames import log_name, node_names, servable
from lab.runfolder import new_run_folder

LOGS = Path("logs")
STATE = Path(".mrasim") / "state"

# The module that starts each kind of node, by the prefix of its name.
NODE_MODULES = {"expressway-e": "edge.node", "expressway-c": "core.node", "cucm:": "cucm_stub.app",
                "imp:": "presence.node", "idp": "idp.node"}


def add_serve_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = command(sub, "serve", "run one node alone from the lab file",
                    ["mrasim serve cucm            # first: Expressway-C fetches CUCM's keys as it starts",
                     "mrasim serve expressway-c", "mrasim serve expressway-e",
                     "mrasim serve idp --sso          # the SAML IdP (the lab file's [idp], or --sso)"],
                    description="Run one node on the fixed listen port of the lab file; the other nodes are reached "
                                "by name through the lab's resolver, wherever they run.")
    serve.add_argument("node", help="expressway-e, expressway-c, cucm (or cucm:CLUSTER[:HOST] for a subscriber), "
                                    "imp (or imp:HOST), idp")
    serve.add_argument("--sso", action="store_true",
                       help="run the lab with SAML SSO on (an IdP with the lab's users, SSO at Expressway-C and "
                            "CUCM), as 'mrasim run --sso'; every node of one lab needs the same choice")
    serve.add_argument("--logs", type=Path, default=LOGS, help="where the run folders go (%(default)s)")
    serve.add_argument("--into", type=Path, help="write the log into this folder itself, no new run folder "
                                                 "(how 'up --processes' keeps one lab in one folder)")
    serve.add_argument("--state", type=Path, default=STATE,
                       help="CUCM's database and keys, shared by the nodes of a cluster (%(default)s)")


def node_module(node: str) -> str | None:
    return next((module for prefix, module in NODE_MODULES.items() if node.startswith(prefix)), None)


def preload(argv: list[str]) -> None:
    """Import the node package named after ``serve`` in ``argv`` (nothing when there is none or it is unknown)."""
    if "serve" in argv[:-1]:
        module = node_module(argv[argv.index("serve") + 1])
        if module is not None:
            importlib.import_module(module)


def serve_target(text: str, lab: Lab) -> str:
    """The full name of the node ``serve`` runs: short forms as everywhere, only nodes that can run alone."""
    known = [n for n in node_names(lab) if servable(n)]
    return node_name(text, known)


def node_sink(folder: Path, node: str, lab: Lab) -> LineSink:
    """The node's log file, and no in-memory ring: nothing in a node's own process reads one, so 20,000 clients'
    records would only hold memory there (the processes' parent and the analyzer read the file)."""
    return LineSink(folder / log_name(node, lab), keep=0)


async def serve(args: argparse.Namespace, lab: Lab) -> int:
    pin_mmap_threshold()  # each TLS read buffer a mapping of its own (common/memory.py)
    lab = lab.with_sso() if getattr(args, "sso", False) else lab
    try:
        node = serve_target(args.node, lab)
    except CliError as exc:
        return fail(exc)
    folder = args.into if args.into is not None else new_run_folder(args.logs)
    state: Path = args.state
    clock = LabClock()
    resolver = LabResolver.from_lab(lab)
    resolver.tls = LabTls.prepare(lab, state)
    sink = node_sink(folder, node, lab)
    unfetched: list[str] = []
    if node == "expressway-e":
        from edge.node import start_edge
        edge = await start_edge(lab, clock, resolver, sink, status_dir=state)
        started, where, port = edge, lab.edge.listener, edge.running.port
    elif node == "expressway-c":
        from core.node import start_core
        core = await start_core(lab, clock, resolver, sink, state_dir=state / "expressway-c", status_dir=state)
        started, where, port, unfetched = core, lab.core.listener, core.traffic.port, core.unfetched
    elif node.startswith("cucm:"):
        from cucm_stub.app import start_cucm
        cluster, listener = next((c, n) for c in lab.clusters for n in c.nodes if c.node_name(n) == node)
        cucm = await start_cucm(lab, cluster, clock, sink, state_dir=state / f"cucm-{cluster.name}", node=listener,
                                tls=resolver.tls, resolver=resolver)
        started, where, port = cucm, listener, cucm.running.port
    elif node == "idp":
        from idp.node import start_idp
        assert lab.idp is not None
        idp = await start_idp(lab, clock, resolver, sink, state / "idp")
        started, where, port = idp, lab.idp.listener, idp.running.port
    else:
        from presence.node import start_imp
        config = next(imp for imp in lab.imps if imp.name == node)
        imp_node = await start_imp(lab, config, clock, resolver, sink)
        started, where, port = imp_node, config.xcp, imp_node.xcp.port
    # Ctrl-C and SIGTERM end the wait, however often they come: under 'up --processes' a Ctrl-C reaches a node twice,
    # from the terminal and from the supervisor, and a second KeyboardInterrupt in the middle of the clean stop
    # surfaced as a traceback from a resolver's __del__.
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    if getattr(args, "json", False):
        print(json.dumps({"node": node, "serving": where.origin, "listening": f"{where.address}:{port}",
                          "log": str(sink.path)}), flush=True)
    else:
        print(f"{node} serving {where.origin} on {where.address}:{port}; log {sink.path} (Ctrl-C stops)", flush=True)
    if unfetched:
        print(f"mrasim: expressway-c could not fetch the AuthZ keys of {', '.join(unfetched)} (is CUCM "
              "running?) and refuses every OAuth token until it has them: start 'mrasim serve cucm', then run "
              "'mrasim xcommand RefreshServers'", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await started.stop()
        sink.close()
    return 0


def main(argv: list[str]) -> int:
    """``mrasim [--lab X] serve NODE …`` for a node process: the same arguments, a parser with ``serve`` only."""
    parser = Parser(prog="mrasim")
    parser.add_argument("--lab", type=Path, default=DEFAULT_LAB)
    parser.add_argument("--json", action="store_true")
    add_serve_parser(parser.add_subparsers(dest="action", required=True))
    add_global_options(parser)
    args = parser.parse_args(argv)
    use_fast_loop()
    try:
        lab = load_lab(args.lab)
        return asyncio.run(serve(args, lab))
    except KeyboardInterrupt:
        return 0
    except ConfigError as exc:
        return fail(exc)
    except OSError as exc:
        return fail(exc, 1)


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
