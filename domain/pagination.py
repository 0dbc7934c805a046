"""Opaque cursors and pages shared by REST and GraphQL."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

import msgspec

from domain.errors import ValidationFailed

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "encode_cursor", "decode_cursor", "check_limit"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], rename="camel"):
    items: list[T]
    next_cursor: str | None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(key)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """Decode a cursor produced by :func:`encode_cursor`; anything else is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw)
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a bad cursor
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from exc
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, (str, int)) for k in key):
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"})
    return key


def check_limit(limit: int | None, name: str = "limit") -> int:
    """Default 50, at most 200; anything outside 1..200 is a 400, never silently clamped.
    ``name`` is the parameter as the caller spelled it (``limit`` in REST, ``first`` in GraphQL)."""
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(f"{name} must be between 1 and {MAX_LIMIT}", extra={"field": name})
    return limit
