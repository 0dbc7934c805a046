"""What a push service's answer means for a delivery (docs/push.md, "Failure handling"):
the outcome label the metrics count, and the columns the worker records.

201 (or 200/202) delivered; 404/410 gone, the subscription is deleted; 413 too large, never
retried; 429, 5xx, a timeout or a network error retried with exponential back-off and
jitter, never sooner than ``Retry-After``, until the last attempt; anything else (400, 401,
403: a VAPID or request problem) and the last failed attempt a dead letter."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from uuid import UUID

import msgspec

from domain.push import parse_retry_after, retry_delay
from push.sender import SendResult

__all__ = ["Outcome", "RetryPolicy", "answer_outcome"]

log = logging.getLogger("clienteling.push")


class Outcome(msgspec.Struct, kw_only=True):
    """What became of one claimed delivery; the worker records it with the rest of its round."""

    claim: dict[str, Any]
    label: str  # clienteling_push_deliveries_total{outcome}
    values: dict[str, Any]  # the delivery's columns to write
    subscription: UUID | None = None  # delivered: mark it used; gone (404/410): delete it


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    max_attempts: int
    base_seconds: float
    cap_seconds: float


def answer_outcome(claim: dict[str, Any], subscription: UUID, result: SendResult, *, at: dt.datetime, retry: RetryPolicy) -> Outcome:
    """The outcome of sending ``claim`` to ``subscription``, answered at ``at``."""
    attempts = claim["attempts"] + 1
    status = result.status
    if status is not None and 200 <= status <= 202:
        return Outcome(claim=claim, label="delivered", values={"status": "delivered", "attempts": attempts, "last_status_code": status},
                       subscription=subscription)
    if status in (404, 410):
        log.info("push subscription gone (%d); removed", status)
        return Outcome(claim=claim, label="gone", values={"status": "gone", "attempts": attempts, "last_status_code": status},
                       subscription=subscription)
    if status == 413:
        return Outcome(claim=claim, label="too_large", values={"status": "too_large", "attempts": attempts, "last_status_code": status})
    error = result.error or f"HTTP {status}"
    if (status is None or status == 429 or status >= 500) and attempts < retry.max_attempts:
        delay = retry_delay(attempts, base=retry.base_seconds, cap=retry.cap_seconds, retry_after=parse_retry_after(result.retry_after, at))
        return Outcome(claim=claim, label="retry", values={
            "status": "pending", "attempts": attempts, "last_status_code": status, "last_error": error,
            "next_attempt_at": at + dt.timedelta(seconds=delay),
        })
    log.warning("push delivery dead-lettered after %d attempts (last answer %s)", attempts, status if status is not None else result.error)
    return Outcome(claim=claim, label="dead", values={"status": "dead", "attempts": attempts, "last_status_code": status, "last_error": error})
