"""Customer rows and consent ledgers, read once per GraphQL query operation.

A customer 360 asks for the same customer several times: the ``customer`` field decides
what the caller sees, and each of its parts (purchases, notes, timeline, ...) first checks
that the caller still reaches that customer and which consents they gave. Inside
:func:`one_read`, these reads are served from what the operation already read, so the
customer row and the consent ledger cost one statement each whatever the number of parts
(on PostgreSQL one statement for both: the ledgers come with the rows), and every part
judges the same snapshot. Outside it (mutations, REST, jobs), every call
reads the database.

Only read-only operations use it (GraphQL queries, see ``graphql_schema.schema``): a write
must always decide on the current row. Live events use it too: a change wakes every
subscription watching that customer in the process at once, and they share one read of
the row and ledger made after the event arrived (instead of one each), then decide, each
for its own subscriber, what that subscriber sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from uuid import UUID

from clienteling.repositories import customers as customer_repo
from domain.consent import ConsentEvent

__all__ = ["one_read", "get", "get_many", "consent_events", "prefetch"]


class _Snapshot:
    """Reads shared by everything in one operation (or one live event). Each row and ledger
    is a future, so concurrent readers of the same customer wait for one statement."""

    __slots__ = ("rows", "ledgers")

    def __init__(self) -> None:
        self.rows: dict[UUID, asyncio.Future[dict[str, Any] | None]] = {}
        self.ledgers: dict[UUID, asyncio.Future[list[ConsentEvent]]] = {}


_current: contextvars.ContextVar[_Snapshot | None] = contextvars.ContextVar("customer_rows_snapshot", default=None)

# Live events whose subscribers share one read: event identity -> (event, snapshot, since).
_by_event: dict[int, tuple[object, _Snapshot, float]] = {}
_EVENT_SNAPSHOT_SECONDS = 2.0


def _for_event(event: object) -> _Snapshot:
    now = time.monotonic()
    for key in [k for k, (_, _, since) in _by_event.items() if now - since > _EVENT_SNAPSHOT_SECONDS]:
        del _by_event[key]
    entry = _by_event.get(id(event))
    if entry is None or entry[0] is not event:
        entry = _by_event[id(event)] = (event, _Snapshot(), now)
    return entry[1]


@contextlib.contextmanager
def one_read(*, event: object | None = None) -> Iterator[None]:
    """Serve repeated customer and consent reads in this context from the first read. With
    ``event`` (a live event delivered to many subscriptions of this process), every
    subscriber's delivery shares the reads made after that event arrived."""
    token = _current.set(_for_event(event) if event is not None else _Snapshot())
    try:
        yield
    finally:
        _current.reset(token)


def _start(table: dict[UUID, asyncio.Future[Any]], missing: list[UUID], fetch: Callable[[list[UUID]], Awaitable[dict[UUID, Any]]], absent: Any) -> Awaitable[None]:
    """Register ``missing`` in ``table`` now (so that later readers wait instead of reading
    again) and return the read that settles them."""
    loop = asyncio.get_running_loop()
    futures = {i: loop.create_future() for i in missing}
    table.update(futures)

    async def settle() -> None:
        try:
            found = await fetch(missing)
        except BaseException as exc:
            for i, future in futures.items():
                del table[i]  # a later reader tries again
                future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("read cancelled"))
                future.exception()  # retrieved: the reader that started the read reports it
            raise
        for i, future in futures.items():
            future.set_result(found.get(i, absent))

    return settle()


async def _through(table: dict[UUID, asyncio.Future[Any]], ids: list[UUID], fetch: Callable[[list[UUID]], Awaitable[dict[UUID, Any]]], absent: Any) -> dict[UUID, Any]:
    """``ids`` -> value, fetching in one call those no one has asked for yet and waiting for
    those another reader is already fetching."""
    wanted = list(dict.fromkeys(ids))
    missing = [i for i in wanted if i not in table]
    if missing:
        await _start(table, missing, fetch, absent)
    return {i: await table[i] for i in wanted}


_prefetches: set[asyncio.Task[None]] = set()


def prefetch(customer_id: UUID) -> None:
    """Start reading the customer's row (and, on PostgreSQL, ledger) into the current shared
    read, unless it is read or being read already, and return at once: a live event's
    subscribers re-check their sessions meanwhile, so the two statements overlap. Nothing
    read here leaves without the subscriber's own decision (:func:`get` then serves it).
    A failed read is forgotten: the next reader reads again and gets the error."""
    snap = _current.get()
    if snap is None or customer_id in snap.rows:
        return
    task = asyncio.get_running_loop().create_task(_start(snap.rows, [customer_id], _rows(snap), None))  # type: ignore[arg-type]
    _prefetches.add(task)  # held until done (the loop keeps only a weak reference)
    task.add_done_callback(_prefetch_done)


def _prefetch_done(task: asyncio.Task[None]) -> None:
    _prefetches.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved; readers get it from the futures or read again


def _rows(snap: _Snapshot) -> Callable[[list[UUID]], Awaitable[dict[UUID, dict[str, Any]]]]:
    """The row read of ``snap``. Where the engine reads the consent ledgers in the same
    statement (PostgreSQL), they are kept in the snapshot too: whoever opens a customer
    decides with their consents, so the ledger read that would follow costs nothing."""

    async def fetch(ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
        both = await customer_repo.get_many_with_ledgers(ids)
        if both is None:
            return {r["id"]: r for r in await customer_repo.get_many(ids)}
        rows, ledgers = both
        loop = asyncio.get_running_loop()
        for row in rows:
            if row["id"] not in snap.ledgers:  # else already read, or being read
                future = snap.ledgers[row["id"]] = loop.create_future()
                future.set_result(ledgers.get(row["id"], []))
        return {r["id"]: r for r in rows}

    return fetch


async def get(customer_id: UUID) -> dict[str, Any] | None:
    """The live (not deleted) customer row, or None."""
    snap = _current.get()
    if snap is None:
        return await customer_repo.get(customer_id)
    return (await _through(snap.rows, [customer_id], _rows(snap), None))[customer_id]


async def get_many(ids: list[UUID]) -> list[dict[str, Any]]:
    """The live rows among ``ids`` (absent and deleted ones left out)."""
    snap = _current.get()
    if snap is None:
        return await customer_repo.get_many(ids)
    return [row for row in (await _through(snap.rows, ids, _rows(snap), None)).values() if row is not None]


async def consent_events(ids: list[UUID]) -> dict[UUID, list[ConsentEvent]]:
    """Each customer's consent ledger (a mapping that answers [] for customers without one)."""
    snap = _current.get()
    if snap is None:
        return await customer_repo.consent_events(ids)
    ledgers = await _through(snap.ledgers, ids, customer_repo.consent_events, [])
    return defaultdict(list, {i: events for i, events in ledgers.items() if events})
