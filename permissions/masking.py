"""Masking functions: enough to recognise a value with the customer in front of you, not
enough to contact them."""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["mask", "mask_email", "mask_phone", "mask_birthdate"]

DOT = "•••"


def mask_email(email: str) -> str:
    """``ana.garcia@example.com`` -> ``a•••@example.com``."""
    local, sep, domain = email.partition("@")
    if not sep:
        return DOT
    return f"{local[:1]}{DOT}@{domain}"


def mask_phone(phone: str) -> str:
    """Keep the last three digits only: ``+34 612 345 678`` -> ``•••678``."""
    digits = [c for c in phone if c.isdigit()]
    return DOT + "".join(digits[-3:]) if len(digits) > 3 else DOT


def mask_birthdate(value: dt.date | str) -> str:
    """Day and month without the year, ISO 8601 style: ``--05-17``."""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return f"--{value.month:02d}-{value.day:02d}"


def mask(field: str, value: Any) -> Any:
    """The masked form of ``value`` for ``field``; ``None`` stays ``None``."""
    if value is None:
        return None
    if field == "email":
        return mask_email(str(value))
    if field == "phone":
        return mask_phone(str(value))
    if field == "birthdate":
        return mask_birthdate(value)
    if isinstance(value, str):
        return value[:1] + DOT if value else value
    # Structured values (sizes, preferences, numbers) have no partial form.
    return None
