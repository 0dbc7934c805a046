"""Customer rows and consent ledgers, read once per GraphQL query operation.

A customer 360 asks for the same customer several times: the ``customer`` field decides
what the caller sees, and each of its parts (purchases, notes, timeline, ...) first checks
that the caller still reaches that customer and which consents they gave. Inside
:func:`one_read`, these reads are served from what the operation already read, so the
customer row and the consent ledger cost one statement each whatever the number of parts,
and every part judges the same snapshot. Outside it (mutations, REST, jobs), every call
reads the database.

Only read-only operations use it (GraphQL queries, see ``graphql_schema.schema``): a write
must always decide on the current row.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from clienteling.repositories import customers as customer_repo
from domain.consent import ConsentEvent

__all__ = ["one_read", "get", "get_many", "consent_events"]


class _Snapshot:
    __slots__ = ("rows", "ledgers")

    def __init__(self) -> None:
        self.rows: dict[UUID, dict[str, Any] | None] = {}
        self.ledgers: dict[UUID, list[ConsentEvent]] = {}


_current: contextvars.ContextVar[_Snapshot | None] = contextvars.ContextVar("customer_rows_snapshot", default=None)


@contextlib.contextmanager
def one_read() -> Iterator[None]:
    """Serve repeated customer and consent reads in this context from the first read."""
    token = _current.set(_Snapshot())
    try:
        yield
    finally:
        _current.reset(token)


async def get(customer_id: UUID) -> dict[str, Any] | None:
    """The live (not deleted) customer row, or None."""
    snap = _current.get()
    if snap is None:
        return await customer_repo.get(customer_id)
    if customer_id not in snap.rows:
        snap.rows[customer_id] = await customer_repo.get(customer_id)
    return snap.rows[customer_id]


async def get_many(ids: list[UUID]) -> list[dict[str, Any]]:
    """The live rows among ``ids`` (absent and deleted ones left out)."""
    snap = _current.get()
    if snap is None:
        return await customer_repo.get_many(ids)
    wanted = list(dict.fromkeys(ids))
    missing = [i for i in wanted if i not in snap.rows]
    if missing:
        found = {r["id"]: r for r in await customer_repo.get_many(missing)}
        for i in missing:
            snap.rows[i] = found.get(i)
    return [row for i in wanted if (row := snap.rows[i]) is not None]


async def consent_events(ids: list[UUID]) -> dict[UUID, list[ConsentEvent]]:
    """Each customer's consent ledger (a mapping that answers [] for customers without one)."""
    snap = _current.get()
    if snap is None:
        return await customer_repo.consent_events(ids)
    missing = [i for i in dict.fromkeys(ids) if i not in snap.ledgers]
    if missing:
        found = await customer_repo.consent_events(missing)
        for i in missing:
            snap.ledgers[i] = found.get(i, [])
    return defaultdict(list, {i: snap.ledgers[i] for i in dict.fromkeys(ids) if snap.ledgers[i]})
