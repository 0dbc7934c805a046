"""Writes an HTTP request's audit entries before its response leaves.

Reads record their audit entries into a per-request buffer (``AuditTrail.deferring``); this
middleware appends them in one chain transaction when the response starts, i.e. before any
byte of personal data is sent. If they cannot be written, the response is dropped unsent
and an error is answered in its place (503 when the database is unreachable, 500
otherwise, both problem+json). Entries recorded after the response started (a streamed
body) or by a request that failed before responding are written as they come or when the
request ends.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from api.errors import unexpected_error
from clienteling.services.audit import AuditTrail

__all__ = ["AuditBeforeResponse"]


class AuditBeforeResponse:
    def __init__(self, app: Any, audit: AuditTrail) -> None:
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        failure: Exception | None = None
        with self.audit.deferring() as entries:

            async def send_after_audit(message: Any) -> None:
                nonlocal failure
                if failure is not None:
                    return  # the rest of a response that must not leave
                if message["type"] == "http.response.start" and not entries.closed:
                    try:
                        await self.audit.flush(entries)
                    except Exception as exc:  # noqa: BLE001 - answered below instead of the response
                        failure = exc
                        return
                await send(message)

            try:
                await self.app(scope, receive, send_after_audit)
            finally:
                if not entries.closed:
                    await self.audit.flush(entries)
        if failure is not None:
            request: Request[Any, Any, Any] = Request(scope, receive)
            await unexpected_error(request, failure).to_asgi_response(app=None, request=request)(scope, receive, send)
