"""``mrasim up`` and ``mrasim serve NODE``: the lab (or one node of it) on the fixed ports of the lab file, until Ctrl-C.

Both write into a run folder of their own (``logs/<time>/``, ``logs/latest`` → it; :mod:`lab.runfolder`).
``serve --into DIR`` writes into DIR itself: ``mrasim up --processes`` uses it so every node of one lab shares one
folder, and so can a lab assembled by hand in three shells.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from cli.output import CliError, command, fail, node_name
from common.clock import LabClock
from common.config import Lab
from common.domain import ProxyDescriptor, encode_segment
from common.nodelog import LineSink
from common.tls import LabTls
from common.resolver import LabResolver
from core.node import CoreNode, start_core
from cucm_stub.app import CucmNode, start_cucm
from edge.node import EdgeNode, start_edge
from idp.node import IdpNode, start_idp
from lab.control import start_control
from lab.processes import servable
from lab.runfolder import new_run_folder
from lab.running import RunningLab, log_name, node_names, start_lab
from presence.node import ImpNode, start_imp

LOGS = Path("logs")
STATE = Path(".mrasim") / "state"


def add_up_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    up = command(sub, "up", "start every node on loopback and wait (Ctrl-C stops)",
                 ["mrasim up", "mrasim up --processes    # each node in its own process"],
                 description="Start the whole lab on the listen ports of the lab file and keep it running; print "
                             "what you need to drive it with curl. Logs go to a new folder logs/<time>/ "
                             "(logs/latest points at it); CUCM's keys and refresh tokens stay under --state.")
    up.add_argument("--logs", type=Path, default=LOGS, help="where the run folders go (%(default)s)")
    up.add_argument("--state", type=Path, default=STATE, help="where CUCM keeps its database and keys (%(default)s)")
    return up


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


async def up(lab: Lab, logs: Path, state: Path, as_json: bool = False) -> int:
    folder = new_run_folder(logs)
    running = await start_lab(lab, folder, state_dir=state)
    try:
        control = await start_control(running)
    except OSError:
        await running.stop()
        raise
    try:
        print(json.dumps(describe_data(running)) if as_json else describe(running), flush=True)
        await asyncio.Event().wait()
    finally:
        await control.stop()
        await running.stop()
    return 0


def describe_data(running: RunningLab) -> dict[str, object]:
    """What a person (or a script, with ``--json``) needs to drive the lab: where E listens, the user, the client."""
    lab = running.lab
    user = lab.user(lab.jabber.userid)
    client = lab.client(lab.jabber.client_id)
    folder = running.sinks["expressway-e"].path
    edge, tls = lab.edge.listener, running.resolver.tls
    listening = (f"https://{edge.host}:{running.edge_port}" if tls else f"http://{edge.address}:{running.edge_port}")
    return {"edge": {"origin": edge.origin, "listening": listening, "address": edge.address,
                     "ca_file": str(tls.ca_file) if tls else None},
            "domain": lab.domain, "segment": encode_segment(lab.domain),
            "user": {"userid": user.userid, "password": user.password} if user else None,
            "client": {"client_id": lab.jabber.client_id, "client_secret": client.client_secret if client else None},
            "uds_segment": ProxyDescriptor(lab.domain, "https", lab.clusters[0].listener.host, 8443).encode(),
            "control": f"http://{lab.control.address}:{lab.control.listen_port}",
            "logs": str(folder.parent) if folder else None}


def describe(running: RunningLab) -> str:
    data = describe_data(running)
    lab = running.lab
    seg, local, uds = data["segment"], data["edge"]["listening"], data["uds_segment"]  # type: ignore[index]
    user = lab.user(lab.jabber.userid)
    client = lab.client(lab.jabber.client_id)
    edge, ca_file = lab.edge.listener, data["edge"]["ca_file"]  # type: ignore[index]
    # Over TLS, curl checks E's certificate against the lab CA and reaches E's name at its loopback listener.
    curl = f"curl --cacert {ca_file} --resolve {edge.host}:{running.edge_port}:{edge.address}" if ca_file else "curl"
    return "\n".join([
        "mrasim lab is up (Ctrl-C stops it)",
        f"  Expressway-E   {lab.edge.listener.origin}  →  listening on {local}",
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
        "  mrasim status                 # every node, its port and clock (in another shell)",
        f"Logs are written to {data['logs'] or '-'}/ (logs/latest points at it)",
    ])


def serve_target(text: str, lab: Lab) -> str:
    """The full name of the node ``serve`` runs: short forms as everywhere, only nodes that can run alone."""
    known = [n for n in node_names(lab) if servable(n)]
    return node_name(text, known)


async def serve(args: argparse.Namespace, lab: Lab) -> int:
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
    sink = LineSink(folder / log_name(node, lab))
    started: EdgeNode | CoreNode | CucmNode | ImpNode | IdpNode
    if node == "expressway-e":
        edge = await start_edge(lab, clock, resolver, sink, status_dir=state)
        started, where, port = edge, lab.edge.listener, edge.running.port
    elif node == "expressway-c":
        core = await start_core(lab, clock, resolver, sink, state_dir=state / "expressway-c", status_dir=state)
        started, where, port = core, lab.core.listener, core.traffic.port
    elif node.startswith("cucm:"):
        cluster, listener = next((c, n) for c in lab.clusters for n in c.nodes if c.node_name(n) == node)
        cucm = await start_cucm(lab, cluster, clock, sink, state_dir=state / f"cucm-{cluster.name}", node=listener,
                                tls=resolver.tls, resolver=resolver)
        started, where, port = cucm, listener, cucm.running.port
    elif node == "idp":
        assert lab.idp is not None
        idp = await start_idp(lab, clock, resolver, sink, state / "idp")
        started, where, port = idp, lab.idp.listener, idp.running.port
    else:
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
    if isinstance(started, CoreNode) and started.unfetched:
        print(f"mrasim: expressway-c could not fetch the AuthZ keys of {', '.join(started.unfetched)} (is CUCM "
              "running?) and refuses every OAuth token until it has them: start 'mrasim serve cucm', then run "
              "'mrasim xcommand RefreshServers'", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        await started.stop()
        sink.close()
    return 0
