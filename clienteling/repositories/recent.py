"""The newest rows of several customers at once: one statement, at most N rows per customer.

Dataloaders ask for "the latest 20 purchases of each of these customers"; a plain LIMIT would
cap the whole batch, a query per customer would make the statement count grow with the
list. ``ROW_NUMBER() OVER (PARTITION BY customer ...)`` does it in one statement on
PostgreSQL and on SQLite (3.25+), and keeps the column types piccolo decodes on both.
On PostgreSQL the customers travel as one array parameter (``= ANY($1::uuid[])``), so the
text does not change with their number and asyncpg prepares it once per connection.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

__all__ = ["newest_per_customer", "placeholders", "customers_filter"]


def placeholders(values: list[Any]) -> str:
    """``{}, {}, ...``: one piccolo placeholder per value (for raw ``IN`` lists)."""
    return ", ".join("{}" for _ in values)


def customers_filter(table: type[Table], customer_ids: list[UUID]) -> tuple[str, tuple[Any, ...]]:
    """The condition "``customer`` is one of these" and its arguments: one array parameter on
    PostgreSQL (fixed text), an ``IN`` list on SQLite."""
    if isinstance(table._meta.db, PostgresEngine):
        return '"customer" = ANY({}::uuid[])', (list(customer_ids),)
    return f'"customer" IN ({placeholders(customer_ids)})', tuple(customer_ids)


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
    customers, customer_args = customers_filter(table, customer_ids)
    sql = (
        f'SELECT * FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY "customer" ORDER BY "{order_by}" DESC, "id" DESC) AS "rank_" '
        f'FROM "{name}" WHERE {customers}{extra}) AS ranked '
        f'WHERE "rank_" <= {{}} ORDER BY "customer", "rank_"'
    )
    rows = await table.raw(sql, *customer_args, *args, limit).run()
    for row in rows:
        row.pop("rank_", None)
        out[row["customer"]].append(row)
    return out
