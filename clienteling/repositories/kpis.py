"""Aggregates behind seller KPIs: counts and sums grouped by seller, never customer rows
beyond the (seller, customer) pairs needed to count distinct clients."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

from piccolo.columns.combination import WhereRaw
from piccolo.query.functions.aggregate import Count, Sum

from clienteling.tables import Appointment, Note, Purchase, Staff, StaffStore, Task, WishlistItem

__all__ = ["sellers_of_stores", "staff_by_ids", "contacted_pairs", "follow_ups", "appointments_held", "influenced_sales"]

_SELLER_ROLES = ["associate", "store_manager"]


async def sellers_of_stores(store_ids: list[UUID]) -> list[dict[str, Any]]:
    """Associates and managers working in any of ``store_ids`` (active or not: a seller who
    left still has figures for the time they were there)."""
    if not store_ids:
        return []
    rows = (
        await StaffStore.select(StaffStore.staff.id.as_alias("id"), StaffStore.staff.display_name.as_alias("display_name"))
        .where(StaffStore.store.is_in(store_ids) & StaffStore.staff.role.is_in(_SELLER_ROLES))
        .run()
    )
    unique = {r["id"]: r for r in rows}
    return sorted(unique.values(), key=lambda r: (r["display_name"], str(r["id"])))


async def staff_by_ids(ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return await Staff.select(Staff.id, Staff.display_name, Staff.role).where(Staff.id.is_in(ids)).run()


async def contacted_pairs(staff_ids: list[UUID], since: dt.datetime, until: dt.datetime, store_id: UUID | None) -> set[tuple[UUID, UUID]]:
    """Distinct (seller, customer) pairs with a contact in ``[since, until)``: a note the
    seller wrote, a follow-up they completed, an appointment of theirs marked held, a
    wishlist item they added. With ``store_id``, only that store's customers."""
    pairs: set[tuple[UUID, UUID]] = set()
    if not staff_ids:
        return pairs

    def home(column):  # noqa: ANN001, ANN202
        return (column.home_store == store_id) if store_id is not None else None

    queries = [
        (Note.author, Note.customer, (Note.author.is_in(staff_ids) & (Note.created_at >= since) & (Note.created_at < until) & Note.deleted_at.is_null()), home(Note.customer)),
        (Task.completed_by, Task.customer, (Task.completed_by.is_in(staff_ids) & (Task.completed_at >= since) & (Task.completed_at < until) & Task.customer.is_not_null() & Task.deleted_at.is_null()), home(Task.customer)),
        (Appointment.associate, Appointment.customer, (Appointment.associate.is_in(staff_ids) & (Appointment.status == "held") & (Appointment.starts_at >= since) & (Appointment.starts_at < until)), home(Appointment.customer)),
        (WishlistItem.added_by, WishlistItem.customer, (WishlistItem.added_by.is_in(staff_ids) & (WishlistItem.created_at >= since) & (WishlistItem.created_at < until)), home(WishlistItem.customer)),
    ]
    for staff_col, customer_col, where, in_store in queries:
        table = staff_col._meta.table
        if in_store is not None:
            where = where & in_store
        rows = await table.select(staff_col.as_alias("staff"), customer_col.as_alias("customer")).where(where).distinct().run()
        pairs.update((r["staff"], r["customer"]) for r in rows)
    return pairs


async def follow_ups(staff_ids: list[UUID], since: dt.datetime, until: dt.datetime, store_id: UUID | None) -> dict[UUID, tuple[int, int]]:
    """Per assignee: (tasks due in ``[since, until)``, those completed by their due time)."""
    out: dict[UUID, tuple[int, int]] = {}
    if not staff_ids:
        return out
    where = Task.assignee.is_in(staff_ids) & (Task.due_at >= since) & (Task.due_at < until) & Task.deleted_at.is_null()
    if store_id is not None:
        where = where & (Task.store == store_id)
    due = await Task.select(Task.assignee, Count(alias="n")).where(where).group_by(Task.assignee).run()
    on_time_where = where & Task.completed_at.is_not_null() & WhereRaw('"task"."completed_at" <= "task"."due_at"')
    on_time = await Task.select(Task.assignee, Count(alias="n")).where(on_time_where).group_by(Task.assignee).run()
    done = {r["assignee"]: r["n"] for r in on_time}
    return {r["assignee"]: (r["n"], done.get(r["assignee"], 0)) for r in due}


async def appointments_held(staff_ids: list[UUID], since: dt.datetime, until: dt.datetime, store_id: UUID | None) -> dict[UUID, int]:
    if not staff_ids:
        return {}
    where = Appointment.associate.is_in(staff_ids) & (Appointment.status == "held") & (Appointment.starts_at >= since) & (Appointment.starts_at < until)
    if store_id is not None:
        where = where & (Appointment.store == store_id)
    rows = await Appointment.select(Appointment.associate, Count(alias="n")).where(where).group_by(Appointment.associate).run()
    return {r["associate"]: r["n"] for r in rows}


async def influenced_sales(staff_ids: list[UUID], since: dt.datetime, until: dt.datetime, store_id: UUID | None) -> dict[UUID, dict[str, Decimal | float]]:
    """Per primary associate and currency: the sum of purchase totals in ``[since, until)``
    by the customers whose primary associate they are now."""
    out: dict[UUID, dict[str, Decimal | float]] = defaultdict(dict)
    if not staff_ids:
        return out
    associate = Purchase.customer.primary_associate
    where = associate.is_in(staff_ids) & (Purchase.occurred_at >= since) & (Purchase.occurred_at < until)
    if store_id is not None:
        where = where & (Purchase.customer.home_store == store_id)
    rows = (
        await Purchase.select(associate.as_alias("associate"), Purchase.currency, Sum(Purchase.total, alias="total"))
        .where(where)
        .group_by(associate, Purchase.currency)
        .run()
    )
    for r in rows:
        out[r["associate"]][r["currency"]] = r["total"]
    return out
