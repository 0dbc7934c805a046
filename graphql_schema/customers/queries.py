"""Customer queries."""

from __future__ import annotations

from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from graphql_schema.convert import parse_id
from graphql_schema.customers.types import Customer, CustomerConnection, CustomerEdge, PageInfo

__all__ = ["CustomerQueries"]


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="One customer, as your role may see them.")
    async def customer(self, info: Info, id: strawberry.ID) -> Customer:
        principal = await info.context.principal(info)
        return Customer.of(await info.context.services.customers.get(principal, parse_id(id)))

    @strawberry.field(description="Customers you can reach, ordered by name; `search` matches name (accents and typos forgiven), and phone, email or card number where you may read them, best matches first.")
    async def customers(
        self,
        info: Info,
        search: Optional[str] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 200.")] = 50,
        after: Optional[str] = None,
    ) -> CustomerConnection:
        principal = await info.context.principal(info)
        page, cursors = await info.context.services.customers.list_with_cursors(principal, query=search, limit=first, cursor=after, limit_name="first")
        edges = [CustomerEdge(cursor=cur, node=Customer.of(c)) for c, cur in zip(page.items, cursors)]
        return CustomerConnection(edges=edges, page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=cursors[-1] if cursors else None))
