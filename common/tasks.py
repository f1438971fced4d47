"""Stopping background tasks so that they really stop.

On Python 3.11, :func:`asyncio.wait_for` can swallow a cancellation: when the awaited operation finishes in the same
loop turn as the ``cancel()``, ``wait_for`` returns its result (or raises its exception) instead of
``CancelledError`` (CPython gh-86296, fixed in 3.12 by building ``wait_for`` on ``asyncio.timeout``). A retry loop —
Expressway-C redialling a traversal peer with a wrong password every 10 ms — then treats the cancel as one more
failed dial, sleeps, and dials again, and ``await task`` never returns: ``lab stop`` hangs. One cancel is a request,
not a guarantee, so :func:`cancel_and_wait` repeats it until the task has ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

RECANCEL_EVERY = 0.05


async def cancel_and_wait(tasks: Iterable[asyncio.Future[object]] | asyncio.Future[object] | None) -> None:
    """Cancel ``tasks`` and wait until every one has ended, cancelling again any that swallowed the request.

    Exceptions of the tasks are consumed (they were being stopped); the caller's own cancellation propagates.
    """
    if tasks is None:
        return
    stopping = {tasks} if isinstance(tasks, asyncio.Future) else set(tasks)
    pending = set(stopping)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_EVERY)
    # retrieve every outcome so that no "exception was never retrieved" warning reaches the log
    for task in stopping:
        if not task.cancelled():
            task.exception()
