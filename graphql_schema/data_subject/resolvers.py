"""Queries and mutations of the data-subject area."""

from __future__ import annotations

from typing import Any, Optional

import msgspec
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from domain.data_subject import ErasureRequestBody, RestrictionRequestBody
from domain.errors import ValidationFailed
from graphql_schema.convert import parse_id
from graphql_schema.data_subject.types import ErasureResult, RestrictionState

__all__ = ["DataSubjectQueries", "DataSubjectMutations"]


def _parse(struct: type, **values: Any) -> Any:
    """Validate arguments exactly as the REST body is validated."""
    try:
        return msgspec.convert(values, struct)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(str(exc)) from None


@strawberry.type
class DataSubjectQueries:
    @strawberry.field(description="Everything held about a customer as one JSON document (GDPR Art. 15/20; the same as GET /api/v1/customers/{id}/export). Compliance officers only; audited.")
    async def customer_export(self, info: Info, customer_id: strawberry.ID, request_reference: Optional[str] = None) -> JSON:
        principal = await info.context.principal(info)
        if request_reference is not None and not 1 <= len(request_reference) <= 100:
            raise ValidationFailed("requestReference must have 1 to 100 characters", extra={"field": "requestReference"})
        document = await info.context.services.data_subject.export(
            principal, parse_id(customer_id, "customerId"), request_reference=request_reference
        )
        return msgspec.to_builtins(document)


@strawberry.type
class DataSubjectMutations:
    @strawberry.mutation(description="Erase a customer (GDPR Art. 17): anonymise, delete notes, keep what law requires pseudonymised. Idempotent by requestReference.")
    async def erase_customer(self, info: Info, customer_id: strawberry.ID, request_reference: str) -> ErasureResult:
        principal = await info.context.principal(info)
        body = _parse(ErasureRequestBody, requestReference=request_reference)
        result = await info.context.services.data_subject.erase(principal, parse_id(customer_id, "customerId"), body.request_reference)
        return ErasureResult.of(result)

    @strawberry.mutation(description="Restrict (or release) processing of a customer (GDPR Art. 18): staff keep read access, every change is refused.")
    async def restrict_customer(self, info: Info, customer_id: strawberry.ID, restricted: bool, request_reference: str) -> RestrictionState:
        principal = await info.context.principal(info)
        body = _parse(RestrictionRequestBody, restricted=restricted, requestReference=request_reference)
        result = await info.context.services.data_subject.restrict(
            principal, parse_id(customer_id, "customerId"), restricted=body.restricted, request_reference=body.request_reference
        )
        return RestrictionState.of(result)
