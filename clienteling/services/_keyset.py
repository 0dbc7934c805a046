"""Opaque keyset cursors over (instant, id): a timestamp and a record id, no personal data."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from domain.errors import ValidationFailed
from domain.pagination import decode_cursor, encode_cursor

__all__ = ["instant_cursor", "after_instant"]


def instant_cursor(at: dt.datetime, record_id: UUID) -> str:
    return encode_cursor([at.astimezone(dt.timezone.utc).isoformat(), str(record_id)])


def after_instant(cursor: str | None) -> tuple[dt.datetime, UUID] | None:
    """The position a cursor from :func:`instant_cursor` names; anything else is a 400."""
    if not cursor:
        return None
    at, last = decode_cursor(cursor, 2)
    try:
        when = dt.datetime.fromisoformat(str(at))
        record_id = UUID(str(last))
    except ValueError:
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None
    if when.tzinfo is None:
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"})
    return when, record_id
