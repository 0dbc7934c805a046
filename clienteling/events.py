"""Event fan-out between the code that changes data and the subscribers watching it.

``InProcessBus`` serves a single app process. ``RedisBus`` (with ``CLIENTELING_REDIS_URL``)
publishes through Redis pub/sub so subscribers connected to any app process receive events
raised in any other. Publishing happens after the change has committed; when Redis is down,
publishing logs and carries on (real-time degrades, requests still succeed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Protocol

import msgspec

from domain.events import Event

__all__ = ["EventBus", "InProcessBus", "RedisBus", "build_bus"]

log = logging.getLogger("clienteling.events")
_QUEUE_SIZE = 256
_PREFIX = "clienteling:"


class EventBus(Protocol):
    async def publish(self, channels: list[str], event: Event) -> None: ...

    def subscribe(self, channels: list[str]) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...


def _count(event: Event) -> None:
    from clienteling.metrics import EVENTS_PUBLISHED

    EVENTS_PUBLISHED.labels(event.kind).inc()


class InProcessBus:
    """Queues per subscriber; a subscriber that falls 256 events behind loses the oldest."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)

    async def publish(self, channels: list[str], event: Event) -> None:
        _count(event)
        self._deliver(channels, event)

    def _deliver(self, channels: list[str], event: Event) -> None:
        seen: set[int] = set()
        for channel in channels:
            for queue in list(self._subscribers.get(channel, ())):
                if id(queue) in seen:
                    continue
                seen.add(id(queue))
                if queue.full():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                queue.put_nowait(event)

    async def subscribe(self, channels: list[str]) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        for channel in channels:
            self._subscribers[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            for channel in channels:
                self._subscribers[channel].discard(queue)
                if not self._subscribers[channel]:
                    del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()


class RedisBus(InProcessBus):
    """Publishes to Redis; one listener per process relays messages to local subscribers."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis = redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._listener: asyncio.Task[None] | None = None
        self._pubsub = None
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Event)

    async def publish(self, channels: list[str], event: Event) -> None:
        payload = self._encoder.encode(event)
        _count(event)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel in channels:
                    pipe.publish(_PREFIX + channel, payload)
                await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - Redis down must not fail the request
            log.warning("real-time publish failed (%s); delivering in this process only", type(exc).__name__)
            self._deliver(channels, event)

    async def subscribe(self, channels: list[str]) -> AsyncIterator[Event]:
        await self._ensure_listener()
        async for event in super().subscribe(channels):
            yield event

    async def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="redis-event-listener")

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.psubscribe(_PREFIX + "*")
                backoff = 0.5
                async for message in self._pubsub.listen():
                    if message.get("type") != "pmessage":
                        continue
                    channel = message["channel"].decode()[len(_PREFIX):]
                    try:
                        event = self._decoder.decode(message["data"])
                    except msgspec.DecodeError:
                        log.warning("ignoring a malformed event on %s", channel)
                        continue
                    self._deliver([channel], event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect with backoff
                log.warning("Redis event listener lost its connection (%s); retrying", type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()
        await super().close()


def build_bus(redis_url: str | None) -> EventBus:
    return RedisBus(redis_url) if redis_url else InProcessBus()
