"""The customer 360 fields of ``Customer`` and their per-request dataloaders.

``Customer`` (``graphql_schema/customers/types.py``) mounts these fields. Each kind has one
batch function, built per request through the context's ``loader(name, batch)``, so a query
asking for the 360 of one customer or of a page of customers costs the same fixed number of
statements per kind. Reaching the customers (rows and consent ledgers) is itself one loader
shared by the others.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional
from uuid import UUID

import strawberry
from strawberry.types import Info

from domain.loyalty import loyalty_status
from graphql_schema.customer360.types import ConsentSummary, Loyalty, Purchase, PurchaseConnection, PurchaseEdge, TimelineEvent

__all__ = ["loyalty_field", "purchases_field", "consent_summary_field", "timeline_field"]


def _customer_id(root: Any) -> UUID:
    return UUID(str(root.id))


async def _reached(info: Info, ids: list[UUID]) -> dict[UUID, Any]:
    ctx = info.context
    principal = await ctx.principal(info)

    async def batch(keys: list[UUID]) -> list[Any]:
        found = await ctx.services.customer360.reach(principal, list(keys))
        return [found.get(k) for k in keys]

    loaded = await ctx.loader("c360.reach", batch).load_many(ids)
    return {i: r for i, r in zip(ids, loaded) if r is not None}


def _loyalty(root: Any) -> Optional[Loyalty]:
    status = loyalty_status(root.loyalty_tier, root.loyalty_points)
    return Loyalty.of(status) if status is not None else None


async def _purchases(
    root: Any,
    info: Info,
    first: Annotated[int, strawberry.argument(description="Page size, 1 to 200.")] = 10,
    after: Optional[str] = None,
) -> Optional[PurchaseConnection]:
    ctx = info.context
    principal = await ctx.principal(info)

    async def batch(keys: list[tuple[UUID, int, Optional[str]]]) -> list[Any]:
        reached = await _reached(info, list(dict.fromkeys(k[0] for k in keys)))
        pages = await ctx.services.customer360.purchases(principal, reached, list(keys))
        return [pages[k] for k in keys]

    page, cursors = await ctx.loader("c360.purchases", batch).load((_customer_id(root), first, after))
    from graphql_schema.customers.types import PageInfo

    edges = [PurchaseEdge(cursor=cur, node=Purchase.of(p)) for p, cur in zip(page.items, cursors)]
    return PurchaseConnection(edges=edges, page_info=PageInfo(has_next_page=page.next_cursor is not None, end_cursor=cursors[-1] if cursors else None))


async def _consent_summary(root: Any, info: Info) -> Optional[list[ConsentSummary]]:
    ctx = info.context
    principal = await ctx.principal(info)

    async def batch(keys: list[UUID]) -> list[Any]:
        reached = await _reached(info, list(keys))
        found = await ctx.services.customer360.consent_summaries(principal, reached, list(keys))
        return [found[k] for k in keys]

    summary = await ctx.loader("c360.consent_summary", batch).load(_customer_id(root))
    return [ConsentSummary.of(s) for s in summary]


async def _timeline(
    root: Any,
    info: Info,
    first: Annotated[int, strawberry.argument(description="At most 100 events.")] = 20,
) -> Optional[list[TimelineEvent]]:
    ctx = info.context
    principal = await ctx.principal(info)

    async def batch(keys: list[tuple[UUID, int]]) -> list[Any]:
        reached = await _reached(info, list(dict.fromkeys(k[0] for k in keys)))
        out: dict[tuple[UUID, int], Any] = {}
        for limit in dict.fromkeys(k[1] for k in keys):
            ids = [k[0] for k in keys if k[1] == limit]
            found = await ctx.services.customer360.timelines(principal, reached, ids, limit=limit)
            out.update({(cid, limit): evs for cid, evs in found.items()})
        return [out[k] for k in keys]

    events = await ctx.loader("c360.timeline", batch).load((_customer_id(root), first))
    return [TimelineEvent.of(e) for e in events]


loyalty_field = strawberry.field(resolver=_loyalty, description="Loyalty tier, points and the distance to the next tier; null if your role may read neither tier nor points.")
purchases_field = strawberry.field(resolver=_purchases, description="Store and online purchases, newest first. Null, with a FORBIDDEN error on this field only, for roles without purchase access. Audited.")
consent_summary_field = strawberry.field(resolver=_consent_summary, description="The current state of every consent purpose. Audited (consent_read).")
timeline_field = strawberry.field(resolver=_timeline, description="Purchases, returns, notes, store visits, past appointments, completed follow-ups and consent answers, merged newest first; kinds your role may not read are left out. Audited.")
