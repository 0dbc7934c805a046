"""Seller KPIs over a period: aggregates only, never personal data.

* ``clientsContacted``: distinct customers the seller noted, completed a follow-up for, held
  an appointment with, or added a wishlist item for in the period.
* ``followUpsDue`` / ``followUpsOnTime``: tasks assigned to the seller and due in the period
  (and already due now), and those of them completed no later than their due time.
* ``appointmentsHeld``: the seller's appointments starting in the period marked held.
* ``influencedSales``: purchase totals in the period by customers whose primary associate is
  the seller, per currency (decimal strings; currencies are never added together).
"""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec

from domain.errors import ValidationFailed

__all__ = ["Money", "KpiFigures", "AssociateKpis", "KpiReport", "MAX_PERIOD", "DEFAULT_PERIOD", "check_period"]

MAX_PERIOD = dt.timedelta(days=400)
DEFAULT_PERIOD = dt.timedelta(days=30)


class Money(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    currency: str
    total: str


class KpiFigures(msgspec.Struct, rename="camel", kw_only=True):
    clients_contacted: int
    follow_ups_due: int
    follow_ups_on_time: int
    appointments_held: int
    influenced_sales: list[Money]


class AssociateKpis(msgspec.Struct, rename="camel", kw_only=True):
    associate_id: UUID
    display_name: str
    figures: KpiFigures


class KpiReport(msgspec.Struct, rename="camel", kw_only=True):
    """Figures per seller and for them all together (``totals``: distinct clients across the
    sellers, sums of the rest). ``storeId``: only activity on that store's customers."""

    from_: dt.datetime = msgspec.field(name="from")
    to: dt.datetime
    store_id: UUID | None
    associates: list[AssociateKpis]
    totals: KpiFigures


def check_period(since: dt.datetime | None, until: dt.datetime | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """``[from, to)`` with defaults (the last 30 days), time zones required, at most 400 days."""
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise ValidationFailed(f"{name} needs a time zone (e.g. 2026-11-01T00:00:00Z)", extra={"field": name})
    until = until or now
    try:
        since = since or until - DEFAULT_PERIOD
        if since >= until:
            raise ValidationFailed("from must be before to", extra={"field": "from"})
        if until - since > MAX_PERIOD:
            raise ValidationFailed("The period is at most 400 days", extra={"field": "from"})
        return since.astimezone(dt.timezone.utc), until.astimezone(dt.timezone.utc)
    except OverflowError:  # instants at the ends of the calendar (year 1, year 9999)
        raise ValidationFailed("The period is outside the supported dates", extra={"field": "to" if since is None else "from"}) from None
