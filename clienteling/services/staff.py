"""Staff profile and store look-ups."""

from __future__ import annotations

from uuid import UUID

import msgspec

from clienteling.repositories import staff as repo
from domain.errors import TokenInvalid
from domain.staff import Principal, Role, StaffView

__all__ = ["StaffService", "StoreView"]


class StoreView(msgspec.Struct, rename="camel", frozen=True):
    id: UUID
    code: str
    name: str
    city: str
    country: str
    timezone: str


def _store(row: dict) -> StoreView:
    return StoreView(id=row["id"], code=row["code"], name=row["name"], city=row["city"], country=row["country"], timezone=row["timezone"])


class StaffService:
    async def me(self, principal: Principal) -> StaffView:
        row = await repo.by_id(principal.staff_id)
        if row is None:
            raise TokenInvalid("The account no longer exists")
        return StaffView(id=row["id"], email=row["email"], display_name=row["display_name"], role=Role(row["role"]), store_ids=sorted(principal.store_ids, key=str))

    async def stores_by_ids(self, ids: list[UUID]) -> dict[UUID, StoreView]:
        return {r["id"]: _store(r) for r in await repo.stores_by_ids(ids)}

    async def stores(self) -> list[StoreView]:
        return [_store(r) for r in await repo.all_stores()]
