"""Stored first answers of keyed POSTs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from clienteling.tables import IdempotencyRecord

__all__ = ["claim", "get", "complete", "release", "purge_mentioning", "purge_expired"]


async def claim(record_id: str, *, method: str, path: str, body_sha256: str) -> bool:
    """Insert an in-flight record; False if one exists (another try of the same key)."""
    rows = await IdempotencyRecord.raw(
        "INSERT INTO idempotency_record (id, method, path, body_sha256, created_at) "
        "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (id) DO NOTHING RETURNING id",
        record_id, method, path, body_sha256, dt.datetime.now(dt.timezone.utc),
    ).run()
    return bool(rows)


async def get(record_id: str) -> dict[str, Any] | None:
    return await IdempotencyRecord.select().where(IdempotencyRecord.id == record_id).first().run()


async def complete(record_id: str, *, status_code: int, content_type: str | None, body: str) -> None:
    await IdempotencyRecord.update(
        {
            IdempotencyRecord.status_code: status_code,
            IdempotencyRecord.content_type: content_type,
            IdempotencyRecord.response_body: body,
            IdempotencyRecord.completed_at: dt.datetime.now(dt.timezone.utc),
        }
    ).where(IdempotencyRecord.id == record_id).run()


async def release(record_id: str) -> None:
    """Forget an in-flight claim whose request failed, so a retry can run."""
    await IdempotencyRecord.delete().where(
        (IdempotencyRecord.id == record_id) & IdempotencyRecord.completed_at.is_null()
    ).run()


async def purge_mentioning(text: str) -> None:
    """Delete stored answers whose path or body mention ``text`` (a customer id)."""
    await IdempotencyRecord.delete().where(
        IdempotencyRecord.path.like(f"%{text}%") | IdempotencyRecord.response_body.like(f"%{text}%")
    ).run()


async def purge_expired(before: dt.datetime) -> None:
    await IdempotencyRecord.delete().where(IdempotencyRecord.created_at < before).run()
