"""Purchases and their lines, read in batches for the customer 360 (for any number of
customers: on PostgreSQL one statement, :func:`newest_with_lines`; on SQLite two, the
purchases, then all their lines)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from uuid import UUID

from clienteling import db
from clienteling.repositories.recent import newest_per_customer
from clienteling.tables import Purchase, PurchaseLine

__all__ = ["newest_for_customers", "newest_with_lines", "lines_for"]

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


# PostgreSQL: the page of purchases (as newest_for_customers) with the lines of those that
# show them (as lines_for), in one statement. The lines come as parallel arrays aggregated in
# one pass (so they line up), only for rows ranked within the page (not the look-ahead row)
# of customers whose lines may be read; the other rows skip the lines entirely.
_PG_WITH_LINES_TEMPLATE = (
    'SELECT r.*, l.skus AS "line_skus_", l.names AS "line_names_", l.quantities AS "line_quantities_", l.prices AS "line_prices_" '
    'FROM (SELECT "id", "customer", "occurred_at", "channel", "store", "currency", "total", '
    'ROW_NUMBER() OVER (PARTITION BY "customer" ORDER BY "occurred_at" DESC, "id" DESC) AS "rank_" '
    'FROM "purchase" WHERE "customer" = ANY({}::uuid[])/*after*/) AS r CROSS JOIN LATERAL ('
    "SELECT array_agg(pl.sku ORDER BY pl.name, pl.sku, pl.id) AS skus, array_agg(pl.name ORDER BY pl.name, pl.sku, pl.id) AS names, "
    "array_agg(pl.quantity ORDER BY pl.name, pl.sku, pl.id) AS quantities, array_agg(pl.unit_price ORDER BY pl.name, pl.sku, pl.id) AS prices "
    'FROM purchase_line pl WHERE pl.purchase = r."id" AND r."rank_" <= {} AND r."customer" = ANY({}::uuid[])) AS l '
    'WHERE r."rank_" <= {} ORDER BY r."customer", r."rank_"'
)
_PG_WITH_LINES = _PG_WITH_LINES_TEMPLATE.replace("/*after*/", "")
# The same after a cursor position (occurred_at, id), as newest_for_customers's condition.
_PG_WITH_LINES_AFTER = _PG_WITH_LINES_TEMPLATE.replace("/*after*/", ' AND ("occurred_at" < {} OR ("occurred_at" = {} AND "id" < {}))')


async def newest_with_lines(
    customer_ids: list[UUID], *, limit: int, before: tuple[dt.datetime, UUID] | None, lines_of: list[UUID], lines_limit: int,
) -> tuple[dict[UUID, list[dict[str, Any]]], dict[UUID, list[dict[str, Any]]]] | None:
    """:func:`newest_for_customers` and :func:`lines_for` of the first ``lines_limit`` rows of
    each customer in ``lines_of``, in one statement, on PostgreSQL. None on SQLite (two
    statements there: call those two)."""
    if db.is_sqlite():
        return None
    out: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for cid in customer_ids:
        out[cid] = []
    lines: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    if not customer_ids or limit < 1:
        return out, lines
    sql, after = _PG_WITH_LINES, ()
    if before is not None:
        at, last_id = before
        sql, after = _PG_WITH_LINES_AFTER, (at, at, last_id)
    rows = await Purchase.raw(sql, list(customer_ids), *after, lines_limit, list(lines_of), limit).run()
    for row in rows:
        row.pop("rank_")
        skus, names = row.pop("line_skus_"), row.pop("line_names_")
        quantities, prices = row.pop("line_quantities_"), row.pop("line_prices_")
        out[row["customer"]].append(row)
        for sku, name, quantity, price in zip(skus or (), names or (), quantities or (), prices or ()):
            lines[row["id"]].append({"purchase": row["id"], "sku": sku, "name": name, "quantity": quantity, "unit_price": price})
    return out, lines


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
