"""The events of a customer's timeline, each source bounded per customer, for any number of
customers. Only the columns the timeline shows are read: free text (note bodies, task titles
and details, appointment notes) never leaves the database here.

:func:`newest_events` reads every source asked for at once: on PostgreSQL in one statement
(a ``UNION ALL`` of the per-table ranked reads, projected to one common row shape and
decoded back into each source's rows), on SQLite one statement per source. The per-source
functions (:func:`purchases`, :func:`notes`, ...) are the same reads, one statement each.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Collection
from typing import Any, NamedTuple
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from clienteling.repositories.recent import newest_per_customer
from clienteling.tables import Appointment, CheckIn, ConsentRecord, Note, Purchase, PurchaseReturn, Task

__all__ = [
    "SOURCES",
    "newest_events",
    "purchases",
    "returns",
    "notes",
    "check_ins",
    "appointments",
    "completed_tasks",
    "consent_answers",
]

Rows = dict[UUID, list[dict[str, Any]]]


class _Source(NamedTuple):
    table: type[Table]
    order_by: str
    columns: tuple[str, ...]  # besides id and customer; order_by first
    where: str = ""  # extra condition, ``{}`` placeholders filled by _args

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys of one row, in the order the per-table read returns them."""
        return tuple(dict.fromkeys(("id", "customer", self.order_by, *self.columns)))


_SOURCES: dict[str, _Source] = {
    "purchase": _Source(Purchase, "occurred_at", ("occurred_at", "channel", "currency", "total")),
    "return": _Source(PurchaseReturn, "occurred_at", ("occurred_at", "currency", "total")),
    # Live notes the reader may see: shared ones, and private ones they wrote.
    "note": _Source(Note, "created_at", ("created_at", "author", "pinned", "visibility"), '"deleted_at" IS NULL AND ("visibility" = {} OR "author" = {})'),
    "check_in": _Source(CheckIn, "occurred_at", ("occurred_at", "store")),
    # Appointments that have started by ``until`` (upcoming ones are not history).
    "appointment": _Source(Appointment, "starts_at", ("starts_at", "store", "status", "channel"), '"starts_at" <= {}'),
    "task": _Source(Task, "completed_at", ("completed_at", "store", "kind"), '"completed_at" IS NOT NULL AND "deleted_at" IS NULL'),
    "consent": _Source(ConsentRecord, "occurred_at", ("occurred_at", "purpose", "status")),
}
SOURCES: tuple[str, ...] = tuple(_SOURCES)

# PostgreSQL: the one row shape every source is projected to (the source's order column
# travels as "at_"; a column a source lacks is a typed NULL).
_SHAPE: tuple[tuple[str, str], ...] = (
    ("channel", "text"), ("currency", "text"), ("total", "numeric"), ("store", "uuid"), ("author", "uuid"),
    ("pinned", "boolean"), ("visibility", "text"), ("status", "text"), ("purpose", "text"), ("kind", "text"),
)


def _args(name: str, *, reader: UUID | None, until: dt.datetime | None) -> tuple[Any, ...]:
    if name == "note":
        return ("shared", reader)
    if name == "appointment":
        return (until,)
    return ()


async def _one(name: str, customer_ids: list[UUID], limit: int, *, reader: UUID | None = None, until: dt.datetime | None = None) -> Rows:
    s = _SOURCES[name]
    return await newest_per_customer(
        s.table, customer_ids=customer_ids, columns=s.columns, order_by=s.order_by, limit=limit,
        where=s.where, args=_args(name, reader=reader, until=until),
    )


@functools.cache
def _union_sql(names: tuple[str, ...]) -> str:
    """One fixed text per set of sources (a handful: one per role's view of the timeline).
    Each branch is the per-table ranked read; every branch takes the customer array, its own
    arguments, then the limit."""
    branches = []
    for name in names:
        s = _SOURCES[name]
        missing = set(s.columns[1:]) - {c for c, _ in _SHAPE}
        if missing:
            raise ValueError(f"timeline source {name} has columns outside the common shape: {sorted(missing)}")
        inner = ", ".join(f'"{c}"' for c in s.keys)
        extra = f" AND ({s.where})" if s.where else ""
        shape = ", ".join(f'"{c}"::{t} AS "{c}"' if c in s.columns else f'NULL::{t} AS "{c}"' for c, t in _SHAPE)
        branches.append(
            f"SELECT '{name}'::text AS \"source_\", \"id\", \"customer\", \"{s.order_by}\" AS \"at_\", {shape}, \"rank_\" "
            f'FROM (SELECT {inner}, ROW_NUMBER() OVER (PARTITION BY "customer" ORDER BY "{s.order_by}" DESC, "id" DESC) AS "rank_" '
            f'FROM "{s.table._meta.tablename}" WHERE "customer" = ANY({{}}::uuid[]){extra}) AS "{name}_" WHERE "rank_" <= {{}}'
        )
    return " UNION ALL ".join(branches) + ' ORDER BY "source_", "customer", "rank_"'


async def newest_events(
    customer_ids: list[UUID], limit: int, *, sources: Collection[str], reader: UUID | None, until: dt.datetime,
) -> dict[str, Rows]:
    """For each source named in ``sources`` (see :data:`SOURCES`), up to ``limit`` rows per
    customer, newest first then by id descending, grouped by customer (every requested
    customer present): exactly what the per-source function returns. ``reader`` is who reads
    (notes: shared ones and their own private ones); ``until`` bounds appointments."""
    names = tuple(n for n in SOURCES if n in sources)
    unknown = set(sources) - set(names)
    if unknown:
        raise ValueError(f"unknown timeline sources: {sorted(unknown)}")
    if not names:
        return {}
    if not isinstance(Purchase._meta.db, PostgresEngine) or not customer_ids or limit < 1:
        return {n: await _one(n, customer_ids, limit, reader=reader, until=until) for n in names}
    out: dict[str, Rows] = {}
    for name in names:
        out[name] = defaultdict(list)
        for cid in customer_ids:
            out[name][cid] = []
    args: list[Any] = []
    for name in names:
        args += [list(customer_ids), *_args(name, reader=reader, until=until), limit]
    for row in await Purchase.raw(_union_sql(names), *args).run():
        name = row["source_"]
        s = _SOURCES[name]
        row[s.order_by] = row["at_"]
        out[name][row["customer"]].append({k: row[k] for k in s.keys})
    return out


async def purchases(customer_ids: list[UUID], limit: int) -> Rows:
    return await _one("purchase", customer_ids, limit)


async def returns(customer_ids: list[UUID], limit: int) -> Rows:
    return await _one("return", customer_ids, limit)


async def notes(customer_ids: list[UUID], limit: int, *, reader: UUID) -> Rows:
    """Live notes the ``reader`` may see: shared ones, and private ones they wrote."""
    return await _one("note", customer_ids, limit, reader=reader)


async def check_ins(customer_ids: list[UUID], limit: int) -> Rows:
    return await _one("check_in", customer_ids, limit)


async def appointments(customer_ids: list[UUID], limit: int, *, until: dt.datetime) -> Rows:
    """Appointments that have started by ``until`` (upcoming ones are not history)."""
    return await _one("appointment", customer_ids, limit, until=until)


async def completed_tasks(customer_ids: list[UUID], limit: int) -> Rows:
    return await _one("task", customer_ids, limit)


async def consent_answers(customer_ids: list[UUID], limit: int) -> Rows:
    return await _one("consent", customer_ids, limit)
