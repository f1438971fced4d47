"""``mrasim run``: start the lab on free ports, sign in as Jabber, print the request sequence, end with next steps."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import textwrap
import time
from pathlib import Path

from cli.output import command, cut, emit, table, wants_json, width
from common.config import Lab
from lab.processrun import ProcessRun, start_process_run
from lab.running import RunningLab, log_name, node_names, start_lab
from lab.runfolder import new_run_folder
from lab.runner import Entry
from lab.siprun import register_phone
from lab.xmpprun import run_sign_in

LOGS = Path("logs")
# Widths of the fixed columns: "{13: edgeconfigprovision}", "C → validator", "POST", status, time.
LABEL, HOP, METHOD, STATUS, ELAPSED = 26, 14, 5, 6, 11


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    run = command(sub, "run", "start the lab, sign in as Jabber (HTTP, then XMPP), print the request sequence",
                  ["mrasim run", "mrasim run --user aokanlawon --password wrong   # see where a bad password stops",
                   "mrasim run --sso                  # SAML SSO through the lab's IdP (docs/sso.md)",
                   "mrasim run --sso --processes      # the same, each node in its own process",
                   "mrasim run --json | jq .outcome"],
                  description="Start the lab on free ports, perform the Jabber MRA login and the XMPP sign-in, print "
                              "each request with its status and time, and write the node logs (expressway-e, "
                              "expressway-c, cucm, imp, unity, jabber; CUCM's SIP trace sdl-cucm.txt) into a new "
                              "folder logs/<time>/, with "
                              "logs/latest pointing at it. Exit status 0 only if the sign-in worked.")
    run.add_argument("--logs", "--out", type=Path, default=LOGS, dest="logs",
                     help="where the run folders go (%(default)s/<time>/, %(default)s/latest)")
    run.add_argument("--user", help="sign in as this user instead of the lab's Jabber user")
    run.add_argument("--password", help="with --user: the password to type into the login form")
    run.add_argument("--sso", action="store_true",
                     help="sign in through SAML SSO: add an IdP with the lab's users, turn single sign-on on at "
                          "Expressway-C and CUCM (docs/sso.md)")
    run.add_argument("--processes", action="store_true",
                     help="run each node in its own process ('mrasim serve'), as 'mrasim up --processes', on ports "
                          "free right now; the login runs here")


def row(entry: Entry, room: int) -> str:
    """One line of the sequence, the path cut (with …, at a path boundary) so the line fits ``room`` columns."""
    label = f"{{{entry.number}: {entry.name}}}" if entry.number is not None else f"   ↳ {entry.name}"
    path_room = max(room - LABEL - HOP - METHOD - STATUS - ELAPSED - 5, 20)
    status = str(entry.status)
    return (f"{label:<{LABEL}} {entry.hop:<{HOP}} {entry.method:<{METHOD}} {cut(entry.target, path_room):<{path_room}}"
            f" {status:>{STATUS}} {entry.elapsed_ms:8.1f} ms")


def next_steps(folder: Path, ok: bool) -> list[tuple[str, str]]:
    """Two or three things to do after a run (command, why), with the files of this run."""
    steps = [(f"mrasim ladder {folder}", "# this login as a ladder diagram")]
    if ok:
        steps.append(("mrasim up", "# keep the lab running and drive it with curl (README)"))
    else:
        steps.append((f"mrasim diagnose {folder}", "# what went wrong, and the fix"))
    steps.append(("mrasim scenario run oauthlocal-off", "# a field failure; 'mrasim scenario list' shows all"))
    return steps


async def run(args: argparse.Namespace, lab: Lab) -> int:
    lab = lab.with_sso() if getattr(args, "sso", False) else lab
    folder = new_run_folder(args.logs)
    quiet = wants_json(args)
    room = width()
    started = time.perf_counter()
    running: RunningLab | ProcessRun
    if getattr(args, "processes", False):
        running = await start_process_run(Path(args.lab), folder, sso=getattr(args, "sso", False))
        lab = running.lab
    else:
        running = await start_lab(lab.with_ephemeral_ports(), folder)
    ready = (time.perf_counter() - started) * 1000
    if not quiet:
        print(textwrap.fill(f"lab up in {ready:.0f} ms: {lab.edge.listener.host} → {lab.core.listener.host} → "
                            f"{', '.join(c.listener.host for c in lab.clusters)}", room, subsequent_indent="  "))
        print(f"logging in as {args.user or lab.jabber.userid}@{lab.domain}\n")

    def show(entry: Entry) -> None:
        if not quiet:
            print(row(entry, room), flush=True)

    try:
        began = time.perf_counter()
        client = running.jabber(args.user, args.password)
        outcome, xmpp, entries, _ = await run_sign_in(running, show, client=client)  # type: ignore[arg-type]
        phone = None
        if outcome.ok:
            await running.wait_sip_zone()
            phone, sip_phone = await register_phone(running, client, entries, show)  # type: ignore[arg-type]
            await sip_phone.close()
        total = (time.perf_counter() - began) * 1000
    finally:
        await running.stop()
    logs = [str(folder / log_name(n, lab)) for n in ("jabber", *reversed(node_names(lab)))]
    logs += [str(p) for p in sorted(folder.glob("sdl-*.txt"))]  # CUCM's SIP traces, one per node that ran SIP
    lines = [""]
    if outcome.ok:
        lines.append(f"login succeeded ({outcome.path} path) in {total:.1f} ms; devices: {', '.join(outcome.devices)}")
        if xmpp is not None:
            lines.append(f"XMPP: signed in as {xmpp.jid} with SASL {xmpp.mechanism} "
                         f"(offered: {', '.join(xmpp.offered)})")
        if phone is not None:
            lines.append(f"phone: {'registered' if phone.ok else 'NOT registered'} ({phone.reason}"
                         + (f", expires {phone.expires} s" if phone.ok else "") + ")")
    else:
        lines.append(f"login FAILED at {outcome.failed_step}: {outcome.reason}")
    lines.append(f"logs in {folder}/ ({args.logs / 'latest'} points at it): {', '.join(Path(p).name for p in logs)}")
    lines = [textwrap.fill(line, room, subsequent_indent="  ") if line else line for line in lines]
    lines += ["", "Next:", table((), next_steps(args.logs / "latest", outcome.ok), room=room, indent="  ")]
    emit(args, {"ok": outcome.ok, "outcome": {"path": outcome.path, "failed_step": outcome.failed_step,
                                              "reason": outcome.reason, "devices": list(outcome.devices)},
                "phone": None if phone is None else {"registered": phone.ok, "status": phone.status,
                                                     "reason": phone.reason, "expires": phone.expires},
                "elapsed_ms": round(total, 1), "logs": str(folder),
                "steps": [dataclasses.asdict(e) for e in entries]}, "\n".join(lines))
    return 0 if outcome.ok else 1


def main(args: argparse.Namespace, lab: Lab) -> int:
    return asyncio.run(run(args, lab))
