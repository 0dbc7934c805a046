"""A customer's purchases over REST (the rest of the 360 is a single GraphQL query)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter

from api.deps import provide_principal, services_of
from domain.customer360 import PurchaseView
from domain.pagination import Page
from domain.staff import Principal

__all__ = ["PurchaseController"]


class PurchaseController(Controller):
    path = "/api/v1/customers/{customer_id:uuid}/purchases"
    tags = ["customer 360"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/", summary="A customer's purchases, newest first")
    async def list_purchases(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[PurchaseView]:
        """Store and online purchases with their lines; amounts are decimal strings in the
        purchase's currency. Fields your role may not read are null. Audited."""
        return await services_of(request).customer360.purchase_page(principal, customer_id, limit=limit, cursor=cursor)
