"""Loyalty member accounts: sign-in and notification preferences."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from clienteling.tables import Customer, MemberAccount

__all__ = ["by_email", "by_id", "by_customer", "insert", "update", "set_password_hash", "touch_login", "delete_for_customer"]

_COLUMNS = (
    MemberAccount.id, MemberAccount.customer, MemberAccount.email, MemberAccount.password_hash, MemberAccount.active,
    MemberAccount.language, MemberAccount.time_zone, MemberAccount.quiet_start, MemberAccount.quiet_end,
    MemberAccount.event_types, MemberAccount.created_at, MemberAccount.last_login_at,
)
# What a member view needs of the customer (the member's own data).
_CUSTOMER = (
    MemberAccount.customer.first_name.as_alias("first_name"),
    MemberAccount.customer.language.as_alias("customer_language"),
    MemberAccount.customer.loyalty_number.as_alias("loyalty_number"),
    MemberAccount.customer.loyalty_tier.as_alias("loyalty_tier"),
    MemberAccount.customer.loyalty_points.as_alias("loyalty_points"),
    MemberAccount.customer.home_store.timezone.as_alias("store_time_zone"),
    MemberAccount.customer.erased_at.as_alias("erased_at"),
    MemberAccount.customer.deleted_at.as_alias("deleted_at"),
    MemberAccount.customer.restricted_at.as_alias("restricted_at"),
)


async def by_email(email: str) -> dict[str, Any] | None:
    return await MemberAccount.select(*_COLUMNS, *_CUSTOMER).where(MemberAccount.email == email.strip().lower()).output(load_json=True).first().run()


async def by_id(member_id: UUID) -> dict[str, Any] | None:
    return await MemberAccount.select(*_COLUMNS, *_CUSTOMER).where(MemberAccount.id == member_id).output(load_json=True).first().run()


async def by_customer(customer_id: UUID) -> dict[str, Any] | None:
    return await MemberAccount.select(*_COLUMNS, *_CUSTOMER).where(MemberAccount.customer == customer_id).output(load_json=True).first().run()


async def insert(values: dict[str, Any]) -> None:
    await MemberAccount.insert(MemberAccount(**values)).run()


async def update(member_id: UUID, values: dict[str, Any]) -> None:
    values = {**values, "updated_at": dt.datetime.now(dt.timezone.utc)}
    await MemberAccount.update({getattr(MemberAccount, k): v for k, v in values.items()}).where(MemberAccount.id == member_id).run()


async def set_password_hash(member_id: UUID, password_hash: str) -> None:
    await MemberAccount.update({MemberAccount.password_hash: password_hash}).where(MemberAccount.id == member_id).run()


async def touch_login(member_id: UUID, at: dt.datetime) -> None:
    await MemberAccount.update({MemberAccount.last_login_at: at}).where(MemberAccount.id == member_id).run()


async def delete_for_customer(customer_id: UUID) -> int:
    rows = await MemberAccount.delete().where(MemberAccount.customer == customer_id).returning(MemberAccount.id).run()
    return len(rows)


async def customer_exists(customer_id: UUID) -> bool:
    return await Customer.exists().where(Customer.id == customer_id).run()
