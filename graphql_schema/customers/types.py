"""GraphQL types of the customers area, built from permission-filtered domain views."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain import customers as dc
from domain import notes as dn
from graphql_schema.customer360 import fields as c360
from graphql_schema.customer360 import workflow_fields as c360_workflows

__all__ = [
    "Customer", "Note", "Store", "CustomerEdge", "CustomerConnection", "PageInfo", "CustomerUpdateInput",
    "CustomerCreateInput", "CreateCustomerPayload", "NoteInput",
]


@strawberry.type(description="A store of the retailer.")
class Store:
    id: strawberry.ID
    code: str
    name: str
    city: str
    country: str
    timezone: str

    @classmethod
    def of(cls, s) -> "Store":  # noqa: ANN001
        return cls(id=strawberry.ID(str(s.id)), code=s.code, name=s.name, city=s.city, country=s.country, timezone=s.timezone)




@strawberry.type(description="A seller's note on a customer. Private notes are visible to their author only.")
class Note:
    id: strawberry.ID
    customer_id: strawberry.ID
    author_id: Optional[strawberry.ID]
    body: Optional[str]
    pinned: Optional[bool]
    visibility: Optional[str]
    created_at: Optional[dt.datetime]
    updated_at: Optional[dt.datetime]

    @classmethod
    def of(cls, n: dn.Note) -> "Note":
        return cls(
            id=strawberry.ID(str(n.id)), customer_id=strawberry.ID(str(n.customer_id)),
            author_id=strawberry.ID(str(n.author_id)) if n.author_id else None, body=n.body,
            pinned=n.pinned, visibility=n.visibility, created_at=n.created_at, updated_at=n.updated_at,
        )


@strawberry.type(
    description=(
        "A customer as the caller may see them. Fields the caller's role may not read are null; "
        "masked fields carry a masked value (e.g. a•••@example.com). `myPermissions` tells which, without an error."
    )
)
class Customer:
    id: strawberry.ID
    first_name: Optional[str]
    last_name: Optional[str]
    email: Optional[str]
    phone: Optional[str]
    birthdate: Optional[str] = strawberry.field(description="ISO date, or --MM-DD when masked.")
    language: Optional[str]
    home_store_id: Optional[strawberry.ID]
    primary_associate_id: Optional[strawberry.ID]
    secondary_associate_id: Optional[strawberry.ID]
    sizes: Optional[JSON]
    preferences: Optional[JSON]
    tags: Optional[list[str]]
    vip: Optional[bool]
    loyalty_number: Optional[str]
    loyalty_tier: Optional[str]
    loyalty_points: Optional[int]
    created_at: Optional[dt.datetime]
    updated_at: Optional[dt.datetime]
    version: int = strawberry.field(description="Increases on every change; pass it as expectedVersion to update safely.")

    @strawberry.field(description="The customer's home store.")
    async def home_store(self, info: Info) -> Optional[Store]:
        if self.home_store_id is None:
            return None
        from uuid import UUID

        found = await info.context.store(UUID(str(self.home_store_id)))
        return Store.of(found) if found else None

    @strawberry.field(description="Notes visible to the caller, pinned first, newest first. Null, with a FORBIDDEN error on this field only, for roles that may not read notes.")
    async def notes(self, info: Info, first: Annotated[int, strawberry.argument(description="At most 100.")] = 20) -> Optional[list[Note]]:
        from uuid import UUID

        from domain.errors import ValidationFailed

        if first < 1 or first > 100:
            raise ValidationFailed("first must be between 1 and 100", extra={"field": "first"})
        notes = await info.context.notes_of(UUID(str(self.id)))
        return [Note.of(n) for n in notes[:first]]

    # Customer 360 (graphql_schema/customer360): loyalty, purchases, consent summary, timeline.
    loyalty = c360.loyalty_field
    purchases = c360.purchases_field
    consent_summary = c360.consent_summary_field
    timeline = c360.timeline_field
    wishlist = c360_workflows.wishlist_field
    open_tasks = c360_workflows.open_tasks_field
    upcoming_appointments = c360_workflows.upcoming_appointments_field

    @classmethod
    def of(cls, c: dc.Customer) -> "Customer":
        def ident(v):  # noqa: ANN001, ANN202
            return strawberry.ID(str(v)) if v is not None else None

        return cls(
            id=strawberry.ID(str(c.id)), first_name=c.first_name, last_name=c.last_name, email=c.email,
            phone=c.phone, birthdate=c.birthdate, language=c.language, home_store_id=ident(c.home_store_id),
            primary_associate_id=ident(c.primary_associate_id), secondary_associate_id=ident(c.secondary_associate_id),
            sizes=c.sizes, preferences=c.preferences, tags=c.tags, vip=c.vip, loyalty_number=c.loyalty_number,
            loyalty_tier=c.loyalty_tier, loyalty_points=c.loyalty_points, created_at=c.created_at,
            updated_at=c.updated_at, version=c.version,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type(description="A page of customers (Relay-style cursor connection).")
class CustomerConnection:
    edges: list[CustomerEdge]
    page_info: PageInfo


@strawberry.input(description="A partial update: omitted fields stay as they are; null clears a field.")
class CustomerUpdateInput:
    first_name: Optional[str] = strawberry.UNSET
    last_name: Optional[str] = strawberry.UNSET
    email: Optional[str] = strawberry.UNSET
    phone: Optional[str] = strawberry.UNSET
    birthdate: Optional[dt.date] = strawberry.UNSET
    language: Optional[str] = strawberry.UNSET
    home_store_id: Optional[strawberry.ID] = strawberry.UNSET
    primary_associate_id: Optional[strawberry.ID] = strawberry.UNSET
    secondary_associate_id: Optional[strawberry.ID] = strawberry.UNSET
    sizes: Optional[JSON] = strawberry.UNSET
    preferences: Optional[JSON] = strawberry.UNSET
    tags: Optional[list[str]] = strawberry.UNSET
    vip: Optional[bool] = strawberry.UNSET


@strawberry.input(description="A new customer. Fields left out take their defaults (language en, no sizes, not VIP).")
class CustomerCreateInput:
    first_name: str
    last_name: str
    home_store_id: strawberry.ID
    email: Optional[str] = strawberry.UNSET
    phone: Optional[str] = strawberry.UNSET
    birthdate: Optional[dt.date] = strawberry.UNSET
    language: Optional[str] = strawberry.UNSET
    primary_associate_id: Optional[strawberry.ID] = strawberry.UNSET
    secondary_associate_id: Optional[strawberry.ID] = strawberry.UNSET
    sizes: Optional[JSON] = strawberry.UNSET
    preferences: Optional[JSON] = strawberry.UNSET
    tags: Optional[list[str]] = strawberry.UNSET
    vip: Optional[bool] = strawberry.UNSET


@strawberry.type(
    description=(
        "The outcome of createCustomer: the new customer, or, when nothing was created because "
        "customers you can reach look like the same person (same email or phone, or a similar "
        "name and the same birthday), those customers as you may see them. Call again with "
        "confirmDuplicate: true to create anyway."
    )
)
class CreateCustomerPayload:
    customer: Optional[Customer]
    duplicate_candidates: list[Customer]


@strawberry.input
class NoteInput:
    body: str
    pinned: bool = False
    visibility: str = "shared"
