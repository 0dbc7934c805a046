"""Consent queries: notice texts and a customer's consent ledger."""

from __future__ import annotations

from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from graphql_schema.consents.types import ConsentConnection, ConsentEdge, ConsentNotice, ConsentRecord, ConsentState
from graphql_schema.convert import parse_id
from graphql_schema.customers.types import PageInfo

__all__ = ["ConsentQueries"]


@strawberry.type
class ConsentQueries:
    @strawberry.field(description="Published consent notice texts, newest first (the first per purpose and language is the one to show).")
    async def consent_notices(
        self,
        info: Info,
        purpose: Optional[str] = None,
        language: Optional[str] = None,
        first: Annotated[int, strawberry.argument(description="At most 200.")] = 50,
    ) -> list[ConsentNotice]:
        principal = await info.context.principal(info)
        page = await info.context.services.consents.notices(principal, purpose=purpose, language=language, limit=first)
        return [ConsentNotice.of(n) for n in page.items]

    @strawberry.field(description="A customer's consent ledger, newest first by occurredAt, with the current state per purpose. Audited.")
    async def customer_consents(
        self,
        info: Info,
        customer_id: strawberry.ID,
        purpose: Optional[str] = None,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 200.")] = 50,
        after: Optional[str] = None,
    ) -> ConsentConnection:
        principal = await info.context.principal(info)
        history, cursors = await info.context.services.consents.history_with_cursors(
            principal, parse_id(customer_id, "customerId"), purpose=purpose, limit=first, cursor=after
        )
        edges = [ConsentEdge(cursor=cur, node=ConsentRecord.of(r)) for r, cur in zip(history.items, cursors)]
        return ConsentConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=history.next_cursor is not None, end_cursor=cursors[-1] if cursors else None),
            current=[ConsentState.of(s) for s in history.current],
        )
