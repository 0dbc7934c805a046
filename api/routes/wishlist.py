"""A customer's wishlist over REST."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.pagination import Page
from domain.staff import Principal
from domain.workflows import WishlistItem, WishlistItemCreate, WishlistItemUpdate

__all__ = ["WishlistController"]


class WishlistController(Controller):
    path = "/api/v1/customers/{customer_id:uuid}/wishlist"
    tags = ["wishlist"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/", summary="A customer's wishlist, newest first")
    async def list_items(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[WishlistItem]:
        return await services_of(request).wishlist.page(principal, customer_id, limit=limit, cursor=cursor)

    @post("/", summary="Add a product to a customer's wishlist")
    async def add_item(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[WishlistItemCreate]) -> Response[WishlistItem]:
        """``size`` needs the customer's ``personalization`` consent (403 ``FIELDS_NOT_WRITABLE``
        otherwise), as sizes on the profile do."""
        item = await services_of(request).wishlist.add(principal, customer_id, data)
        return Response(item, status_code=201, headers={"Location": f"/api/v1/customers/{customer_id}/wishlist/{item.id}"})

    @patch("/{item_id:uuid}", summary="Mark a wishlist item fulfilled, or change its notes, size or colour")
    async def update_item(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], item_id: FromPath[UUID], data: JSONBody[WishlistItemUpdate]) -> WishlistItem:
        return await services_of(request).wishlist.update(principal, item_id, data, customer_id=customer_id)

    @delete("/{item_id:uuid}", summary="Take an item off the wishlist")
    async def remove_item(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], item_id: FromPath[UUID]) -> None:
        await services_of(request).wishlist.remove(principal, item_id, customer_id=customer_id)
