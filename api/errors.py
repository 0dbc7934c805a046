"""Errors to RFC 9457 problem+json, each with a stable ``code``. A 500 is always a bug."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from api.request_id import request_id_of
from domain.errors import DomainError

__all__ = ["exception_handlers", "problem", "unexpected_error"]

log = logging.getLogger("clienteling.errors")

PROBLEM = "application/problem+json"

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}


def problem(request: Request, status: int, code: str, title: str, detail: str, extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"https://clienteling.dev/problems/{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    body["requestId"] = request_id_of(request.scope)
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM, headers=headers)


def _domain(request: Request, exc: DomainError) -> Response:
    headers = {}
    if exc.status == 429 and "retryAfter" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retryAfter"])
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="clienteling"'
    return problem(request, exc.status, exc.code, exc.title, exc.detail, exc.extra, headers)


def _validation(request: Request, exc: ValidationException) -> Response:
    # Litestar's own detail quotes the request URL (search terms can be phone numbers or
    # emails): answer with the parameter names and reasons only.
    errors = []
    for item in exc.extra or []:
        if isinstance(item, dict):
            errors.append({"message": item.get("message"), "key": item.get("key"), "source": item.get("source")})
    detail = "; ".join(f"{e['key']}: {e['message']}" for e in errors if e.get("key")) or "The request body or parameters are not valid"
    return problem(request, 400, "VALIDATION_FAILED", "The request is not valid", detail, {"errors": errors} if errors else None)


def _http(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    code = _HTTP_CODES.get(status, "HTTP_ERROR")
    if status >= 500:
        return unexpected_error(request, exc)
    return problem(request, status, code, exc.detail or code.replace("_", " ").capitalize(), exc.detail or "", None, exc.headers)


def _not_found(request: Request, exc: NotFoundException) -> Response:
    return problem(request, 404, "NOT_FOUND", "Not found", "There is nothing at this address")


def _database_unreachable(exc: BaseException) -> bool:
    """The database connection was refused, cut or is shutting down: an outage, not a bug."""
    import asyncpg

    if isinstance(exc, asyncpg.InterfaceError):  # "connection is closed" / "connection was closed in the middle of operation"
        return "closed" in str(exc)
    return isinstance(exc, (ConnectionError, asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError))


def unexpected_error(request: Request, exc: Exception) -> Response:
    """503 when the database is unreachable (an outage), otherwise a logged 500 (a bug)."""
    if _database_unreachable(exc) or _database_unreachable(exc.__cause__ or exc.__context__ or exc):
        log.warning("database unreachable (%s) on %s %s", type(exc).__name__, request.method, request.url.path)
        return problem(request, 503, "SERVICE_UNAVAILABLE", "Service unavailable", "The database is unreachable; retry shortly", None, {"Retry-After": "2"})
    # Type and route only: messages and tracebacks can carry personal data.
    log.error("unexpected error %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
    return problem(request, HTTP_500_INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "Internal server error", "An unexpected error happened; it has been logged")


exception_handlers: dict[Any, Any] = {
    DomainError: _domain,
    ValidationException: _validation,
    NotFoundException: _not_found,
    HTTPException: _http,
    Exception: unexpected_error,
}

