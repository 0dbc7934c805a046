"""Turning GraphQL inputs into validated domain values."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

import msgspec
import strawberry

from domain.errors import ValidationFailed

__all__ = ["parse_id", "to_struct"]

T = TypeVar("T")


def parse_id(value: Any, field: str = "id") -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} is not a valid id", extra={"field": field}) from None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def to_struct(obj: Any, struct: type[T]) -> T:
    """Convert a strawberry input (UNSET fields dropped) into a domain Struct, with the same
    validation as REST bodies get; failures are VALIDATION_FAILED naming the field."""
    data = {
        _camel(k): v for k, v in vars(obj).items() if v is not strawberry.UNSET and not k.startswith("_")
    }
    try:
        return msgspec.convert(data, struct, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(str(exc)) from None
