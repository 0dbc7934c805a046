"""The newest rows of several customers at once: one statement, at most N rows per customer.

Dataloaders ask for "the latest 20 purchases of each of these customers"; a plain LIMIT would
cap the whole batch, a query per customer would make the statement count grow with the
list. ``ROW_NUMBER() OVER (PARTITION BY customer ...)`` does it in one statement on
PostgreSQL and on SQLite (3.25+), and keeps the column types piccolo decodes on both.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from piccolo.table import Table

__all__ = ["newest_per_customer", "placeholders"]


def placeholders(values: list[Any]) -> str:
    """``{}, {}, ...``: one piccolo placeholder per value (for raw ``IN`` lists)."""
    return ", ".join("{}" for _ in values)


async def newest_per_customer(
    table: type[Table],
    *,
    customer_ids: list[UUID],
    columns: tuple[str, ...],
    order_by: str,
    limit: int,
    where: str = "",
    args: tuple[Any, ...] = (),
) -> dict[UUID, list[dict[str, Any]]]:
    """Up to ``limit`` rows per customer, newest first by ``order_by`` then ``id``, grouped by
    customer (every requested customer present). ``where`` is an extra SQL condition over
    the table's columns with ``{}`` placeholders for ``args``. Column names are code, never
    input."""
    out: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    for cid in customer_ids:
        out[cid] = []
    if not customer_ids or limit < 1:
        return out
    name = table._meta.tablename
    cols = ", ".join(f'"{c}"' for c in dict.fromkeys(("id", "customer", order_by, *columns)))
    extra = f" AND ({where})" if where else ""
    sql = (
        f'SELECT * FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY "customer" ORDER BY "{order_by}" DESC, "id" DESC) AS "rank_" '
        f'FROM "{name}" WHERE "customer" IN ({placeholders(customer_ids)}){extra}) AS ranked '
        f'WHERE "rank_" <= {{}} ORDER BY "customer", "rank_"'
    )
    rows = await table.raw(sql, *customer_ids, *args, limit).run()
    for row in rows:
        row.pop("rank_", None)
        out[row["customer"]].append(row)
    return out
