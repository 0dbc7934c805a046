"""Purchases and their lines, read in batches for the customer 360 (two statements for any
number of customers: the purchases, then all their lines)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from uuid import UUID

from clienteling import db
from clienteling.repositories.recent import newest_per_customer
from clienteling.tables import Purchase, PurchaseLine

__all__ = ["newest_for_customers", "lines_for"]

_COLUMNS = ("occurred_at", "channel", "store", "currency", "total")


async def newest_for_customers(customer_ids: list[UUID], *, limit: int, before: tuple[dt.datetime, UUID] | None = None) -> dict[UUID, list[dict[str, Any]]]:
    """Up to ``limit`` purchases per customer, newest first (``occurred_at``, then id),
    strictly after the cursor position ``before`` in that order when given."""
    where, args = "", ()
    if before is not None:
        at, last_id = before
        where = '"occurred_at" < {} OR ("occurred_at" = {} AND "id" < {})'
        args = (at, at, last_id)
    return await newest_per_customer(Purchase, customer_ids=customer_ids, columns=_COLUMNS, order_by="occurred_at", limit=limit, where=where, args=args)


async def lines_for(purchase_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """The lines of several purchases, grouped by purchase, in a stable order."""
    out: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    if not purchase_ids:
        return out
    if db.is_sqlite():
        rows = (
            await PurchaseLine.select(PurchaseLine.purchase, PurchaseLine.sku, PurchaseLine.name, PurchaseLine.quantity, PurchaseLine.unit_price)
            .where(PurchaseLine.purchase.is_in(purchase_ids))
            .order_by(PurchaseLine.purchase, PurchaseLine.name, PurchaseLine.sku, PurchaseLine.id)
            .run()
        )
    else:
        # Fixed text (prepared once per connection, no query building): the 360 runs it.
        rows = await PurchaseLine.raw(
            "SELECT purchase, sku, name, quantity, unit_price FROM purchase_line WHERE purchase = ANY({}::uuid[]) "
            "ORDER BY purchase, name, sku, id",
            list(purchase_ids),
        ).run()
    for row in rows:
        out[row["purchase"]].append(row)
    return out
