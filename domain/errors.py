"""Typed, expected failures.

Every error a caller can provoke is one of these. Each carries a stable machine code and the
HTTP status it maps to; REST turns it into RFC 9457 problem+json, GraphQL into
``extensions.code``. Anything else escaping a handler is a bug (a 500).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DomainError",
    "ValidationFailed",
    "NotAuthenticated",
    "InvalidCredentials",
    "TokenInvalid",
    "Forbidden",
    "FieldsNotWritable",
    "ProcessingRestricted",
    "NotFound",
    "Conflict",
    "TooManyRequests",
    "PayloadTooLarge",
    "ServiceUnavailable",
]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class DomainError(Exception):
    """Base of expected failures; ``code`` is part of the public API and never changes."""

    code = "ERROR"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        self.detail = detail or self.title
        self.extra = extra or {}
        super().__init__(self.detail)


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"
    status = 400
    title = "The request is not valid"


class NotAuthenticated(DomainError):
    code = "NOT_AUTHENTICATED"
    status = 401
    title = "Authentication is required"


class InvalidCredentials(DomainError):
    code = "INVALID_CREDENTIALS"
    status = 401
    title = "Email or password is incorrect"


class TokenInvalid(DomainError):
    code = "TOKEN_INVALID"
    status = 401
    title = "The token is invalid, expired or revoked"


class Forbidden(DomainError):
    code = "FORBIDDEN"
    status = 403
    title = "You may not do this"


class FieldsNotWritable(Forbidden):
    code = "FIELDS_NOT_WRITABLE"
    title = "Some fields may not be changed by your role"

    def __init__(self, fields: list[str]) -> None:
        wire = sorted(_camel(f) for f in fields)  # the names clients send
        super().__init__(f"Your role may not change: {', '.join(wire)}", extra={"fields": wire})


class ProcessingRestricted(Forbidden):
    code = "PROCESSING_RESTRICTED"
    title = "Processing of this customer's data is restricted (GDPR Art. 18): read-only"


class NotFound(DomainError):
    code = "NOT_FOUND"
    status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "CONFLICT"
    status = 409
    title = "Conflict"


class TooManyRequests(DomainError):
    code = "TOO_MANY_REQUESTS"
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail, extra={"retryAfter": retry_after})
        self.retry_after = retry_after


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    title = "The request body is too large"


class ServiceUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    title = "A dependency is unavailable"
