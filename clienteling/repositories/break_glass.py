"""Break-glass grants: who opened which customer outside their scope, why, until when."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from clienteling.tables import BreakGlassGrant

__all__ = ["insert", "active_grant", "page"]


async def insert(values: dict[str, Any]) -> None:
    await BreakGlassGrant.insert(BreakGlassGrant(**values)).run()


async def active_grant(staff_id: UUID, customer_id: UUID, now: dt.datetime) -> UUID | None:
    row = (
        await BreakGlassGrant.select(BreakGlassGrant.id)
        .where((BreakGlassGrant.staff == staff_id) & (BreakGlassGrant.customer == customer_id) & (BreakGlassGrant.expires_at > now))
        .first()
        .run()
    )
    return row["id"] if row else None


async def page(*, store_ids: list[UUID] | None, staff_id: UUID | None, after: tuple[dt.datetime, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; filtered to customers of ``store_ids`` and/or grants of ``staff_id``
    (``None`` means no filter on that)."""
    where = BreakGlassGrant.id.is_not_null()
    if store_ids is not None:
        where = where & BreakGlassGrant.store.is_in(store_ids) if store_ids else where & BreakGlassGrant.id.is_null()
    if staff_id is not None:
        where = where & (BreakGlassGrant.staff == staff_id)
    if after is not None:
        at, last_id = after
        where = where & ((BreakGlassGrant.created_at < at) | ((BreakGlassGrant.created_at == at) & (BreakGlassGrant.id < last_id)))
    return (
        await BreakGlassGrant.select()
        .where(where)
        .order_by(BreakGlassGrant.created_at, ascending=False)
        .order_by(BreakGlassGrant.id, ascending=False)
        .limit(limit + 1)
        .run()
    )
