"""The transactional outbox, as services use it: ``emit`` inside the transaction of the
change being announced, so the event exists exactly when the change does (both commit or
neither). The push worker reads it (``push.worker``)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from clienteling.repositories import outbox as repo

__all__ = ["emit"]


async def emit(kind: str, *, dedup_key: str, occurred_at: dt.datetime, customer: UUID | None = None, store: UUID | None = None, data: dict[str, Any] | None = None) -> bool:
    """Record an event; an event with the same ``dedup_key`` is written once (True if this
    call wrote it). ``data`` carries ids and numbers only, never personal values."""
    return await repo.add(kind=kind, dedup_key=dedup_key, occurred_at=occurred_at, customer=customer, store=store, data=data)
