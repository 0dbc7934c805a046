"""The consent ledger and the notice texts: appends and reads only. There is no update or
delete of a consent record or a published notice here, by design."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import ConsentNotice, ConsentRecord, Customer

__all__ = [
    "customer",
    "records",
    "insert_record",
    "notice",
    "notices",
    "notice_exists",
    "lock_notice_key",
    "insert_notice",
]

# Names "consent notices" among PostgreSQL advisory locks (two-key form: class, key hash).
_NOTICE_LOCK_CLASS = 0x436F6E73  # "Cons"


async def customer(customer_id: UUID, *, lock: bool = False) -> dict[str, Any] | None:
    """What consent capture needs to know about a live (not deleted) customer. With ``lock``
    (inside a transaction) the row is share-locked on PostgreSQL so a concurrent restriction
    or erasure cannot slip in between the check and the append; SQLite's write transaction
    already excludes every other writer."""
    query = (
        Customer.select(
            Customer.id, Customer.home_store, Customer.primary_associate, Customer.secondary_associate,
            Customer.restricted_at, Customer.erased_at,
        )
        .where((Customer.id == customer_id) & Customer.deleted_at.is_null())
        .first()
    )
    if lock and isinstance(db.current_engine(), PostgresEngine):
        query = query.lock_rows("SHARE")
    return await query.run()


async def records(customer_id: UUID) -> list[dict[str, Any]]:
    """Every ledger entry of one customer (a customer's ledger is short: tens of entries)."""
    return await ConsentRecord.select().where(ConsentRecord.customer == customer_id).run()


async def insert_record(values: dict[str, Any]) -> None:
    await ConsentRecord.insert(ConsentRecord(**values)).run()


async def notice(notice_id: UUID) -> dict[str, Any] | None:
    return await ConsentNotice.select().where(ConsentNotice.id == notice_id).first().run()


async def notices(*, purpose: str | None, language: str | None, after: tuple[dt.datetime, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Newest published first (then by id), up to ``limit + 1`` rows after the cursor."""
    where = ConsentNotice.id.is_not_null()
    if purpose is not None:
        where = where & (ConsentNotice.purpose == purpose)
    if language is not None:
        where = where & (ConsentNotice.language == language)
    if after is not None:
        at, last_id = after
        where = where & ((ConsentNotice.published_at < at) | ((ConsentNotice.published_at == at) & (ConsentNotice.id < last_id)))
    return (
        await ConsentNotice.select()
        .where(where)
        .order_by(ConsentNotice.published_at, ascending=False)
        .order_by(ConsentNotice.id, ascending=False)
        .limit(limit + 1)
        .run()
    )


async def notice_exists(purpose: str, version: str, language: str) -> bool:
    return await ConsentNotice.exists().where(
        (ConsentNotice.purpose == purpose) & (ConsentNotice.version == version) & (ConsentNotice.language == language)
    ).run()


async def lock_notice_key(purpose: str, version: str, language: str) -> None:
    """Serialize publishers of the same (purpose, version, language) until the transaction
    ends, so the uniqueness check cannot race. PostgreSQL: an advisory transaction lock.
    SQLite: the write transaction (BEGIN IMMEDIATE) already serializes every writer."""
    if isinstance(db.current_engine(), PostgresEngine):
        await ConsentNotice.raw(
            "SELECT pg_advisory_xact_lock({}, hashtext({}))", _NOTICE_LOCK_CLASS, f"{purpose}\x1f{version}\x1f{language}"
        ).run()


async def insert_notice(values: dict[str, Any]) -> None:
    await ConsentNotice.insert(ConsentNotice(**values)).run()
