"""Client books and seller KPIs over REST."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.client_books import ReassignRequest, ReassignResult, parse_filter
from domain.customers import Customer
from domain.kpis import KpiReport
from domain.pagination import Page
from domain.staff import Principal

__all__ = ["ClientBookController"]

Vip = Annotated[bool | None, QueryParameter(description="Only VIPs (true) or only non-VIPs (false)")]
Lapsed = Annotated[int | None, QueryParameter(name="lapsedDays", description="Bought before, but nothing in the last N days (1 to 3650)")]
Birthday = Annotated[int | None, QueryParameter(name="birthdayWithinDays", description="Birthday today or in the next N days (0 to 366)")]
MinValue = Annotated[str | None, QueryParameter(name="minLifetimeValue", description="Lifetime value in EUR at least this (decimal string)")]
Wishlist = Annotated[bool | None, QueryParameter(name="hasOpenWishlist", description="Has (true) or has no (false) unfulfilled wishlist item")]
Limit = Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")]
Cursor = Annotated[str | None, QueryParameter(description="nextCursor of the previous page")]


def _filters(vip: bool | None, lapsed: int | None, birthday: int | None, min_value: str | None, wishlist: bool | None):  # noqa: ANN202
    return parse_filter({
        "vip": vip, "lapsedDays": lapsed, "birthdayWithinDays": birthday,
        "minLifetimeValue": min_value, "hasOpenWishlist": wishlist,
    })


class ClientBookController(Controller):
    path = "/api/v1"
    tags = ["client books"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/client-books/me", summary="My client book, filtered")
    async def my_clients(
        self, request: Request, principal: NamedDependency[Principal],
        vip: Vip = None, lapsed_days: Lapsed = None, birthday_within_days: Birthday = None,
        min_lifetime_value: MinValue = None, has_open_wishlist: Wishlist = None, limit: Limit = None, cursor: Cursor = None,
    ) -> Page[Customer]:
        """Customers you are primary or secondary associate of, by name, as your role may see
        them. A filter on something your role may not read is refused (403). Audited."""
        filters = _filters(vip, lapsed_days, birthday_within_days, min_lifetime_value, has_open_wishlist)
        page, _ = await services_of(request).client_books.mine(principal, filters, limit=limit, cursor=cursor)
        return page

    @get("/stores/{store_id:uuid}/clients", summary="The clients of one of my stores, filtered")
    async def store_clients(
        self, request: Request, principal: NamedDependency[Principal], store_id: FromPath[UUID],
        vip: Vip = None, lapsed_days: Lapsed = None, birthday_within_days: Birthday = None,
        min_lifetime_value: MinValue = None, has_open_wishlist: Wishlist = None, limit: Limit = None, cursor: Cursor = None,
    ) -> Page[Customer]:
        """Customers whose home store this is. Sellers and managers of the store, and roles
        whose scope is every store. Audited."""
        filters = _filters(vip, lapsed_days, birthday_within_days, min_lifetime_value, has_open_wishlist)
        page, _ = await services_of(request).client_books.store_clients(principal, store_id, filters, limit=limit, cursor=cursor)
        return page

    @post("/client-books/reassign", summary="Move a seller's client book to another seller", status_code=200)
    async def reassign(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[ReassignRequest]) -> ReassignResult:
        """Every client of `storeId` whose primary or secondary associate is
        `fromAssociateId` goes to `toAssociateId`, in one transaction. Capability
        `reassign_client_book` (store managers for their stores, hq for any). Audited as one
        `update` naming every customer changed."""
        return await services_of(request).client_books.reassign(principal, data)

    @get("/kpis", summary="Seller KPIs over a period")
    async def kpis(
        self, request: Request, principal: NamedDependency[Principal],
        store_id: Annotated[UUID | None, QueryParameter(name="storeId", description="Every seller of this store, counting only its customers")] = None,
        associate_id: Annotated[UUID | None, QueryParameter(name="associateId", description="One seller (default: you)")] = None,
        from_: Annotated[dt.datetime | None, QueryParameter(name="from", description="From this instant (inclusive); default 30 days before `to`")] = None,
        to: Annotated[dt.datetime | None, QueryParameter(description="Up to this instant (exclusive); default now")] = None,
    ) -> KpiReport:
        """Clients contacted, follow-ups completed on time, appointments held and influenced
        sales. Aggregates only: not audited."""
        return await services_of(request).kpis.report(principal, store_id=store_id, associate_id=associate_id, since=from_, until=to)
