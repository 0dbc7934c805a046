"""The seller-workflow parts of the customer 360: wishlist, open tasks, upcoming
appointments. One batched loader per kind per request (the services do two or three
queries for any number of customers); a role without access to a kind gets null on that
field only, with a FORBIDDEN error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Optional
from uuid import UUID

import strawberry
from strawberry.types import Info

if TYPE_CHECKING:
    from graphql_schema.workflows.types import Appointment, Task, WishlistItem

__all__ = ["wishlist_field", "open_tasks_field", "upcoming_appointments_field"]

_LAZY = "graphql_schema.workflows.types"


async def _batched(info: Info, name: str, method: str, customer_id: UUID) -> list[Any]:
    ctx = info.context
    principal = await ctx.principal(info)

    async def batch(keys: list[UUID]) -> list[Any]:
        service = getattr(ctx.services, name)
        try:
            found = await getattr(service, method)(principal, list(keys))
        except Exception as exc:  # noqa: BLE001 - the same error for every key (e.g. Forbidden)
            return [exc for _ in keys]
        return [found.get(k, []) for k in keys]

    return await ctx.loader(f"c360.{name}", batch).load(customer_id)


async def _wishlist(root: Any, info: Info) -> Optional[list[Annotated["WishlistItem", strawberry.lazy(_LAZY)]]]:
    from graphql_schema.workflows.types import WishlistItem

    return [WishlistItem.of(w) for w in await _batched(info, "wishlist", "for_customers", UUID(str(root.id)))]


async def _open_tasks(root: Any, info: Info) -> Optional[list[Annotated["Task", strawberry.lazy(_LAZY)]]]:
    from graphql_schema.workflows.types import Task

    return [Task.of(t) for t in await _batched(info, "tasks", "open_for_customers", UUID(str(root.id)))]


async def _upcoming_appointments(root: Any, info: Info) -> Optional[list[Annotated["Appointment", strawberry.lazy(_LAZY)]]]:
    from graphql_schema.workflows.types import Appointment

    return [Appointment.of(a) for a in await _batched(info, "appointments", "upcoming_for_customers", UUID(str(root.id)))]


wishlist_field = strawberry.field(resolver=_wishlist, description="Wishlist items you may see. Null, with FORBIDDEN on this field only, for roles without wishlist access. Audited.")
open_tasks_field = strawberry.field(resolver=_open_tasks, description="Follow-ups not done yet (snoozed included), soonest due first. Audited.")
upcoming_appointments_field = strawberry.field(resolver=_upcoming_appointments, description="Booked appointments not over yet, earliest first. Audited.")
