"""Queries and mutations of the permissions area."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from graphql_schema.convert import parse_id
from graphql_schema.customers.types import Customer
from graphql_schema.permissions.types import MyPermissions
from permissions import effective_policy

__all__ = ["PermissionQueries", "PermissionMutations"]


@strawberry.type
class PermissionQueries:
    @strawberry.field(description="Your effective field policy (the same as GET /api/v1/permissions/me).")
    async def my_permissions(self, info: Info) -> MyPermissions:
        principal = await info.context.principal(info)
        return MyPermissions.of(effective_policy(info.context.services.policies.current, principal.role))


@strawberry.type
class PermissionMutations:
    @strawberry.mutation(description="Open a customer outside your scope, giving a reason: read-only, time-limited and recorded.")
    async def break_glass(self, info: Info, customer_id: strawberry.ID, reason: str) -> Customer:
        principal = await info.context.principal(info)
        services = info.context.services
        cid = parse_id(customer_id, "customerId")
        await services.break_glass.open(principal, cid, reason)
        return Customer.of(await services.customers.get(principal, cid))
