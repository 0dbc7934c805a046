"""GraphQL types of client books and seller KPIs."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import strawberry

from domain import client_books as dcb
from domain import kpis as dk

__all__ = ["ClientBookFilterInput", "ReassignClientBookResult", "Money", "KpiFigures", "AssociateKpis", "KpiReport"]


@strawberry.input(description="All given conditions must hold; omit a condition to ignore it.")
class ClientBookFilterInput:
    vip: Optional[bool] = None
    lapsed_days: Optional[int] = strawberry.field(default=None, description="Bought before, but nothing in the last N days (1 to 3650).")
    birthday_within_days: Optional[int] = strawberry.field(default=None, description="Birthday today or in the next N days, across the new year (0 to 366).")
    min_lifetime_value: Optional[str] = strawberry.field(default=None, description="Lifetime value in EUR at least this, as a decimal string.")
    has_open_wishlist: Optional[bool] = strawberry.field(default=None, description="Has (or, with false, has no) unfulfilled wishlist item.")

    def values(self) -> dict[str, object]:
        return {
            "vip": self.vip, "lapsedDays": self.lapsed_days, "birthdayWithinDays": self.birthday_within_days,
            "minLifetimeValue": self.min_lifetime_value, "hasOpenWishlist": self.has_open_wishlist,
        }


@strawberry.type(description="What a reassignment moved. customerIds lists every customer changed.")
class ReassignClientBookResult:
    moved: int
    primary_moved: int
    secondary_moved: int
    skipped_restricted: int = strawberry.field(description="Customers left as they were because their processing is restricted (GDPR Art. 18).")
    customer_ids: list[strawberry.ID]

    @classmethod
    def of(cls, r: dcb.ReassignResult) -> "ReassignClientBookResult":
        return cls(
            moved=r.moved, primary_moved=r.primary_moved, secondary_moved=r.secondary_moved,
            skipped_restricted=r.skipped_restricted, customer_ids=[strawberry.ID(str(c)) for c in r.customer_ids],
        )


@strawberry.type(description="An amount as a decimal string in its currency.")
class Money:
    currency: str
    total: str


@strawberry.type
class KpiFigures:
    clients_contacted: int = strawberry.field(description="Distinct customers noted, followed up, met (appointment held) or given a wishlist item in the period.")
    follow_ups_due: int = strawberry.field(description="Follow-up tasks due in the period (and due by now).")
    follow_ups_on_time: int = strawberry.field(description="Of those, completed no later than their due time.")
    appointments_held: int
    influenced_sales: list[Money] = strawberry.field(description="Purchase totals in the period by customers whose primary associate the seller is, per currency.")

    @classmethod
    def of(cls, f: dk.KpiFigures) -> "KpiFigures":
        return cls(
            clients_contacted=f.clients_contacted, follow_ups_due=f.follow_ups_due, follow_ups_on_time=f.follow_ups_on_time,
            appointments_held=f.appointments_held, influenced_sales=[Money(currency=m.currency, total=m.total) for m in f.influenced_sales],
        )


@strawberry.type
class AssociateKpis:
    associate_id: strawberry.ID
    display_name: str
    figures: KpiFigures


@strawberry.type(description="Seller KPIs over [from, to). Aggregates only: no customer is named.")
class KpiReport:
    from_: dt.datetime = strawberry.field(name="from")
    to: dt.datetime
    store_id: Optional[strawberry.ID]
    associates: list[AssociateKpis]
    totals: KpiFigures

    @classmethod
    def of(cls, r: dk.KpiReport) -> "KpiReport":
        return cls(
            from_=r.from_, to=r.to, store_id=strawberry.ID(str(r.store_id)) if r.store_id else None,
            associates=[AssociateKpis(associate_id=strawberry.ID(str(a.associate_id)), display_name=a.display_name, figures=KpiFigures.of(a.figures)) for a in r.associates],
            totals=KpiFigures.of(r.totals),
        )
