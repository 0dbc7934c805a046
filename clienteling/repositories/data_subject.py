"""Everything held about one customer, read whole for an export and rewritten for an
erasure, plus the retention query. Unlike ``repositories.customers`` these lookups include
soft-deleted and erased rows: a data-subject request concerns whatever is still stored."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import (
    Appointment,
    AuditEntry,
    AuditSubject,
    BreakGlassGrant,
    CheckIn,
    ConsentNotice,
    ConsentRecord,
    Customer,
    ErasureRequest,
    Note,
    Purchase,
    PurchaseLine,
    PurchaseReturn,
    Task,
    WishlistItem,
)

__all__ = [
    "customer",
    "purchases",
    "lines_of",
    "notes",
    "returns",
    "wishlist",
    "tasks",
    "appointments",
    "check_ins",
    "consents",
    "notices",
    "break_glass_grants",
    "erasure_requests",
    "access_log",
    "erasure_request",
    "insert_erasure_request",
    "anonymise_customer",
    "delete_notes",
    "delete_activity",
    "redact_consent_evidence",
    "redact_break_glass_reasons",
    "set_restricted",
    "inactive_customers",
    "active_since",
]


async def customer(customer_id: UUID, *, lock: bool = False) -> dict[str, Any] | None:
    """The customer row whatever its state. ``lock`` (inside a transaction) holds the row
    until commit on PostgreSQL, so two requests about one customer run one after the other;
    SQLite's write transaction already serializes them."""
    query = Customer.select().where(Customer.id == customer_id).output(load_json=True).first()
    if lock and isinstance(db.current_engine(), PostgresEngine):
        query = query.lock_rows("UPDATE", of=(Customer,))
    return await query.run()


async def purchases(customer_id: UUID) -> list[dict[str, Any]]:
    return await Purchase.select().where(Purchase.customer == customer_id).order_by(Purchase.occurred_at).order_by(Purchase.id).run()


