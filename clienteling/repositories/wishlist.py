"""Wishlist items of customers (soft-deleted with ``deleted_at``)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from clienteling.tables import WishlistItem

__all__ = ["insert", "get", "update", "page", "for_customers"]


async def insert(values: dict[str, Any]) -> None:
    await WishlistItem.insert(WishlistItem(**values)).run()


async def get(item_id: UUID) -> dict[str, Any] | None:
    return await WishlistItem.select().where((WishlistItem.id == item_id) & WishlistItem.deleted_at.is_null()).first().run()


async def update(item_id: UUID, values: dict[str, Any]) -> None:
    await WishlistItem.update({getattr(WishlistItem, k): v for k, v in values.items()}).where(WishlistItem.id == item_id).run()


async def page(customer_id: UUID, *, after: tuple[dt.datetime, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` live items of one customer, newest first, after the cursor."""
    where = (WishlistItem.customer == customer_id) & WishlistItem.deleted_at.is_null()
    if after is not None:
        at, last_id = after
        where = where & ((WishlistItem.created_at < at) | ((WishlistItem.created_at == at) & (WishlistItem.id < last_id)))
    return (
        await WishlistItem.select()
        .where(where)
        .order_by(WishlistItem.created_at, ascending=False)
        .order_by(WishlistItem.id, ascending=False)
        .limit(limit + 1)
        .run()
    )


async def for_customers(customer_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """Live items of several customers, newest first, grouped by customer (one query)."""
    out: dict[UUID, list[dict[str, Any]]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return out
    rows = (
        await WishlistItem.select()
        .where(WishlistItem.customer.is_in(customer_ids) & WishlistItem.deleted_at.is_null())
        .order_by(WishlistItem.created_at, ascending=False)
        .order_by(WishlistItem.id, ascending=False)
        .run()
    )
    for r in rows:
        out[r["customer"]].append(r)
    return out
