"""Waking sync streams: one watcher per process polls the change-sequence head (one cheap
query every half second, whatever the number of subscribers) and wakes every stream waiting
for a position beyond what it has sent. Works the same with one process or many, since the
head lives in the database."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from clienteling.repositories import sync as repo

__all__ = ["SyncHeadWatcher"]

log = logging.getLogger("clienteling.sync")


class SyncHeadWatcher:
    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.head = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._waiters = 0

    async def wait_beyond(self, seq: int, timeout: float) -> int:
        """The head once it passes ``seq``, or the current head after ``timeout`` seconds."""
        self._ensure_running()
        self._waiters += 1
        try:
            async with self._changed:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(lambda: self.head > seq), timeout)
                return self.head
        finally:
            self._waiters -= 1

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sync-head-watcher")

    async def _run(self) -> None:
        idle = 0
        while True:
            try:
                head = await repo.head()
            except Exception:  # noqa: BLE001 - the database may be down for a moment; keep watching
                log.warning("sync head watcher: database unavailable")
                head = self.head
            if head != self.head:
                async with self._changed:
                    self.head = head
                    self._changed.notify_all()
            idle = idle + 1 if self._waiters == 0 else 0
            if idle > 20:  # nobody listening for ~10 s: stop until the next stream starts
                self._task = None
                return
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
