"""The pywebpush adapter: one encrypted, VAPID-signed POST to a push service, and its answer
reduced to what the worker acts on.

pywebpush quirks handled here (FIELD-NOTES): it mutates the claims dict (a fresh one per
call), sends no Content-Type (set to application/octet-stream), has no default timeout
(always passed), and raises on every status above 202. It runs in a thread (requests is
blocking) so the worker's event loop keeps going."""

from __future__ import annotations

import logging
from typing import Protocol

import anyio.to_thread
import msgspec
import requests
from pywebpush import WebPushException, webpush

from push.vapid import VapidKeys

__all__ = ["PushTarget", "SendResult", "PushSender", "WebPushSender"]

log = logging.getLogger("clienteling.push")


class PushTarget(msgspec.Struct, frozen=True, kw_only=True):
    endpoint: str
    p256dh: str
    auth: str


class SendResult(msgspec.Struct, frozen=True, kw_only=True):
    """``status`` is the push service's HTTP status, or None for a network failure."""

    status: int | None
    retry_after: str | None = None
    error: str | None = None  # an exception type name for network failures; never a value


class PushSender(Protocol):
    async def send(self, target: PushTarget, payload: bytes, *, ttl: int, urgency: str, topic: str) -> SendResult: ...


class WebPushSender:
    def __init__(self, keys: VapidKeys, subject: str, *, timeout: float = 10.0) -> None:
        self.keys = keys
        self.subject = subject
        self.timeout = timeout

    async def send(self, target: PushTarget, payload: bytes, *, ttl: int, urgency: str, topic: str) -> SendResult:
        return await anyio.to_thread.run_sync(self._send, target, payload, ttl, urgency, topic)

    def _send(self, target: PushTarget, payload: bytes, ttl: int, urgency: str, topic: str) -> SendResult:
        try:
            response = webpush(
                {"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}},
                data=payload.decode("utf-8"),
                vapid_private_key=self.keys.private_key,
                vapid_claims={"sub": self.subject},  # fresh per call: pywebpush adds aud and exp to it
                content_encoding="aes128gcm",
                ttl=ttl,
                headers={"Urgency": urgency, "Topic": topic, "Content-Type": "application/octet-stream"},
                timeout=self.timeout,
            )
        except WebPushException as exc:
            status = exc.status_code
            if status is None:
                return SendResult(status=None, error="WebPushException")
            return SendResult(status=int(status), retry_after=exc.retry_after)
        except requests.RequestException as exc:
            return SendResult(status=None, error=type(exc).__name__)
        return SendResult(status=response.status_code)  # type: ignore[union-attr]
