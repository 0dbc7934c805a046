"""Client book and KPI queries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from domain.client_books import parse_filter
from graphql_schema.client_books.types import ClientBookFilterInput, KpiReport
from graphql_schema.convert import parse_id
from graphql_schema.customers.types import Customer, CustomerConnection, CustomerEdge, PageInfo

__all__ = ["ClientBookQueries"]

_FIRST = Annotated[int, strawberry.argument(description="Page size, 1 to 200.")]


def _connection(page, cursors: list[str]) -> CustomerConnection:  # noqa: ANN001
    edges = [CustomerEdge(cursor=cur, node=Customer.of(c)) for c, cur in zip(page.items, cursors)]
    return CustomerConnection(edges=edges, page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=cursors[-1] if cursors else None))


@strawberry.type
class ClientBookQueries:
    @strawberry.field(description="Your client book (customers you are primary or secondary associate of), by name, filtered. Audited.")
    async def my_clients(self, info: Info, filter: Optional[ClientBookFilterInput] = None, first: _FIRST = 50, after: Optional[str] = None) -> CustomerConnection:
        principal = await info.context.principal(info)
        filters = parse_filter(filter.values() if filter else {})
        page, cursors = await info.context.services.client_books.mine(principal, filters, limit=first, cursor=after, limit_name="first")
        return _connection(page, cursors)

    @strawberry.field(description="The clients of one of your stores, by name, filtered. Audited.")
    async def store_clients(self, info: Info, store_id: strawberry.ID, filter: Optional[ClientBookFilterInput] = None, first: _FIRST = 50, after: Optional[str] = None) -> CustomerConnection:
        principal = await info.context.principal(info)
        filters = parse_filter(filter.values() if filter else {})
        page, cursors = await info.context.services.client_books.store_clients(
            principal, parse_id(store_id, "storeId"), filters, limit=first, cursor=after, limit_name="first"
        )
        return _connection(page, cursors)

    @strawberry.field(description="Seller KPIs over [from, to) (default: the last 30 days): your own, or with storeId every seller of a store you manage.")
    async def kpis(
        self,
        info: Info,
        store_id: Optional[strawberry.ID] = None,
        associate_id: Optional[strawberry.ID] = None,
        from_: Annotated[Optional[dt.datetime], strawberry.argument(name="from")] = None,
        to: Optional[dt.datetime] = None,
    ) -> KpiReport:
        principal = await info.context.principal(info)
        report = await info.context.services.kpis.report(
            principal,
            store_id=parse_id(store_id, "storeId") if store_id else None,
            associate_id=parse_id(associate_id, "associateId") if associate_id else None,
            since=from_, until=to,
        )
        return KpiReport.of(report)
