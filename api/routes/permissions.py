"""The caller's effective permissions, break-glass access and policy administration."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.break_glass import BreakGlassGrant, BreakGlassRequest
from domain.customers import Customer
from domain.errors import DomainError, Forbidden
from domain.pagination import Page
from domain.staff import Principal
from permissions import EffectivePolicy, PolicyError, effective_policy

__all__ = ["PermissionsController", "BreakGlassController", "PolicyAdminController"]


class PolicyInvalid(DomainError):
    code = "POLICY_INVALID"
    status = 422
    title = "The policy file does not validate; the previous policy stays in force"


class PolicyNotFileBased(DomainError):
    code = "POLICY_NOT_FILE_BASED"
    status = 409
    title = "No policy file is configured; the built-in default policy is in force"


class BreakGlassOpened(msgspec.Struct, rename="camel"):
    grant: BreakGlassGrant | None
    customer: Customer


class PolicyReloaded(msgspec.Struct, rename="camel"):
    policy_version: int
    source: str


class PermissionsController(Controller):
    path = "/api/v1/permissions"
    tags = ["permissions"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/me", summary="Your effective field policy")
    async def mine(self, request: Request, principal: NamedDependency[Principal]) -> EffectivePolicy:
        """Per resource: your row scope, whether you may create, and per field your read
        access (outside and inside your client book), the consent it needs, and whether
        you may write it."""
        return effective_policy(services_of(request).policies.current, principal.role)


class BreakGlassController(Controller):
    path = "/api/v1"
    tags = ["permissions"]
    dependencies = {"principal": Provide(provide_principal)}

    @post("/customers/{customer_id:uuid}/break-glass", status_code=200, summary="Open a customer outside your scope, giving a reason")
    async def open(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[BreakGlassRequest]) -> BreakGlassOpened:
        """Read-only, time-limited access recorded with the reason and listed to managers
        and compliance. ``grant`` is null when the customer is already in your scope."""
        services = services_of(request)
        grant = await services.break_glass.open(principal, customer_id, data.reason)
        return BreakGlassOpened(grant=grant, customer=await services.customers.get(principal, customer_id))

    @get("/break-glass", summary="Break-glass access log")
    async def log(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[BreakGlassGrant]:
        return await services_of(request).break_glass.log(principal, limit=limit, cursor=cursor)


class PolicyAdminController(Controller):
    path = "/api/v1/admin/policy"
    tags = ["permissions"]
    dependencies = {"principal": Provide(provide_principal)}

    @post("/reload", status_code=200, summary="Reload the permission policy file now")
    async def reload(self, request: Request, principal: NamedDependency[Principal]) -> PolicyReloaded:
        store = services_of(request).policies
        if not store.current.allows(principal.role, "reload_policy"):
            raise Forbidden("Your role may not reload the permission policy")
        if store.path is None:
            raise PolicyNotFileBased("Set CLIENTELING_POLICY_FILE to load the policy from a file")
        try:
            policy = store.reload()
        except PolicyError as exc:
            raise PolicyInvalid(str(exc)) from None
        return PolicyReloaded(policy_version=policy.version, source=str(store.path))

