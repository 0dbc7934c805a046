"""The transactional outbox: events written in the transaction of the change they announce,
claimed by push workers to fan out into deliveries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any
from uuid import UUID, uuid4

from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import OutboxEvent

__all__ = ["add", "claim_undispatched", "mark_dispatched", "oldest_undispatched", "count_undispatched"]


async def add(*, kind: str, dedup_key: str, occurred_at: dt.datetime, customer: UUID | None = None, store: UUID | None = None, data: dict[str, Any] | None = None) -> bool:
    """Write an event unless one with ``dedup_key`` exists; True when written."""
    rows = (
        await OutboxEvent.insert(
            OutboxEvent(id=uuid4(), kind=kind, dedup_key=dedup_key, customer=customer, store=store, data=data or {}, occurred_at=occurred_at)
        )
        .on_conflict(target=OutboxEvent.dedup_key, action="DO NOTHING")
        .returning(OutboxEvent.id)
        .run()
    )
    return bool(rows)


async def claim_undispatched(limit: int) -> list[dict[str, Any]]:
    """The oldest events not yet fanned out. On PostgreSQL the rows stay locked (SKIP LOCKED:
    concurrent workers take different events) until the caller's transaction ends."""
    query = (
        OutboxEvent.select(OutboxEvent.id, OutboxEvent.kind, OutboxEvent.customer, OutboxEvent.store, OutboxEvent.data, OutboxEvent.occurred_at)
        .where(OutboxEvent.dispatched_at.is_null())
        .order_by(OutboxEvent.created_at)
        .limit(limit)
        .output(load_json=True)
    )
    if isinstance(db.current_engine(), PostgresEngine):
        query = query.lock_rows("UPDATE", skip_locked=True, of=(OutboxEvent,))
    return await query.run()


async def mark_dispatched(event_ids: Collection[UUID], recipients: int, now: dt.datetime) -> None:
    """These events were fanned out, each to ``recipients`` deliveries."""
    if event_ids:
        await OutboxEvent.update({OutboxEvent.dispatched_at: now, OutboxEvent.recipients: recipients}).where(OutboxEvent.id.is_in(list(event_ids))).run()


async def oldest_undispatched() -> dt.datetime | None:
    row = await OutboxEvent.select(OutboxEvent.created_at).where(OutboxEvent.dispatched_at.is_null()).order_by(OutboxEvent.created_at).first().run()
    return row["created_at"] if row else None


async def count_undispatched() -> int:
    return await OutboxEvent.count().where(OutboxEvent.dispatched_at.is_null()).run()
