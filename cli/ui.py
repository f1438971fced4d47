"""``mrasim ui [--port N] [--host H]``: the training page (ui/), on 127.0.0.1 unless asked otherwise."""

from __future__ import annotations

import argparse
import asyncio
import sys

from ui.server import DEFAULT_PORT, serve


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ui = sub.add_parser("ui", help="the training page: watch, step through, break and diagnose a login",
                        description="Serve the training page: a live ladder of each login as it crosses the edge, "
                                    "step mode, any catalogue scenario with its diagnosis, and exercises. Each run "
                                    "plays on a fresh lab on free loopback ports. Ctrl-C stops.")
    ui.add_argument("--port", type=int, default=DEFAULT_PORT, help="the page's port (%(default)s; 0 = any free one)")
    ui.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (%(default)s; another address exposes the lab's page to that network)")


def main(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args.host, args.port))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"mrasim: cannot serve the training page on {args.host}:{args.port}: {exc.strerror or exc}; "
              "try another --port", file=sys.stderr)
        return 1


async def _serve(host: str, port: int) -> int:
    runner, real = await serve(host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"mrasim training page: http://{shown}:{real}/  (Ctrl-C stops)", flush=True)
    print(f"  share a run:      http://{shown}:{real}/?scenario=healthy-login&step=1", flush=True)
    print(f"  share exercises:  http://{shown}:{real}/?exercise=oauthlocal-off,wrong-password-oauth", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
    return 0
