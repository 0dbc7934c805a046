"""Tablets: store managers (and HQ) register the devices that may sync, list them and revoke a
lost one. Revoking ends every session signed in from the device at once, and the device can
neither sign in nor sync again."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import devices as repo
from domain.errors import Conflict, Forbidden, NotFound
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.staff import Principal

__all__ = ["DeviceService", "DeviceRegistration", "DeviceView"]

DeviceId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class DeviceRegistration(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    id: DeviceId
    store_id: UUID
    label: Annotated[str, Meta(max_length=120)] = ""


class DeviceView(msgspec.Struct, rename="camel", kw_only=True):
    id: str
    store_id: UUID | None
    label: str
    registered_by: UUID | None
    created_at: dt.datetime
    last_sync_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _view(row: dict) -> DeviceView:
    return DeviceView(
        id=row["id"], store_id=row["store"], label=row["label"], registered_by=row["registered_by"],
        created_at=row["created_at"], last_sync_at=row["last_sync_at"], revoked_at=row["revoked_at"],
    )


class DeviceService:
    def __init__(self, policies: PolicyStore) -> None:
        self.policies = policies

    def _may_manage(self, principal: Principal, store_id: UUID | None) -> None:
        if not self.policies.current.allows(principal.role, "manage_devices"):
            raise Forbidden("Your role may not manage devices")
        if principal.role.value != "hq_admin" and (store_id is None or store_id not in principal.store_ids):
            raise Forbidden("You may only manage devices of your stores")

    async def register(self, principal: Principal, data: DeviceRegistration) -> DeviceView:
        self._may_manage(principal, data.store_id)
        if await repo.get(data.id) is not None:
            raise Conflict("A device with this id is already registered")
        now = dt.datetime.now(dt.timezone.utc)
        async with db.transaction():
            await repo.insert({"id": data.id, "store": data.store_id, "label": data.label, "registered_by": principal.staff_id, "created_at": now})
        row = await repo.get(data.id)
        assert row is not None
        return _view(row)

    async def list(self, principal: Principal, *, limit: int | None, cursor: str | None) -> Page[DeviceView]:
        self._may_manage(principal, next(iter(principal.store_ids), None) if principal.role.value != "hq_admin" else None)
        size = check_limit(limit)
        after = str(decode_cursor(cursor, 1)[0]) if cursor else None
        stores = None if principal.role.value == "hq_admin" else list(principal.store_ids)
        rows = await repo.page(stores, after, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return Page(items=[_view(r) for r in rows], next_cursor=encode_cursor([rows[-1]["id"]]) if more else None)

    async def revoke(self, principal: Principal, device_id: str) -> DeviceView:
        row = await repo.get(device_id)
        if row is None:
            raise NotFound("No such device")
        try:
            self._may_manage(principal, row["store"])
        except Forbidden:
            if self.policies.current.allows(principal.role, "manage_devices"):
                raise NotFound("No such device") from None  # another store's device: not disclosed
            raise
        async with db.transaction():
            await repo.revoke(device_id, dt.datetime.now(dt.timezone.utc))
        row = await repo.get(device_id)
        assert row is not None
        return _view(row)
