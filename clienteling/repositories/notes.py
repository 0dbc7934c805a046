"""Notes on customers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from clienteling import db
from clienteling.tables import Note

__all__ = ["insert", "for_customers", "get", "update"]


async def insert(values: dict[str, Any]) -> None:
    await Note.insert(Note(**values)).run()


async def update(note_id: UUID, values: dict[str, Any]) -> None:
    await Note.update({getattr(Note, k): v for k, v in values.items()}).where(Note.id == note_id).run()


async def get(note_id: UUID) -> dict[str, Any] | None:
    return await Note.select().where((Note.id == note_id) & Note.deleted_at.is_null()).first().run()


async def for_customers(customer_ids: list[UUID], *, limit_each: int | None = None) -> dict[UUID, list[dict[str, Any]]]:
    """Live notes of several customers, pinned first then newest, grouped by customer
    (one query, for dataloaders)."""
    out: dict[UUID, list[dict[str, Any]]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return out
    if db.is_sqlite():
        rows = (
            await Note.select()
            .where(Note.customer.is_in(customer_ids) & Note.deleted_at.is_null())
            .order_by(Note.pinned, ascending=False)
            .order_by(Note.created_at, ascending=False)
            .run()
        )
    else:
        # Fixed text (prepared once per connection, no query building): the 360 runs it.
        rows = await Note.raw(
            "SELECT * FROM note WHERE customer = ANY({}::uuid[]) AND deleted_at IS NULL ORDER BY pinned DESC, created_at DESC",
            list(customer_ids),
        ).run()
    for r in rows:
        bucket = out[r["customer"]]
        if limit_each is None or len(bucket) < limit_each:
            bucket.append(r)
    return out
