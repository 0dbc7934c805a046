"""Storage of the loyalty ledger and unlocked rewards, and the customer's cached standing.
Every statement runs inside the calling service's transaction."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import Customer, LoyaltyEntry, LoyaltyReward, PushSubscription

__all__ = [
    "member_customer",
    "entries",
    "insert_entry",
    "entry_by_source",
    "reversed_for_purchase",
    "set_remaining",
    "set_standing",
    "unlocked_rewards",
    "insert_reward",
    "customers_with_expired_lots",
    "customers_with_lots_expiring",
    "birthday_customers",
    "page",
    "job_lock",
]

# Names "the loyalty jobs" among PostgreSQL advisory locks.
_JOB_LOCK = 0x4C6F79616C  # "Loyal"


@contextlib.asynccontextmanager
async def job_lock() -> AsyncIterator[bool]:
    """Whether this process may run the scheduled loyalty jobs now. On PostgreSQL a session
    advisory lock on its own connection (the jobs run many short transactions meanwhile);
    SQLite has a single worker."""
    engine = db.current_engine()
    if not isinstance(engine, PostgresEngine):
        yield True
        return
    import asyncpg

    conn = await asyncpg.connect(engine.config["dsn"])
    try:
        got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", _JOB_LOCK)
        try:
            yield bool(got)
        finally:
            if got:
                await conn.execute("SELECT pg_advisory_unlock($1)", _JOB_LOCK)
    finally:
        await conn.close()


async def member_customer(customer_id: UUID, *, lock: bool = False) -> dict[str, Any] | None:
    """A live customer's loyalty figures (locked on PostgreSQL with ``lock``, so two ledger
    changes of one customer take turns)."""
    query = (
        Customer.select(
            Customer.id, Customer.loyalty_number, Customer.loyalty_tier, Customer.loyalty_points,
            Customer.restricted_at, Customer.home_store,
        )
        .where((Customer.id == customer_id) & Customer.deleted_at.is_null() & Customer.erased_at.is_null())
        .first()
    )
    if lock and isinstance(db.current_engine(), PostgresEngine):
        query = query.lock_rows("NO KEY UPDATE", of=(Customer,))
    return await query.run()


async def entries(customer_id: UUID) -> list[dict[str, Any]]:
    return (
        await LoyaltyEntry.select(
            LoyaltyEntry.id, LoyaltyEntry.kind, LoyaltyEntry.points, LoyaltyEntry.remaining, LoyaltyEntry.occurred_at,
            LoyaltyEntry.expires_at, LoyaltyEntry.source_ref, LoyaltyEntry.created_at, LoyaltyEntry.details,
            LoyaltyEntry.reason,
        )
        .where(LoyaltyEntry.customer == customer_id)
        .output(load_json=True)
        .run()
    )


async def insert_entry(values: dict[str, Any]) -> None:
    await LoyaltyEntry.insert(LoyaltyEntry(**values)).run()


async def entry_by_source(source_ref: str) -> dict[str, Any] | None:
    return (
        await LoyaltyEntry.select(LoyaltyEntry.id, LoyaltyEntry.customer, LoyaltyEntry.points, LoyaltyEntry.details)
        .where(LoyaltyEntry.source_ref == source_ref)
        .output(load_json=True)
        .first()
        .run()
    )


async def reversed_for_purchase(customer_id: UUID, purchase_id: UUID) -> int:
    """Points already taken back for returns of this purchase (a positive number)."""
    rows = (
        await LoyaltyEntry.select(LoyaltyEntry.points, LoyaltyEntry.details)
        .where((LoyaltyEntry.customer == customer_id) & (LoyaltyEntry.kind == "reversal"))
        .output(load_json=True)
        .run()
    )
    return -sum(r["points"] for r in rows if (r["details"] or {}).get("purchaseId") == str(purchase_id))


async def set_remaining(changes: dict[UUID, int]) -> None:
    for entry_id, remaining in changes.items():
        await LoyaltyEntry.update({LoyaltyEntry.remaining: remaining}).where(LoyaltyEntry.id == entry_id).run()


async def set_standing(customer_id: UUID, *, points: int, tier: str) -> None:
    await Customer.update({Customer.loyalty_points: points, Customer.loyalty_tier: tier}).where(Customer.id == customer_id).run()


async def unlocked_rewards(customer_id: UUID) -> list[str]:
    return await LoyaltyReward.select(LoyaltyReward.code).where(LoyaltyReward.customer == customer_id).output(as_list=True).run()


async def insert_reward(values: dict[str, Any]) -> None:
    await LoyaltyReward.insert(LoyaltyReward(**values)).run()


async def customers_with_expired_lots(now: dt.datetime, limit: int = 500) -> list[UUID]:
    rows = (
        await LoyaltyEntry.select(LoyaltyEntry.customer)
        .where((LoyaltyEntry.remaining > 0) & (LoyaltyEntry.expires_at <= now))
        .distinct()
        .limit(limit)
        .output(as_list=True)
        .run()
    )
    return list(rows)


async def customers_with_lots_expiring(now: dt.datetime, until: dt.datetime) -> list[dict[str, Any]]:
    """Lots with points left expiring in ``(now, until]``, of customers who have a push
    subscription (nobody else can be told)."""
    subscribed = PushSubscription.select(PushSubscription.customer).where(PushSubscription.customer.is_not_null())
    return (
        await LoyaltyEntry.select(LoyaltyEntry.id, LoyaltyEntry.customer, LoyaltyEntry.remaining, LoyaltyEntry.expires_at)
        .where(
            (LoyaltyEntry.remaining > 0) & (LoyaltyEntry.expires_at > now) & (LoyaltyEntry.expires_at <= until)
            & LoyaltyEntry.customer.is_in(subscribed)
        )
        .run()
    )


async def birthday_customers(mmdd: int) -> list[UUID]:
    """Live loyalty customers born on this month and day who have a push subscription."""
    subscribed = PushSubscription.select(PushSubscription.customer).where(PushSubscription.customer.is_not_null())
    return list(
        await Customer.select(Customer.id)
        .where(
            (Customer.birth_mmdd == mmdd) & Customer.loyalty_number.is_not_null() & Customer.deleted_at.is_null()
            & Customer.erased_at.is_null() & Customer.id.is_in(subscribed)
        )
        .output(as_list=True)
        .run()
    )


async def page(customer_id: UUID, *, before: tuple[dt.datetime, str] | None, limit: int) -> list[dict[str, Any]]:
    """Ledger entries newest first, keyset-paged on (occurred_at, id)."""
    where = LoyaltyEntry.customer == customer_id
    if before is not None:
        at, entry_id = before
        where = where & ((LoyaltyEntry.occurred_at < at) | ((LoyaltyEntry.occurred_at == at) & (LoyaltyEntry.id < UUID(entry_id))))
    return (
        await LoyaltyEntry.select(
            LoyaltyEntry.id, LoyaltyEntry.kind, LoyaltyEntry.points, LoyaltyEntry.remaining, LoyaltyEntry.occurred_at,
            LoyaltyEntry.expires_at, LoyaltyEntry.reason,
        )
        .where(where)
        .order_by(LoyaltyEntry.occurred_at, ascending=False)
        .order_by(LoyaltyEntry.id, ascending=False)
        .limit(limit + 1)
        .run()
    )
