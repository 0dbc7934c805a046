"""Tasks (follow-ups), and the customer look-ups that automatic tasks are generated from."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import Customer, Task

__all__ = [
    "insert",
    "insert_automatic",
    "get",
    "update",
    "page",
    "open_for_customers",
    "existing_refs",
    "generation_turn",
    "birthday_customers",
    "lapsed_customers",
]

# Names "automatic task generation" among PostgreSQL advisory locks (any constant works).
_GENERATION_LOCK = 0x5461736B47656E  # "TaskGen"

# Bind parameters per statement stay under PostgreSQL's and SQLite's limit (32,767 / 32,766).
_ROWS_PER_INSERT = 30_000 // len(Task._meta.columns)


def _status_where(status: str, now: dt.datetime):  # noqa: ANN202 - piccolo combination
    if status == "open":
        return Task.completed_at.is_null() & (Task.snoozed_until.is_null() | (Task.snoozed_until <= now))
    if status == "snoozed":
        return Task.completed_at.is_null() & (Task.snoozed_until > now)
    if status == "done":
        return Task.completed_at.is_not_null()
    return None


async def insert(values: dict[str, Any]) -> None:
    await Task.insert(Task(**values)).run()


async def insert_automatic(rows: list[dict[str, Any]]) -> set[str]:
    """Insert generated tasks in one multi-row statement (several past ~1,700 rows); a
    ``source_ref`` that already exists is skipped, not an error. Returns the ``source_ref``
    of the rows actually inserted, so a caller racing another writer reports only its own."""
    inserted: set[str] = set()
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        batch = [Task(**r) for r in rows[start:start + _ROWS_PER_INSERT]]
        returned = await (
            Task.insert(*batch).on_conflict(target=Task.source_ref, action="DO NOTHING").returning(Task.source_ref).run()
        )
        inserted.update(r["source_ref"] for r in returned)
    return inserted


async def get(task_id: UUID) -> dict[str, Any] | None:
    return await Task.select().where((Task.id == task_id) & Task.deleted_at.is_null()).first().run()


async def update(task_id: UUID, values: dict[str, Any]) -> None:
    await Task.update({getattr(Task, k): v for k, v in values.items()}).where(Task.id == task_id).run()


async def page(
    *,
    store_ids: list[UUID] | None,
    assignee: UUID | None,
    customer: UUID | None,
    status: str,
    now: dt.datetime,
    due_before: dt.datetime | None,
    after: tuple[dt.datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` live tasks ordered by (due date, id) after the cursor, filtered by
    stores (``None``: any), assignee, customer, status and due date."""
    where = Task.deleted_at.is_null()
    if store_ids is not None:
        where = where & (Task.store.is_in(store_ids) if store_ids else Task.id.is_null())
    if assignee is not None:
        where = where & (Task.assignee == assignee)
    if customer is not None:
        where = where & (Task.customer == customer)
    cond = _status_where(status, now)
    if cond is not None:
        where = where & cond
    if due_before is not None:
        where = where & (Task.due_at < due_before)
    if after is not None:
        at, last_id = after
        where = where & ((Task.due_at > at) | ((Task.due_at == at) & (Task.id > last_id)))
    return await Task.select().where(where).order_by(Task.due_at, Task.id).limit(limit + 1).run()


async def open_for_customers(customer_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """Tasks not done yet (snoozed included) of several customers, soonest due first (one query)."""
    out: dict[UUID, list[dict[str, Any]]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return out
    rows = (
        await Task.select()
        .where(Task.customer.is_in(customer_ids) & Task.deleted_at.is_null() & Task.completed_at.is_null())
        .order_by(Task.due_at, Task.id)
        .run()
    )
    for r in rows:
        out[r["customer"]].append(r)
    return out


async def existing_refs(refs: list[str], *, chunk: int = 500) -> set[str]:
    """Which of ``refs`` already name a task (deleted ones included: never re-created)."""
    found: set[str] = set()
    for start in range(0, len(refs), chunk):
        rows = await Task.select(Task.source_ref).where(Task.source_ref.is_in(refs[start:start + chunk])).run()
        found.update(r["source_ref"] for r in rows)
    return found


@contextlib.asynccontextmanager
async def generation_turn() -> AsyncIterator[bool]:
    """Yields True if this process may generate tasks now, for as long as the block runs
    (which commits several transactions of its own). On PostgreSQL a session advisory lock
    on a connection of its own, shared by every process: another holder yields False, and a
    process that dies releases it with its connection. On SQLite True: write transactions
    serialize the writers and ``source_ref`` keeps them from creating a task twice."""
    engine = db.current_engine()
    if not isinstance(engine, PostgresEngine):
        yield True
        return
    conn = await asyncpg.connect(**engine.config)
    try:
        yield bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", _GENERATION_LOCK))
    finally:
        # Closing the session releases the lock (and nothing else lives on it).
        await conn.close()


def _eligible():  # noqa: ANN202 - piccolo combination
    """Customers a seller may be asked to contact: live, not erased, not restricted, with an
    active primary associate."""
    return (
        Customer.deleted_at.is_null()
        & Customer.erased_at.is_null()
        & Customer.restricted_at.is_null()
        & Customer.primary_associate.is_not_null()
        & (Customer.primary_associate.active == True)  # noqa: E712 - piccolo column comparison
    )


_COLUMNS = (
    Customer.id,
    Customer.home_store,
    Customer.primary_associate,
    Customer.home_store.timezone.as_alias("store_timezone"),
)


async def birthday_customers(mmdd_values: list[int]) -> list[dict[str, Any]]:
    if not mmdd_values:
        return []
    return await Customer.select(*_COLUMNS, Customer.birth_mmdd).where(_eligible() & Customer.birth_mmdd.is_in(mmdd_values)).run()


async def lapsed_customers(last_purchase_before: dt.datetime) -> list[dict[str, Any]]:
    return await Customer.select(*_COLUMNS, Customer.last_purchase_at).where(_eligible() & (Customer.last_purchase_at < last_purchase_before)).run()
