"""Registered tablets."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from clienteling.tables import AuthSession, Device

__all__ = ["get", "insert", "page", "revoke"]


async def get(device_id: str) -> dict[str, Any] | None:
    return await Device.select().where(Device.id == device_id).first().run()


async def insert(values: dict[str, Any]) -> None:
    await Device.insert(Device(**values)).run()


async def page(store_ids: list[UUID] | None, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Devices ordered by id, of the given stores (``None``: all), after the id ``after``."""
    query = Device.select()
    if store_ids is not None:
        if not store_ids:
            return []
        query = query.where(Device.store.is_in(store_ids))
    if after is not None:
        query = query.where(Device.id > after)
    return await query.order_by(Device.id).limit(limit).run()


async def revoke(device_id: str, when: dt.datetime) -> None:
    """Mark the device revoked and end every session signed in from it."""
    await Device.update({Device.revoked_at: when}).where((Device.id == device_id) & Device.revoked_at.is_null()).run()
    await AuthSession.update({AuthSession.revoked_at: when, AuthSession.revoked_reason: "device_revoked"}).where(
        (AuthSession.device_id == device_id) & AuthSession.revoked_at.is_null()
    ).run()
