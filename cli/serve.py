"""``mrasim up`` and ``mrasim serve NODE``: the lab (or one node of it) on the fixed ports of the lab file, until Ctrl-C.

Both write into a run folder of their own (``logs/<time>/``, ``logs/latest`` → it; :mod:`lab.runfolder`).
``serve --into DIR`` writes into DIR itself: ``mrasim up --processes`` uses it so every node of one lab shares one
folder, and so can a lab assembled by hand in three shells. ``serve`` itself lives in :mod:`cli.servenode`, which a node
process of ``up --processes`` imports alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from cli.output import command
from cli.servenode import LOGS, STATE, add_serve_parser, serve, serve_target
from common.config import Lab
from common.domain import ProxyDescriptor, encode_segment
from lab.control import start_control
from lab.runfolder import new_run_folder
from lab.running import RunningLab, start_lab

__all__ = ["LOGS", "STATE", "add_serve_parser", "add_up_parser", "describe", "describe_data", "serve", "serve_target",
           "up"]


def add_up_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    up = command(sub, "up", "start every node on loopback and wait (Ctrl-C stops)",
                 ["mrasim up", "mrasim up --processes    # each node in its own process"],
                 description="Start the whole lab on the listen ports of the lab file and keep it running; print "
                             "what you need to drive it with curl. Logs go to a new folder logs/<time>/ "
                             "(logs/latest points at it); CUCM's keys and refresh tokens stay under --state.")
    up.add_argument("--logs", type=Path, default=LOGS, help="where the run folders go (%(default)s)")
    up.add_argument("--state", type=Path, default=STATE, help="where CUCM keeps its database and keys (%(default)s)")
    return up


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
