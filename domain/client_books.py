"""Client books on the wire: the filters a seller uses, and reassigning a book.

A client book is the set of customers whose primary or secondary associate a seller is.
Filters narrow a book (or a store's clients) to the customers worth a call today: VIPs,
lapsed clients, birthdays coming up, high lifetime value, an open wishlist.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.errors import ValidationFailed

__all__ = [
    "ClientBookFilter",
    "ReassignRequest",
    "ReassignResult",
    "MAX_LAPSED_DAYS",
    "MAX_BIRTHDAY_WINDOW",
    "parse_filter",
    "lapsed_before",
]

MAX_LAPSED_DAYS = 3650
MAX_BIRTHDAY_WINDOW = 366

# A non-negative amount in EUR with at most two decimals ("1500", "1500.50").
Amount = Annotated[str, Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$")]


class ClientBookFilter(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """All given conditions must hold. ``lapsedDays``: bought before, but nothing in the last
    N days. ``birthdayWithinDays``: birthday today or in the next N days (crossing the new
    year). ``minLifetimeValue``: lifetime value in EUR at least this (decimal string)."""

    vip: bool | None = None
    lapsed_days: Annotated[int, Meta(ge=1, le=MAX_LAPSED_DAYS)] | None = None
    birthday_within_days: Annotated[int, Meta(ge=0, le=MAX_BIRTHDAY_WINDOW)] | None = None
    min_lifetime_value: Amount | None = None
    has_open_wishlist: bool | None = None

    def min_value(self) -> Decimal | None:
        return Decimal(self.min_lifetime_value) if self.min_lifetime_value is not None else None

    def used(self) -> list[str]:
        """The conditions given, by snake-case name."""
        return [name for name in self.__struct_fields__ if getattr(self, name) is not None]


def parse_filter(values: dict[str, object]) -> ClientBookFilter:
    """Validate filter values given by wire (camelCase) name; a bad one is a 400 naming it."""
    try:
        return msgspec.convert({k: v for k, v in values.items() if v is not None}, ClientBookFilter)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(f"Invalid client book filter: {exc}") from None


def lapsed_before(now: dt.datetime, days: int) -> dt.datetime:
    """The instant before which the last purchase must lie for a client to count as lapsed."""
    return now - dt.timedelta(days=days)


class ReassignRequest(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Move a seller's book in one store to another seller (for instance when one leaves)."""

    from_associate_id: UUID
    to_associate_id: UUID
    store_id: UUID


class ReassignResult(msgspec.Struct, rename="camel", kw_only=True):
    """What moved: customers whose primary and whose secondary associate changed (one
    customer may count in both), and those left alone because their processing is restricted
    (GDPR Art. 18)."""

    moved: int
    primary_moved: int
    secondary_moved: int
    skipped_restricted: int
    customer_ids: list[UUID]
