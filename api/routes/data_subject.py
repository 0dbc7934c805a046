"""Data-subject requests over REST (GDPR Art. 15/20 export, Art. 17 erasure, Art. 18
restriction), for compliance officers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.data_subject import CustomerExport, ErasureRequestBody, ErasureResult, RestrictionRequestBody, RestrictionState
from domain.staff import Principal

__all__ = ["DataSubjectController"]


class DataSubjectController(Controller):
    path = "/api/v1/customers"
    tags = ["gdpr"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/{customer_id:uuid}/export", summary="Export everything held about a customer (GDPR Art. 15/20)")
    async def export(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        request_reference: Annotated[
            str | None,
            QueryParameter(name="requestReference", min_length=1, max_length=100, description="The data-subject request this export answers; recorded in the audit trail"),
        ] = None,
    ) -> Response[CustomerExport]:
        """One JSON document with every kind of data held, full values, served as a file
        download. Compliance officers only; audited as ``export``."""
        document = await services_of(request).data_subject.export(principal, customer_id, request_reference=request_reference)
        return Response(
            document,
            headers={
                "Content-Disposition": f'attachment; filename="customer-{customer_id}-export.json"',
                "Cache-Control": "no-store",
            },
        )

    @post("/{customer_id:uuid}/erasure", status_code=200, summary="Erase a customer (GDPR Art. 17)")
    async def erase(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[ErasureRequestBody]) -> ErasureResult:
        """Anonymises the profile, deletes notes, keeps purchases, consent proof and the
        audit trail pseudonymised (see docs/gdpr.md). Idempotent by ``requestReference``."""
        return await services_of(request).data_subject.erase(principal, customer_id, data.request_reference)

    @post("/{customer_id:uuid}/restriction", status_code=200, summary="Restrict or release processing of a customer (GDPR Art. 18)")
    async def restrict(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[RestrictionRequestBody]) -> RestrictionState:
        """While restricted, staff may read the customer but every change is refused with
        ``PROCESSING_RESTRICTED``."""
        return await services_of(request).data_subject.restrict(
            principal, customer_id, restricted=data.restricted, request_reference=data.request_reference
        )
