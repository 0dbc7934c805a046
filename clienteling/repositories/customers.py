"""Customer rows: lookups, the scoped and searchable listing, inserts and versioned updates.

Row scope is applied here, from the :class:`permissions.RowScope` the service obtained from
the policy: no query over customers runs without it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import reduce
from typing import Any
from uuid import UUID

from piccolo.columns.combination import And, Or, Where

from clienteling.tables import ConsentRecord, Customer
from domain.consent import ConsentEvent
from permissions import RowScope

__all__ = ["SearchSpec", "get", "get_many", "sort_key", "page", "insert", "update", "consent_events", "scope_where"]


class SearchSpec:
    """A parsed search: folded name terms, a phone digit string, an email, a card number,
    and which of those the caller may match on (``scope`` or only their ``book``)."""

    def __init__(self, *, terms: list[str], digits: str | None, email: str | None, card: str | None, allowed: dict[str, str]) -> None:
        self.terms = terms
        self.digits = digits
        self.email = email
        self.card = card
        self.allowed = allowed


def _book(staff_id: UUID):  # noqa: ANN202 - piccolo combination
    return (Customer.primary_associate == staff_id) | (Customer.secondary_associate == staff_id)


def scope_where(scope: RowScope):  # noqa: ANN201
    """The WHERE clause for a row scope (and never deleted rows)."""
    alive = Customer.deleted_at.is_null()
    if scope.kind == "all":
        return alive
    if scope.kind == "store":
        if not scope.store_ids:
            return alive & (Customer.id.is_null())  # matches nothing
        return alive & Customer.home_store.is_in(list(scope.store_ids))
    return alive & _book(scope.staff_id)


def _search_where(spec: SearchSpec, staff_id: UUID):  # noqa: ANN202
    options = []

    def gated(field: str, cond):  # noqa: ANN001, ANN202
        where = spec.allowed.get(field)
        if where == "scope":
            options.append(cond)
        elif where == "book":
            options.append(cond & _book(staff_id))

    if spec.terms and spec.allowed.get("first_name") == "scope" and spec.allowed.get("last_name") == "scope":
        options.append(reduce(lambda a, b: a & b, [Customer.name_key.like(f"%{t}%") for t in spec.terms]))
    if spec.email:
        gated("email", Customer.email_key == spec.email)
    if spec.digits and len(spec.digits) >= 4:
        gated("phone", Customer.phone_key.like(f"%{spec.digits}%"))
    if spec.card:
        gated("loyalty_number", Customer.loyalty_number == spec.card)
    if not options:
        return None
    return reduce(lambda a, b: a | b, options)


async def get(customer_id: UUID) -> dict[str, Any] | None:
    return (
        await Customer.select()
        .where((Customer.id == customer_id) & Customer.deleted_at.is_null())
        .output(load_json=True)
        .first()
        .run()
    )


async def get_many(ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return await Customer.select().where(Customer.id.is_in(ids) & Customer.deleted_at.is_null()).output(load_json=True).run()


async def sort_key(customer_id: UUID) -> str | None:
    """The sort key of a row (deleted or not), to resume a listing after it."""
    row = await Customer.select(Customer.name_key).where(Customer.id == customer_id).first().run()
    return row["name_key"] if row else None


async def page(scope: RowScope, *, search: SearchSpec | None, after: tuple[str, UUID] | None, limit: int) -> list[dict[str, Any]] | None:
    """Up to ``limit + 1`` rows ordered by (name, id) after the cursor; ``None`` when the
    search can match on nothing the caller may read."""
    where = scope_where(scope)
    if search is not None:
        cond = _search_where(search, scope.staff_id)
        if cond is None:
            return None
        where = where & cond
    if after is not None:
        key, last_id = after
        where = where & ((Customer.name_key > key) | ((Customer.name_key == key) & (Customer.id > last_id)))
    return (
        await Customer.select()
        .where(where)
        .order_by(Customer.name_key, Customer.id)
        .limit(limit + 1)
        .output(load_json=True)
        .run()
    )


async def insert(values: dict[str, Any]) -> None:
    await Customer.insert(Customer(**values)).run()


async def update(customer_id: UUID, values: dict[str, Any], expected_version: int) -> bool:
    """Apply ``values`` if the row is still at ``expected_version``; bump the version.
    False means someone else changed it first (no lost update)."""
    columns = {getattr(Customer, k): v for k, v in values.items()}
    columns[Customer.version] = expected_version + 1
    columns[Customer.updated_at] = dt.datetime.now(dt.timezone.utc)
    rows = (
        await Customer.update(columns)
        .where((Customer.id == customer_id) & (Customer.version == expected_version) & Customer.deleted_at.is_null())
        .returning(Customer.id)
        .run()
    )
    return bool(rows)


async def consent_events(customer_ids: list[UUID]) -> dict[UUID, list[ConsentEvent]]:
    """The consent ledger of each customer, for :func:`domain.consent.active_purposes`."""
    out: dict[UUID, list[ConsentEvent]] = defaultdict(list)
    if not customer_ids:
        return out
    rows = (
        await ConsentRecord.select(
            ConsentRecord.customer, ConsentRecord.purpose, ConsentRecord.status,
            ConsentRecord.occurred_at, ConsentRecord.expires_at,
        )
        .where(ConsentRecord.customer.is_in(customer_ids))
        .run()
    )
    for r in rows:
        out[r["customer"]].append(
            ConsentEvent(purpose=r["purpose"], status=r["status"], occurred_at=r["occurred_at"], expires_at=r["expires_at"])
        )
    return out
