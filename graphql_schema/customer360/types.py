"""GraphQL types of the customer 360, built from permission-filtered domain views.

This module must not import ``graphql_schema.customers.types`` at import time (that module
imports this area to add the 360 fields to ``Customer``): shared types are lazy.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Annotated, Optional

import strawberry

from domain import customer360 as d360
from domain.loyalty import LoyaltyStatus

if TYPE_CHECKING:
    from graphql_schema.customers.types import PageInfo

__all__ = ["Loyalty", "PurchaseLine", "Purchase", "PurchaseEdge", "PurchaseConnection", "ConsentSummary", "TimelineEvent", "TimelineKind"]

PageInfoRef = Annotated["PageInfo", strawberry.lazy("graphql_schema.customers.types")]


@strawberry.type(description="Loyalty standing. Parts your role may not read are null; nextTier is null at the top tier.")
class Loyalty:
    tier: Optional[str]
    points: Optional[int]
    next_tier: Optional[str]
    points_to_next_tier: Optional[int] = strawberry.field(description="Points still needed to reach nextTier.")

    @classmethod
    def of(cls, s: LoyaltyStatus) -> "Loyalty":
        return cls(tier=s.tier, points=s.points, next_tier=s.next_tier, points_to_next_tier=s.points_to_next_tier)


@strawberry.type
class PurchaseLine:
    sku: str
    name: str
    quantity: int
    unit_price: str = strawberry.field(description="Decimal string, in the purchase's currency.")


@strawberry.type(description="A store or online purchase. Amounts are decimal strings in `currency`; fields your role may not read are null.")
class Purchase:
    id: strawberry.ID
    customer_id: strawberry.ID
    occurred_at: Optional[dt.datetime]
    channel: Optional[str] = strawberry.field(description="store or online.")
    store_id: Optional[strawberry.ID]
    currency: Optional[str]
    total: Optional[str]
    lines: Optional[list[PurchaseLine]]

    @classmethod
    def of(cls, p: d360.PurchaseView) -> "Purchase":
        return cls(
            id=strawberry.ID(str(p.id)), customer_id=strawberry.ID(str(p.customer_id)), occurred_at=p.occurred_at,
            channel=p.channel, store_id=strawberry.ID(str(p.store_id)) if p.store_id else None, currency=p.currency,
            total=p.total,
            lines=[PurchaseLine(sku=ln.sku, name=ln.name, quantity=ln.quantity, unit_price=ln.unit_price) for ln in p.lines] if p.lines is not None else None,
        )


@strawberry.type
class PurchaseEdge:
    cursor: str
    node: Purchase


@strawberry.type(description="A page of purchases, newest first (Relay-style cursor connection).")
class PurchaseConnection:
    edges: list[PurchaseEdge]
    page_info: PageInfoRef


@strawberry.type(name="ConsentSummary", description="Where the customer stands on one consent purpose now. `granted` is the answer to act on (an expired grant is not granted); null where your role may not read it.")
class ConsentSummary:
    purpose: str
    granted: Optional[bool]
    since: Optional[dt.datetime]
    expires_at: Optional[dt.datetime]

    @classmethod
    def of(cls, s: d360.ConsentSummary) -> "ConsentSummary":
        return cls(purpose=s.purpose, granted=s.granted, since=s.since, expires_at=s.expires_at)


@strawberry.enum(description="What happened.")
class TimelineKind(enum.Enum):
    PURCHASE = "purchase"
    RETURN = "return"
    NOTE = "note"
    CHECK_IN = "check_in"
    APPOINTMENT = "appointment"
    TASK_COMPLETED = "task_completed"
    CONSENT = "consent"


@strawberry.type(description="One event of the customer's timeline. `summary` is fixed wording built from fields you may read (never free text); open the record by `refId` for more.")
class TimelineEvent:
    kind: TimelineKind
    occurred_at: dt.datetime
    summary: str
    ref_id: strawberry.ID

    @classmethod
    def of(cls, e: d360.TimelineEvent) -> "TimelineEvent":
        return cls(kind=TimelineKind(e.kind), occurred_at=e.occurred_at, summary=e.summary, ref_id=strawberry.ID(str(e.ref_id)))
