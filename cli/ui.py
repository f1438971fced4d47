"""``mrasim ui [--port N] [--host H]``: the training page (ui/), on 127.0.0.1 unless asked otherwise."""

from __future__ import annotations

import argparse
import asyncio
import sys

from cli.output import command
from common.config import ConfigError, load_lab
from common.tasks import cancel_and_wait
from ui import DEFAULT_PORT


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ui = command(sub, "ui", "the training page: watch, step through, break and diagnose a login",
                 ["mrasim ui", "mrasim ui --port 8080    # then open http://127.0.0.1:8080/?scenario=healthy-login",
                  "mrasim up & mrasim ui --attach"],
                 description="Serve the training page: a live ladder of each login as it crosses the edge, "
                                    "step mode, any catalogue scenario with its diagnosis, and exercises. Each run "
                                    "plays on a fresh lab on free loopback ports. Ctrl-C stops.")
    ui.add_argument("--port", type=int, default=DEFAULT_PORT, help="the page's port (%(default)s; 0 = any free one)")
    ui.add_argument("--attach", action="store_true",
                    help="follow the lab already started with 'mrasim up' (same --lab file) instead of playing "
                         "scenarios: every login through its Expressway-E is drawn")
    ui.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (%(default)s; another address exposes the lab's page to that network)")


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args.host, args.port, _control_events(args) if args.attach else None))
    except KeyboardInterrupt:
        return 0
    except ConfigError as exc:
        print(f"mrasim: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mrasim: cannot serve the training page on {args.host}:{args.port}: {exc.strerror or exc}; "
              "try another --port", file=sys.stderr)
        return 1


def _control_events(args: argparse.Namespace) -> str:
    control = load_lab(args.lab).control
    return f"http://{control.address}:{control.listen_port}/events"


async def _serve(host: str, port: int, attach: str | None) -> int:
    # imported here, not with the command line: the page's modules bring the analyzer and the scenario player
    from scenarios.scenario import catalog
    from ui.attach import follow
    from ui.server import serve
    from ui.trainer import Trainer

    trainer = Trainer(catalog())
    runner, real = await serve(host, port, trainer)
    shown = f"[{host}]" if ":" in host else host
    print(f"mrasim training page: http://{shown}:{real}/  (Ctrl-C stops)", flush=True)
    follower = None
    if attach:
        print(f"  following the lab of 'mrasim up' at {attach}", flush=True)
        follower = asyncio.create_task(follow(trainer, attach), name="ui-attach")
    else:
        print(f"  share a run:      http://{shown}:{real}/?scenario=healthy-login&step=1", flush=True)
        print(f"  share exercises:  http://{shown}:{real}/?exercise=oauthlocal-off,wrong-password-oauth", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await cancel_and_wait(follower)  # it reconnects on every error: one cancel may not stop it
        await runner.cleanup()
    return 0
