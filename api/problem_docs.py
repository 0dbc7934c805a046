"""The OpenAPI document names the problem+json answers every REST operation can give.

Litestar documents only a generic 400 (with its own body shape, not ours); clients and the
fuzzer (tests/fuzz) read the document, so each ``/api/v1`` operation gets the error statuses
the service really answers with, as ``application/problem+json`` bodies of one ``Problem``
schema. Applied to every route once the app is built, so new routes are covered too.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

__all__ = ["Problem", "document_problems"]


class Problem(msgspec.Struct, kw_only=True, rename="camel"):
    """RFC 9457 problem details; ``code`` is the stable member to match on. Some errors add
    members (``field``, ``fields``, ``errors``, ``candidates``, ``currentVersion``,
    ``retryAfter``)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str
    request_id: str | None = None


_DESCRIPTIONS = {
    400: "The request is not valid (VALIDATION_FAILED, BAD_REQUEST)",
    401: "Not signed in, a token or signature not accepted, or sign-in refused",
    403: "Your role may not do this (FORBIDDEN, FIELDS_NOT_WRITABLE, PROCESSING_RESTRICTED)",
    404: "No such resource, or one outside your scope (NOT_FOUND)",
    409: "A conflicting state (CONFLICT, DUPLICATE_CANDIDATES, IDEMPOTENCY_IN_PROGRESS, ...)",
    412: "The resource changed since you read it (PRECONDITION_FAILED)",
    413: "The body is over the size limit (PAYLOAD_TOO_LARGE)",
    422: "A well-formed request the service cannot apply (IDEMPOTENCY_KEY_REUSED, webhook payload errors, ...)",
    429: "Too many attempts; see Retry-After (TOO_MANY_REQUESTS)",
    503: "The database is unreachable (SERVICE_UNAVAILABLE, with Retry-After), or the feature is not configured (INTEGRATIONS_DISABLED)",
}
_API_STATUSES = (400, 401, 403, 404, 409, 412, 413, 422, 429, 503)


def _statuses(path: str) -> tuple[int, ...]:
    return _API_STATUSES if path.startswith("/api/") else ()


def _spec(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem, media_type="application/problem+json",
        description=_DESCRIPTIONS[status], generate_examples=False,
    )


def document_problems(app: Litestar) -> None:
    """Add the problem responses to every REST handler of ``app`` (a handler's own
    ``responses`` entries win)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        statuses = _statuses(route.path)
        if not statuses:
            continue
        for handler in route.route_handlers:
            if not isinstance(handler, HTTPRouteHandler) or not handler.include_in_schema:
                continue
            own: dict[int, Any] = dict(handler.responses or {})
            handler.responses = {**{s: _spec(s) for s in statuses}, **own}
