"""The consent ledger over REST: a customer's consent history and capture, and the notice
texts the tablet shows before asking."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from domain.consent import ConsentCapture, ConsentHistory, ConsentRecorded, NoticeCreate, NoticeView
from domain.pagination import Page
from domain.staff import Principal

__all__ = ["ConsentController"]


class ConsentController(Controller):
    path = "/api/v1"
    tags = ["consent"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/customers/{customer_id:uuid}/consents", summary="A customer's consent history and current consent")
    async def history(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        purpose: Annotated[str | None, QueryParameter(description="Only this consent purpose")] = None,
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> ConsentHistory:
        """Ledger entries newest first by `occurredAt` (then by when they reached the server),
        and `current`: the state of each purpose derived from the whole ledger. Fields your
        role may not read are null. Audited."""
        return await services_of(request).consents.history(principal, customer_id, purpose=purpose, limit=limit, cursor=cursor)

    @post("/customers/{customer_id:uuid}/consents", summary="Record a consent answer (grant, denial, withdrawal)")
    async def record(self, request: Request, principal: NamedDependency[Principal], customer_id: FromPath[UUID], data: JSONBody[ConsentCapture]) -> Response[ConsentRecorded]:
        """Appends to the ledger; nothing is ever overwritten. A grant needs `noticeId` (the
        text shown). `occurredAt` is the moment on the device: a withdrawal that happened
        later than a grant wins whatever order they arrive in."""
        recorded = await services_of(request).consents.record(principal, customer_id, data)
        return Response(recorded, status_code=201)

    @get("/consent-notices", summary="Published consent notice texts")
    async def notices(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        purpose: Annotated[str | None, QueryParameter(description="Only notices for this purpose")] = None,
        language: Annotated[str | None, QueryParameter(description="Only notices in this language (two letters)")] = None,
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
    ) -> Page[NoticeView]:
        """Newest published first, so the first item for a purpose and language is the text
        to show now."""
        return await services_of(request).consents.notices(principal, purpose=purpose, language=language, limit=limit, cursor=cursor)

    @get("/consent-notices/{notice_id:uuid}", summary="One consent notice text")
    async def notice(self, request: Request, principal: NamedDependency[Principal], notice_id: FromPath[UUID]) -> NoticeView:
        return await services_of(request).consents.notice(principal, notice_id)

    @post("/consent-notices", summary="Publish a consent notice text")
    async def publish(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[NoticeCreate]) -> Response[NoticeView]:
        """Needs the `publish_consent_notice` capability. The SHA-256 is computed over the
        exact UTF-8 text. Published texts are never edited: an existing (purpose, version,
        language) answers 409 `CONFLICT`."""
        notice = await services_of(request).consents.publish_notice(principal, data)
        return Response(notice, status_code=201, headers={"Location": f"{self.path}/consent-notices/{notice.id}"})
