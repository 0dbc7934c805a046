"""The signed-in staff member."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency, Provide

from api.deps import provide_principal, services_of
from domain.staff import Principal, StaffView

__all__ = ["me"]


@get("/api/v1/me", tags=["auth"], dependencies={"principal": Provide(provide_principal)}, summary="Who am I")
async def me(request: Request, principal: NamedDependency[Principal]) -> StaffView:
    return await services_of(request).staff.me(principal)
