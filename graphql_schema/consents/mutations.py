"""Consent mutations: record an answer, publish a notice text."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.consent import ConsentCapture, NoticeCreate
from graphql_schema.consents.types import ConsentCaptureInput, ConsentNotice, ConsentNoticeInput, ConsentRecorded
from graphql_schema.convert import parse_id, to_struct

__all__ = ["ConsentMutations"]


@strawberry.type
class ConsentMutations:
    @strawberry.mutation(description="Record a consent answer (grant, denial, withdrawal) for a customer; appended to the ledger, never overwriting.")
    async def record_consent(self, info: Info, customer_id: strawberry.ID, input: ConsentCaptureInput) -> ConsentRecorded:
        principal = await info.context.principal(info)
        data = to_struct(input, ConsentCapture)
        recorded = await info.context.services.consents.record(principal, parse_id(customer_id, "customerId"), data)
        return ConsentRecorded.of(recorded)

    @strawberry.mutation(description="Publish a consent notice text (capability publish_consent_notice). Never editable: publish a new version instead.")
    async def publish_consent_notice(self, info: Info, input: ConsentNoticeInput) -> ConsentNotice:
        principal = await info.context.principal(info)
        data = to_struct(input, NoticeCreate)
        return ConsentNotice.of(await info.context.services.consents.publish_notice(principal, data))
