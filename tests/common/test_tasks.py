"""cancel_and_wait ends a task even when one cancellation is swallowed (Python 3.11's wait_for, gh-86296)."""

from __future__ import annotations

import asyncio

from common.tasks import cancel_and_wait


async def test_a_retry_loop_that_swallows_one_cancel_still_stops() -> None:
    swallowed = 0

    async def retry_loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed == 0:  # what wait_for does when its inner await finished in the same turn
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(retry_loop())
    await asyncio.sleep(0.02)
    await asyncio.wait_for(cancel_and_wait(task), 5)
    assert task.cancelled() and swallowed == 1


async def test_failed_and_finished_tasks_are_collected_without_warnings() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    done = asyncio.create_task(asyncio.sleep(0))
    failed = asyncio.create_task(fails())
    await asyncio.sleep(0.01)
    await cancel_and_wait([done, failed, asyncio.create_task(asyncio.sleep(10))])
    assert done.done() and failed.done() and failed.exception() is not None
    await cancel_and_wait(None)
