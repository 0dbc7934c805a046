"""Reassigning a client book."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.client_books import ReassignRequest
from graphql_schema.client_books.types import ReassignClientBookResult
from graphql_schema.convert import parse_id

__all__ = ["ClientBookMutations"]


@strawberry.type
class ClientBookMutations:
    @strawberry.mutation(description="Move a seller's clients in one store (primary and secondary assignments) to another seller of that store, in one step. Store managers for their stores, hq for any. Audited.")
    async def reassign_client_book(self, info: Info, from_associate_id: strawberry.ID, to_associate_id: strawberry.ID, store_id: strawberry.ID) -> ReassignClientBookResult:
        principal = await info.context.principal(info)
        request = ReassignRequest(
            from_associate_id=parse_id(from_associate_id, "fromAssociateId"),
            to_associate_id=parse_id(to_associate_id, "toAssociateId"),
            store_id=parse_id(store_id, "storeId"),
        )
        return ReassignClientBookResult.of(await info.context.services.client_books.reassign(principal, request))
