"""Client books: a seller's or a store's customers under the caller's row scope, filtered
the way sellers work them, and the bulk move of a book from one seller to another.

The row scope comes from the policy (:func:`clienteling.repositories.customers.scope_where`);
the conditions here only ever narrow it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from clienteling import db
from clienteling.repositories.customers import scope_where
from clienteling.tables import Customer, StaffStore, Staff, WishlistItem
from permissions import RowScope

__all__ = ["BookQuery", "page", "book_in_store", "set_primary", "set_secondary", "bump_versions", "seller_of_store"]


class BookQuery(msgspec.Struct, kw_only=True):
    """Narrowing conditions; ``None`` means "any"."""

    associate_id: UUID | None = None  # primary or secondary associate
    store_id: UUID | None = None  # home store
    vip: bool | None = None
    last_purchase_before: dt.datetime | None = None
    birthday_mmdd: list[int] | None = None
    min_lifetime_value: Decimal | None = None
    has_open_wishlist: bool | None = None


def _where(scope: RowScope, q: BookQuery):  # noqa: ANN202 - piccolo combination
    where = scope_where(scope) & Customer.erased_at.is_null()
    if q.associate_id is not None:
        where = where & ((Customer.primary_associate == q.associate_id) | (Customer.secondary_associate == q.associate_id))
    if q.store_id is not None:
        where = where & (Customer.home_store == q.store_id)
    if q.vip is not None:
        where = where & (Customer.vip == q.vip)
    if q.last_purchase_before is not None:
        # Lapsed: bought before, nothing since the cutoff (never bought is not lapsed).
        where = where & Customer.last_purchase_at.is_not_null() & (Customer.last_purchase_at < q.last_purchase_before)
    if q.birthday_mmdd is not None:
        where = where & Customer.birth_mmdd.is_in(q.birthday_mmdd or [0])
    if q.min_lifetime_value is not None:
        where = where & (Customer.lifetime_value >= q.min_lifetime_value)
    if q.has_open_wishlist is not None:
        open_items = WishlistItem.select(WishlistItem.customer).where(WishlistItem.deleted_at.is_null() & WishlistItem.fulfilled_at.is_null())
        where = where & (Customer.id.is_in(open_items) if q.has_open_wishlist else Customer.id.not_in(open_items))
    return where


async def page(scope: RowScope, q: BookQuery, *, after: tuple[str, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` customers ordered by (name, id) after the cursor position."""
    where = _where(scope, q)
    if after is not None:
        key, last_id = after
        where = where & ((Customer.name_key > key) | ((Customer.name_key == key) & (Customer.id > last_id)))
    return await Customer.select().where(where).order_by(Customer.name_key, Customer.id).limit(limit + 1).output(load_json=True).run()


async def book_in_store(scope: RowScope, store_id: UUID, associate_id: UUID) -> list[dict[str, Any]]:
    """Live customers of ``store_id`` whose primary or secondary associate is
    ``associate_id``, locked against concurrent changes until the transaction ends
    (PostgreSQL; SQLite's write transaction already excludes other writers)."""
    query = Customer.select(
        Customer.id, Customer.primary_associate, Customer.secondary_associate, Customer.restricted_at, Customer.erased_at,
    ).where(_where(scope, BookQuery(store_id=store_id, associate_id=associate_id)))
    if isinstance(db.current_engine(), PostgresEngine):
        query = query.lock_rows("NO KEY UPDATE", of=(Customer,))
    return await query.run()


async def set_primary(ids: list[UUID], staff_id: UUID | None) -> None:
    if ids:
        await Customer.update({Customer.primary_associate: staff_id}).where(Customer.id.is_in(ids)).run()


async def set_secondary(ids: list[UUID], staff_id: UUID | None) -> None:
    if ids:
        await Customer.update({Customer.secondary_associate: staff_id}).where(Customer.id.is_in(ids)).run()


async def bump_versions(ids: list[UUID], at: dt.datetime) -> None:
    """Mark the rows changed: a new version (stale If-Match answers 412) and ``updated_at``."""
    if ids:
        await Customer.update({Customer.version: QueryString('"version" + 1'), Customer.updated_at: at}).where(Customer.id.is_in(ids)).run()


async def seller_of_store(staff_id: UUID, store_id: UUID) -> dict[str, Any] | None:
    """The staff member if they work at ``store_id`` (with role and whether active)."""
    row = await Staff.select(Staff.id, Staff.role, Staff.active).where(Staff.id == staff_id).first().run()
    if row is None:
        return None
    works = await StaffStore.exists().where((StaffStore.staff == staff_id) & (StaffStore.store == store_id)).run()
    return row if works else None
