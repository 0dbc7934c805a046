"""The access audit for compliance officers: query (JSON or CSV) and chain verification."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated, Literal
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from api.deps import provide_principal, services_of
from clienteling.services.audit import AuditEntryView
from domain.audit import ACTIONS, ChainVerdict
from domain.errors import ValidationFailed
from domain.pagination import Page
from domain.staff import Principal

__all__ = ["AuditController"]

_CSV_COLUMNS = [f for f in AuditEntryView.__struct_fields__]


def _csv(page: Page[AuditEntryView]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    for item in page.items:
        row = []
        for name in _CSV_COLUMNS:
            value = getattr(item, name)
            if isinstance(value, list):
                value = ";".join(value)
            elif isinstance(value, dt.datetime):
                value = value.isoformat()
            row.append("" if value is None else value)
        writer.writerow(row)
    return out.getvalue()


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ["audit"]
    dependencies = {"principal": Provide(provide_principal)}

    @get("/", summary="Who accessed which customer data, when and why")
    async def list_entries(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        customer: Annotated[UUID | None, QueryParameter(description="Only entries about this customer")] = None,
        actor: Annotated[UUID | None, QueryParameter(description="Only entries by this staff member")] = None,
        action: Annotated[str | None, QueryParameter(description=f"One of: {', '.join(ACTIONS)}")] = None,
        from_: Annotated[dt.datetime | None, QueryParameter(name="from", description="From this instant (inclusive)")] = None,
        to: Annotated[dt.datetime | None, QueryParameter(description="Up to this instant (exclusive)")] = None,
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(description="nextCursor of the previous page")] = None,
        format: Annotated[Literal["json", "csv"] | None, QueryParameter(description="csv, or send Accept: text/csv")] = None,
    ) -> Response:
        """Newest first. Entries list field names and ids, never values."""
        if action is not None and action not in ACTIONS:
            raise ValidationFailed(f"action must be one of: {', '.join(ACTIONS)}", extra={"field": "action"})
        for name, value in (("from", from_), ("to", to)):
            if value is not None and value.tzinfo is None:
                raise ValidationFailed(f"{name} needs a time zone (e.g. 2026-11-23T10:00:00Z)", extra={"field": name})
        page = await services_of(request).audit.query(
            principal, customer_id=customer, actor_id=actor, action=action, since=from_, until=to, limit=limit, cursor=cursor
        )
        wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
        if wants_csv:
            headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
            if page.next_cursor:
                headers["X-Next-Cursor"] = page.next_cursor
            return Response(_csv(page), media_type="text/csv; charset=utf-8", headers=headers)
        return Response(page)

    @get("/verify", summary="Verify the audit hash chain")
    async def verify(self, request: Request, principal: NamedDependency[Principal]) -> ChainVerdict:
        """Recomputes every entry's hash and link; names the first entry that was changed,
        removed or inserted."""
        audit = services_of(request).audit
        audit.require_reader(principal)
        return await audit.verify()
