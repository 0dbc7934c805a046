"""Staff, stores and store membership."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from clienteling.tables import Staff, StaffStore, Store

__all__ = ["by_email", "by_id", "store_ids_for", "set_password_hash", "insert_staff", "insert_store", "all_stores", "stores_by_ids"]


async def by_email(email: str) -> dict[str, Any] | None:
    return await Staff.select().where(Staff.email == email.strip().lower()).first().run()


async def by_id(staff_id: UUID) -> dict[str, Any] | None:
    return await Staff.select().where(Staff.id == staff_id).first().run()


async def store_ids_for(staff_id: UUID) -> list[UUID]:
    rows = await StaffStore.select(StaffStore.store).where(StaffStore.staff == staff_id).run()
    return sorted((r["store"] for r in rows), key=str)


async def set_password_hash(staff_id: UUID, password_hash: str) -> None:
    await Staff.update(
        {Staff.password_hash: password_hash, Staff.updated_at: dt.datetime.now(dt.timezone.utc)}
    ).where(Staff.id == staff_id).run()


async def insert_staff(*, staff_id: UUID, email: str, display_name: str, role: str, password_hash: str, store_ids: list[UUID]) -> None:
    await Staff.insert(
        Staff(id=staff_id, email=email.strip().lower(), display_name=display_name, role=role, password_hash=password_hash)
    ).run()
    if store_ids:
        await StaffStore.insert(*[StaffStore(staff=staff_id, store=s) for s in store_ids]).run()


async def insert_store(*, store_id: UUID, code: str, name: str, city: str, country: str, timezone: str) -> None:
    await Store.insert(Store(id=store_id, code=code, name=name, city=city, country=country, timezone=timezone)).run()


async def all_stores() -> list[dict[str, Any]]:
    return await Store.select().order_by(Store.code).run()


async def stores_by_ids(ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    return await Store.select().where(Store.id.is_in(ids)).run()
