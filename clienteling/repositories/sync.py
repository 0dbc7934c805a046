"""Offline sync reads: keyset pages of a collection's feed in change-sequence order, the
removals (tombstones) after a checkpoint, and the current rows of pushed documents.

Row scope is applied in SQL (``scope`` comes from the policy via the service) so that a page
of ``limit`` rows is a page of rows the caller may reach, and a first sync of a store walks
an index instead of the whole table. Pages are keyset on ``(sync_seq, id)``: no OFFSET.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from piccolo.table import Table

from clienteling.tables import Appointment, ConsentRecord, Customer, Device, Note, SyncCounter, SyncRemoval, Task, WishlistItem
from permissions import RowScope

__all__ = ["TABLES", "head", "live_page", "removals", "rows_by_id", "children_of", "customer_rows"]

TABLES: dict[str, type[Table]] = {
    "Customer": Customer,
    "Note": Note,
    "Task": Task,
    "Appointment": Appointment,
    "WishlistItem": WishlistItem,
    "Consent": ConsentRecord,
}


async def head() -> int:
    """The last change-sequence position handed out (committed, on PostgreSQL)."""
    row = await SyncCounter.select(SyncCounter.value).where(SyncCounter.name == "sync").first().run()
    return int(row["value"]) if row else 0


def _keyset(table: type[Table], seq: int | None, last_id: UUID | None):  # noqa: ANN202
    if seq is None:
        return None
    col_seq, col_id = table.sync_seq, table.id  # type: ignore[attr-defined]
    if last_id is None:
        return col_seq > seq
    return (col_seq > seq) | ((col_seq == seq) & (col_id > last_id))


def _scope(collection: str, scope: RowScope):  # noqa: ANN202
    """The SQL filter for the caller's reach; ``False`` when nothing can match."""
    table = TABLES[collection]
    if scope.kind == "all":
        return None
    if collection == "Customer":
        c_store, c_primary, c_secondary = Customer.home_store, Customer.primary_associate, Customer.secondary_associate
    else:
        c_store = table.customer.home_store  # type: ignore[attr-defined]
        c_primary = table.customer.primary_associate  # type: ignore[attr-defined]
        c_secondary = table.customer.secondary_associate  # type: ignore[attr-defined]
    if scope.kind == "store":
        if not scope.store_ids:
            return False
        stores = list(scope.store_ids)
        if collection in ("Task", "Appointment"):
            # Records with a store of their own live there; their customer must be reachable too.
            return table.store.is_in(stores) & (table.customer.is_null() | c_store.is_in(stores))  # type: ignore[attr-defined]
        return c_store.is_in(stores)
    me = scope.staff_id
    if collection == "Task":
        return Task.assignee == me
    if collection == "Appointment":
        return Appointment.associate == me
    return (c_primary == me) | (c_secondary == me)


def _customer_columns(collection: str) -> list[Any]:
    """The customer's columns the decision needs, joined to a child row."""
    if collection == "Customer":
        return []
    table = TABLES[collection]
    c = table.customer  # type: ignore[attr-defined]
    return [
        c.home_store.as_alias("c_home_store"),
        c.primary_associate.as_alias("c_primary_associate"),
        c.secondary_associate.as_alias("c_secondary_associate"),
        c.erased_at.as_alias("c_erased_at"),
        c.deleted_at.as_alias("c_deleted_at"),
        c.restricted_at.as_alias("c_restricted_at"),
    ]


async def live_page(collection: str, scope: RowScope, seq: int | None, last_id: UUID | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of the collection after ``(seq, last_id)`` within the scope,
    in ``(sync_seq, id)`` order, with their customer's decision columns."""
    table = TABLES[collection]
    where = _scope(collection, scope)
    if where is False:
        return []
    query = table.select(*table.all_columns(), *_customer_columns(collection))
    for cond in (_keyset(table, seq, last_id), where):
        if cond is not None:
            query = query.where(cond)
    return await query.order_by(table.sync_seq, table.id).limit(limit).run()  # type: ignore[attr-defined]


async def rows_by_id(collection: str, ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """The current rows (with customer decision columns) of the given documents."""
    if not ids:
        return {}
    table = TABLES[collection]
    rows = await table.select(*table.all_columns(), *_customer_columns(collection)).where(table.id.is_in(ids)).run()  # type: ignore[attr-defined]
    return {r["id"]: r for r in rows}


async def removals(collection: str, scope: RowScope, seq: int | None, limit: int, *, at: bool = False) -> list[dict[str, Any]]:
    """Removal rows after ``seq`` (``at``: exactly at ``seq``, all of them) that may concern
    the caller: hard deletes in this collection, and customers that left the caller's
    stores or client book (which take the customer's records with them)."""
    exits = None
    if scope.kind == "store" and scope.store_ids:
        exits = SyncRemoval.store_id.is_in(list(scope.store_ids))
    elif scope.kind == "assigned":
        exits = SyncRemoval.staff_id == scope.staff_id
    deleted = (SyncRemoval.collection == collection) & SyncRemoval.store_id.is_null() & SyncRemoval.staff_id.is_null()
    where = deleted if exits is None else deleted | ((SyncRemoval.collection == "Customer") & exits)
    query = SyncRemoval.select().where(where)
    if at:
        query = query.where(SyncRemoval.sync_seq == seq)
    elif seq is not None:
        query = query.where(SyncRemoval.sync_seq > seq)
    query = query.order_by(SyncRemoval.sync_seq, SyncRemoval.id)
    return await (query if at else query.limit(limit)).run()


async def children_of(collection: str, customer_ids: list[UUID]) -> dict[UUID, list[UUID]]:
    """The ids of a child collection's documents per customer (for tombstones on exit)."""
    out: dict[UUID, list[UUID]] = {cid: [] for cid in customer_ids}
    if not customer_ids or collection == "Customer":
        return out
    table = TABLES[collection]
    rows = await table.select(table.id, table.customer).where(table.customer.is_in(customer_ids)).run()  # type: ignore[attr-defined]
    for r in rows:
        out.setdefault(r["customer"], []).append(r["id"])
    return out


async def customer_rows(ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    if not ids:
        return {}
    rows = await Customer.select().where(Customer.id.is_in(ids)).run()
    return {r["id"]: r for r in rows}


async def device(device_id: str) -> dict[str, Any] | None:
    return await Device.select().where(Device.id == device_id).first().run()


async def touch_device(device_id: str, when: Any) -> None:
    await Device.update({Device.last_sync_at: when}).where(Device.id == device_id).run()
