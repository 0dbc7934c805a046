"""The Web Push adapter: one encrypted, VAPID-signed POST to a push service, and its answer
reduced to what the worker acts on.

The payload is encrypted with pywebpush's own primitive (``WebPusher.encode``: aes128gcm,
RFC 8291, a fresh ephemeral P-256 key and salt per message). The VAPID JWT comes from
:class:`push.vapid.VapidTokens`: one per push-service origin, reused until shortly before it
expires. The request goes out on one aiohttp session whose connector keeps a pool of
keep-alive connections per push-service origin (at most ``connections_per_origin`` each), so
a busy worker does not open a TCP (and TLS) connection per message, as pywebpush's
``webpush`` (``requests``, run in a thread) did. A connection the push service closed while
idle fails like any network error: the delivery is retried.

What pywebpush's ``webpush`` sent and this keeps (FIELD-NOTES): ``Content-Encoding:
aes128gcm``, ``TTL``, ``Urgency``, ``Topic``; plus ``Content-Type:
application/octet-stream``, which it never set, and always a timeout."""

from __future__ import annotations

import asyncio
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import msgspec
from pywebpush import WebPusher, WebPushException

from push.vapid import VapidKeys, VapidTokens

__all__ = ["PushTarget", "SendResult", "PushSender", "WebPushSender", "encrypt"]


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

    async def aclose(self) -> None: ...


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def encrypt(payload: bytes, target: PushTarget) -> bytes:
    """The aes128gcm body for ``target`` (RFC 8291). Raises WebPushException or ValueError
    for keys that are not a P-256 point and an auth secret."""
    pusher = WebPusher({"endpoint": target.endpoint, "keys": {"p256dh": target.p256dh, "auth": target.auth}})
    body: bytes = pusher.encode(payload, "aes128gcm")["body"]
    return body


class WebPushSender:
    def __init__(self, keys: VapidKeys, subject: str, *, timeout: float = 10.0, connections_per_origin: int = 32) -> None:
        self.keys = keys
        self.subject = subject
        self.timeout = timeout
        self.connections_per_origin = connections_per_origin
        self.tokens = VapidTokens(keys, subject)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The session, opened on first use in the running event loop (an aiohttp session
        belongs to one loop)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=self.connections_per_origin)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout), cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
            )
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        """Close the keep-alive connections; the next ``send`` opens new ones."""
        session, self._session = self._session, None
        if session is not None and not session.closed and self._loop is asyncio.get_running_loop():
            await session.close()

    async def send(self, target: PushTarget, payload: bytes, *, ttl: int, urgency: str, topic: str) -> SendResult:
        try:
            body = encrypt(payload, target)
        except (WebPushException, ValueError) as exc:  # keys that are not a P-256 point and an auth secret
            return SendResult(status=None, error=type(exc).__name__)
        headers = {
            "Authorization": self.tokens.authorization(_origin(target.endpoint)),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": urgency,
            "Topic": topic,
        }
        try:
            async with self._http().post(target.endpoint, data=body, headers=headers) as response:
                await response.read()  # the answer's body, so the connection can carry the next request
                return SendResult(status=response.status, retry_after=response.headers.get("Retry-After"))
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return SendResult(status=None, error=type(exc).__name__)