async def lines_of(purchase_ids: list[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    out: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    if not purchase_ids:
        return out
    rows = await PurchaseLine.select().where(PurchaseLine.purchase.is_in(purchase_ids)).order_by(PurchaseLine.sku).order_by(PurchaseLine.id).run()
    for row in rows:
        out[row["purchase"]].append(row)
    return out


async def notes(customer_id: UUID) -> list[dict[str, Any]]:
    """Every note, private and soft-deleted ones included."""
    return await Note.select().where(Note.customer == customer_id).order_by(Note.created_at).order_by(Note.id).run()


async def returns(customer_id: UUID) -> list[dict[str, Any]]:
    return await PurchaseReturn.select().where(PurchaseReturn.customer == customer_id).order_by(PurchaseReturn.occurred_at).order_by(PurchaseReturn.id).output(load_json=True).run()


async def wishlist(customer_id: UUID) -> list[dict[str, Any]]:
    """Every wishlist item, removed ones included."""
    return await WishlistItem.select().where(WishlistItem.customer == customer_id).order_by(WishlistItem.created_at).order_by(WishlistItem.id).run()


async def tasks(customer_id: UUID) -> list[dict[str, Any]]:
    return await Task.select().where(Task.customer == customer_id).order_by(Task.created_at).order_by(Task.id).run()


async def appointments(customer_id: UUID) -> list[dict[str, Any]]:
    return await Appointment.select().where(Appointment.customer == customer_id).order_by(Appointment.starts_at).order_by(Appointment.id).run()


async def check_ins(customer_id: UUID) -> list[dict[str, Any]]:
    return await CheckIn.select().where(CheckIn.customer == customer_id).order_by(CheckIn.occurred_at).order_by(CheckIn.id).run()


async def consents(customer_id: UUID) -> list[dict[str, Any]]:
    """The whole consent ledger of the customer, oldest first."""
    return (
        await ConsentRecord.select()
        .where(ConsentRecord.customer == customer_id)
        .order_by(ConsentRecord.occurred_at)
        .order_by(ConsentRecord.recorded_at)
        .order_by(ConsentRecord.id)
        .run()
    )


async def notices(notice_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    if not notice_ids:
        return {}
    rows = await ConsentNotice.select().where(ConsentNotice.id.is_in(notice_ids)).run()
    return {r["id"]: r for r in rows}


async def break_glass_grants(customer_id: UUID) -> list[dict[str, Any]]:
    return await BreakGlassGrant.select().where(BreakGlassGrant.customer == customer_id).order_by(BreakGlassGrant.created_at).order_by(BreakGlassGrant.id).run()


async def erasure_requests(customer_id: UUID) -> list[dict[str, Any]]:
    return await ErasureRequest.select().where(ErasureRequest.customer == customer_id).order_by(ErasureRequest.completed_at).order_by(ErasureRequest.id).run()


async def access_log(customer_id: UUID) -> list[dict[str, Any]]:
    """Audit entries about the customer, oldest first (a sub-select, so no bound on how
    many: SQLite limits the number of parameters of an IN list)."""
    about = AuditSubject.select(AuditSubject.seq).where(AuditSubject.customer == customer_id)
    return await AuditEntry.select().where(AuditEntry.seq.is_in(about)).order_by(AuditEntry.seq).output(load_json=True).run()


async def erasure_request(reference: str) -> dict[str, Any] | None:
    return await ErasureRequest.select().where(ErasureRequest.reference == reference).first().run()


async def insert_erasure_request(values: dict[str, Any]) -> bool:
    """False when the reference is already taken (by a request committed meanwhile)."""
    rows = (
        await ErasureRequest.insert(ErasureRequest(**values))
        .on_conflict(target=ErasureRequest.reference, action="DO NOTHING")
        .returning(ErasureRequest.id)
        .run()
    )
    return bool(rows)


async def anonymise_customer(customer_id: UUID, values: dict[str, Any], *, expected_version: int) -> bool:
    """Overwrite the given columns and bump the version (the change tablets pull)."""
    columns = {getattr(Customer, k): v for k, v in values.items()}
    columns[Customer.version] = expected_version + 1
    rows = (
        await Customer.update(columns)
        .where((Customer.id == customer_id) & (Customer.version == expected_version))
        .returning(Customer.id)
        .run()
    )
    return bool(rows)


async def delete_notes(customer_id: UUID) -> int:
    rows = await Note.delete().where(Note.customer == customer_id).returning(Note.id).run()
    return len(rows)


async def delete_activity(customer_id: UUID) -> None:
    """Remove the clienteling activity about the customer that no law asks us to keep:
    wishlist items, tasks, appointments and store check-ins."""
    await WishlistItem.delete().where(WishlistItem.customer == customer_id).run()
    await Task.delete().where(Task.customer == customer_id).run()
    await Appointment.delete().where(Appointment.customer == customer_id).run()
    await CheckIn.delete().where(CheckIn.customer == customer_id).run()


async def redact_consent_evidence(customer_id: UUID) -> int:
    """Blank what a consent record holds beyond the fact of the choice: the evidence text
    and the device it was captured on."""
    rows = (
        await ConsentRecord.update({ConsentRecord.evidence: None, ConsentRecord.device_id: None})
        .where(ConsentRecord.customer == customer_id)
        .returning(ConsentRecord.id)
        .run()
    )
    return len(rows)


async def redact_break_glass_reasons(customer_id: UUID, replacement: str) -> int:
    rows = (
        await BreakGlassGrant.update({BreakGlassGrant.reason: replacement})
        .where(BreakGlassGrant.customer == customer_id)
        .returning(BreakGlassGrant.id)
        .run()
    )
    return len(rows)


async def set_restricted(customer_id: UUID, restricted_at: dt.datetime | None, now: dt.datetime, *, expected_version: int) -> bool:
    rows = (
        await Customer.update({Customer.restricted_at: restricted_at, Customer.updated_at: now, Customer.version: expected_version + 1})
        .where((Customer.id == customer_id) & (Customer.version == expected_version))
        .returning(Customer.id)
        .run()
    )
    return bool(rows)


async def inactive_customers(cutoff: dt.datetime) -> list[dict[str, Any]]:
    """Customers not yet erased with no activity since ``cutoff``: the row unchanged, no
    purchase and no consent event since then. Each with ``id`` and ``restricted_at``."""
    # NOT IN over a NULL would match nothing: keep NULLs out of the sub-selects.
    recent_purchase = Purchase.select(Purchase.customer).where((Purchase.occurred_at >= cutoff) & Purchase.customer.is_not_null())
    recent_consent = ConsentRecord.select(ConsentRecord.customer).where((ConsentRecord.occurred_at >= cutoff) & ConsentRecord.customer.is_not_null())
    return (
        await Customer.select(Customer.id, Customer.restricted_at)
        .where(
            Customer.erased_at.is_null()
            & (Customer.updated_at < cutoff)
            & Customer.id.not_in(recent_purchase)
            & Customer.id.not_in(recent_consent)
        )
        .order_by(Customer.id)
        .run()
    )


async def active_since(customer_id: UUID, cutoff: dt.datetime) -> bool:
    """Has the customer had a purchase or a consent event since ``cutoff``? (Re-checked
    under the row lock before a retention erasure.)"""
    purchase = await Purchase.exists().where((Purchase.customer == customer_id) & (Purchase.occurred_at >= cutoff)).run()
    if purchase:
        return True
    return await ConsentRecord.exists().where((ConsentRecord.customer == customer_id) & (ConsentRecord.occurred_at >= cutoff)).run()
