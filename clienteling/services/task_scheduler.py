"""The background loop that creates automatic tasks while the app runs.

Every app process runs one; on PostgreSQL :func:`generate_due_tasks` takes an advisory lock
so only one process of many does the work at a time, and idempotency (``source_ref``) makes
any overlap harmless anyway. A run writes in chunks, each its own transaction, yielding to
the event loop between them, so a large first run shares the process with the requests it
serves. The loop survives errors (logged, retried at the next tick) and stops cleanly at
shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["DueTaskScheduler"]

log = logging.getLogger("clienteling.tasks")


class DueTaskScheduler:
    """Calls ``run(now)`` shortly after :meth:`start` and then every ``interval`` seconds
    until :meth:`stop`."""

    def __init__(self, run: Callable[[dt.datetime], Awaitable[Any]], *, interval: float = 600.0, first_delay: float = 1.0) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._run = run
        self.interval = interval
        self.first_delay = first_delay
        self.runs = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="due-task-scheduler")

    async def stop(self, timeout: float = 10.0) -> None:
        """Ask the loop to stop; a run in progress may finish within ``timeout`` seconds,
        after which it is cancelled (its open transaction rolls back; what it committed
        before stays, and the next start carries on from there)."""
        if self._task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped; True when stopping."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _loop(self) -> None:
        if await self._sleep(self.first_delay):
            return
        while True:
            try:
                await self._run(dt.datetime.now(dt.timezone.utc))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep the loop alive; retry next tick
                log.error("automatic task generation failed: %s", type(exc).__name__, exc_info=exc)
            self.runs += 1
            if await self._sleep(self.interval):
                return
