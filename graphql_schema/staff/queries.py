"""Who am I."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_schema.customers.types import Store

__all__ = ["StaffQueries", "Me"]


@strawberry.type(description="The signed-in staff member.")
class Me:
    id: strawberry.ID
    email: str
    display_name: str
    role: str
    store_ids: list[strawberry.ID]
    stores: list[Store]


@strawberry.type
class StaffQueries:
    @strawberry.field(description="The signed-in staff member and their stores.")
    async def me(self, info: Info) -> Me:
        principal = await info.context.principal(info)
        services = info.context.services
        me = await services.staff.me(principal)
        stores = await services.staff.stores_by_ids(list(me.store_ids))
        return Me(
            id=strawberry.ID(str(me.id)), email=me.email, display_name=me.display_name, role=me.role.value,
            store_ids=[strawberry.ID(str(s)) for s in me.store_ids],
            stores=[Store.of(stores[s]) for s in me.store_ids if s in stores],
        )
