"""Storage for integration webhooks: the idempotency ledger, purchases, returns, check-ins and
the customer figures they maintain. Every statement here runs inside the service's
transaction; nothing commits on its own."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from clienteling import db
from clienteling.tables import CheckIn, Customer, IntegrationEvent, Purchase, PurchaseLine, PurchaseReturn, Store, Task

__all__ = [
    "is_duplicate",
    "delivery",
    "claim",
    "settle",
    "customer",
    "store_exists",
    "purchase_by_external_id",
    "insert_purchase",
    "insert_return",
    "insert_check_in",
    "insert_task",
    "add_sale",
    "subtract_refund",
]

_ZERO = Decimal("0")


def is_duplicate(exc: BaseException) -> bool:
    """Whether ``exc`` is a unique-key violation (a concurrent or repeated delivery)."""
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


async def delivery(key: str) -> dict[str, Any] | None:
    """The stored delivery ``kind:externalId``: digest, status code and result."""
    return (
        await IntegrationEvent.select(IntegrationEvent.payload_sha256, IntegrationEvent.status_code, IntegrationEvent.result)
        .where(IntegrationEvent.key == key)
        .output(load_json=True)
        .first()
        .run()
    )


async def claim(key: str, payload_sha256: str) -> None:
    """Take the key for this transaction. A concurrent delivery of the same key waits here
    (PostgreSQL) until this one commits, then fails with a unique violation; on SQLite the
    write transaction already serializes them."""
    await IntegrationEvent.insert(
        IntegrationEvent(key=key, payload_sha256=payload_sha256, status_code=0, result={})
    ).run()


async def settle(key: str, status_code: int, result: dict[str, Any]) -> None:
    """Store the answer given, to be replayed verbatim on a retry."""
    await IntegrationEvent.update(
        {IntegrationEvent.status_code: status_code, IntegrationEvent.result: result}
    ).where(IntegrationEvent.key == key).run()


async def customer(*, customer_id: UUID | None = None, loyalty_number: str | None = None, lock: bool = False) -> dict[str, Any] | None:
    """A live, not erased customer by id or loyalty card number, with whether their
    primary associate is still active (``associate_active``). With ``lock`` the row is
    locked on PostgreSQL until the transaction ends, so a concurrent erasure or restriction
    cannot slip in between the check and the write."""
    where = Customer.deleted_at.is_null() & Customer.erased_at.is_null()
    where = where & ((Customer.id == customer_id) if customer_id is not None else (Customer.loyalty_number == loyalty_number))
    query = (
        Customer.select(
            Customer.id, Customer.home_store, Customer.primary_associate, Customer.vip, Customer.restricted_at,
            Customer.primary_associate.active.as_alias("associate_active"),
        )
        .where(where)
        .first()
    )
    if lock and isinstance(db.current_engine(), PostgresEngine):
        query = query.lock_rows("NO KEY UPDATE", of=(Customer,))
    return await query.run()


async def store_exists(store_id: UUID) -> bool:
    return await Store.exists().where(Store.id == store_id).run()


async def purchase_by_external_id(external_id: str) -> dict[str, Any] | None:
    return (
        await Purchase.select(Purchase.id, Purchase.customer, Purchase.currency)
        .where(Purchase.external_id == external_id)
        .first()
        .run()
    )


async def insert_purchase(values: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    await Purchase.insert(Purchase(**values)).run()
    await PurchaseLine.insert(*[PurchaseLine(**line) for line in lines]).run()


async def insert_return(values: dict[str, Any]) -> None:
    await PurchaseReturn.insert(PurchaseReturn(**values)).run()


async def insert_check_in(values: dict[str, Any]) -> None:
    await CheckIn.insert(CheckIn(**values)).run()


async def insert_task(values: dict[str, Any]) -> None:
    await Task.insert(Task(**values)).run()


async def add_sale(customer_id: UUID, *, at: dt.datetime, amount_eur: Decimal) -> None:
    """Add a sale to the customer's lifetime value and move ``last_purchase_at`` forward
    (never back: purchases may arrive out of order). Arithmetic happens in SQL, so two
    purchases of one customer landing at once both count."""
    await Customer.update(
        {Customer.lifetime_value: QueryString('"lifetime_value" + {}', amount_eur)}
    ).where(Customer.id == customer_id).run()
    await Customer.update({Customer.last_purchase_at: at}).where(
        (Customer.id == customer_id) & (Customer.last_purchase_at.is_null() | (Customer.last_purchase_at < at))
    ).run()


async def subtract_refund(customer_id: UUID, *, amount_eur: Decimal) -> None:
    """Take a refund off the lifetime value, which never goes below zero (a return may
    refer to a sale made before this service knew the customer)."""
    lowered = (
        await Customer.update({Customer.lifetime_value: QueryString('"lifetime_value" - {}', amount_eur)})
        .where((Customer.id == customer_id) & (Customer.lifetime_value >= amount_eur))
        .returning(Customer.id)
        .run()
    )
    if not lowered:
        await Customer.update({Customer.lifetime_value: _ZERO}).where(Customer.id == customer_id).run()
