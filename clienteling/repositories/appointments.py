"""Appointments, and the per-associate lock that keeps bookings from overlapping."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import Appointment

__all__ = ["lock_associate", "overlaps", "insert", "get", "update", "customer_page", "schedule", "upcoming_for_customers"]

# Names "one associate's diary" among PostgreSQL advisory locks (the second key is the associate).
_DIARY_LOCK = 0x41707074  # "Appt"


async def lock_associate(associate_id: UUID) -> None:
    """Serialize bookings of one associate until the surrounding transaction ends, so two
    overlapping bookings can never both pass the overlap check. PostgreSQL: an advisory
    transaction lock keyed by the associate (shared by every process); SQLite: the write
    transaction (BEGIN IMMEDIATE) already holds the database's single write lock."""
    if isinstance(db.current_engine(), PostgresEngine):
        key = int.from_bytes(associate_id.bytes[:4], "big", signed=True)
        await Appointment.raw("SELECT pg_advisory_xact_lock({}::int, {}::int)", _DIARY_LOCK, key).run()


async def overlaps(associate_id: UUID, starts_at: dt.datetime, ends_at: dt.datetime, *, exclude: UUID | None = None) -> bool:
    """Whether the associate has a booked appointment overlapping ``[starts_at, ends_at)``."""
    where = (
        (Appointment.associate == associate_id)
        & (Appointment.status == "booked")
        & (Appointment.starts_at < ends_at)
        & (Appointment.ends_at > starts_at)
    )
    if exclude is not None:
        where = where & (Appointment.id != exclude)
    return await Appointment.exists().where(where).run()


async def insert(values: dict[str, Any]) -> None:
    await Appointment.insert(Appointment(**values)).run()


async def get(appointment_id: UUID) -> dict[str, Any] | None:
    return await Appointment.select().where(Appointment.id == appointment_id).first().run()


async def update(appointment_id: UUID, values: dict[str, Any]) -> None:
    await Appointment.update({getattr(Appointment, k): v for k, v in values.items()}).where(Appointment.id == appointment_id).run()


async def customer_page(customer_id: UUID, *, after: tuple[dt.datetime, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` appointments of one customer, latest start first, after the cursor."""
    where = Appointment.customer == customer_id
    if after is not None:
        at, last_id = after
        where = where & ((Appointment.starts_at < at) | ((Appointment.starts_at == at) & (Appointment.id < last_id)))
    return (
        await Appointment.select()
        .where(where)
        .order_by(Appointment.starts_at, ascending=False)
        .order_by(Appointment.id, ascending=False)
        .limit(limit + 1)
        .run()
    )


async def schedule(
    *,
    associate_id: UUID,
    store_ids: list[UUID] | None,
    since: dt.datetime,
    until: dt.datetime,
    after: tuple[dt.datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` appointments of one associate overlapping ``[since, until)``, in
    the given stores (``None``: any), earliest first, after the cursor."""
    where = (Appointment.associate == associate_id) & (Appointment.starts_at < until) & (Appointment.ends_at > since)
    if store_ids is not None:
        where = where & (Appointment.store.is_in(store_ids) if store_ids else Appointment.id.is_null())
    if after is not None:
        at, last_id = after
        where = where & ((Appointment.starts_at > at) | ((Appointment.starts_at == at) & (Appointment.id > last_id)))
    return await Appointment.select().where(where).order_by(Appointment.starts_at, Appointment.id).limit(limit + 1).run()


async def upcoming_for_customers(customer_ids: list[UUID], now: dt.datetime) -> dict[UUID, list[dict[str, Any]]]:
    """Booked appointments not yet over, of several customers, earliest first (one query)."""
    out: dict[UUID, list[dict[str, Any]]] = {cid: [] for cid in customer_ids}
    if not customer_ids:
        return out
    rows = (
        await Appointment.select()
        .where(Appointment.customer.is_in(customer_ids) & (Appointment.status == "booked") & (Appointment.ends_at > now))
        .order_by(Appointment.starts_at, Appointment.id)
        .run()
    )
    for r in rows:
        out[r["customer"]].append(r)
    return out


async def claim_starting_soon(now: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    """Mark booked appointments starting in ``(now, until]`` as reminded and return them. The
    conditional UPDATE is the claim: two processes running it at once never both get a row."""
    return (
        await Appointment.update({Appointment.reminded_at: now})
        .where(
            (Appointment.status == "booked") & Appointment.reminded_at.is_null()
            & (Appointment.starts_at > now) & (Appointment.starts_at <= until)
        )
        .returning(Appointment.id, Appointment.customer, Appointment.associate, Appointment.store)
        .run()
    )
