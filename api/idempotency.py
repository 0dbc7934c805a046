"""``Idempotency-Key`` on creating POSTs: a retried request returns the first answer and
creates nothing twice; the same key with another body is a 422.

Scope: POSTs under /api/v1 that carry the header (the first answer is kept even when it was a
4xx, like any payment API: a corrected request needs a new key), except sign-in (nothing to repeat) and
integrations (idempotent by their ``externalId``). Keys are per caller (the token's staff
id). Concurrent duplicates: the first claims the key; the others wait for its answer (up
to 10 s, then 409 ``IDEMPOTENCY_IN_PROGRESS``). Answers of 5xx are not kept, so a retry
runs again. Stored answers live 24 hours; an erasure deletes those about the customer."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import re
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from clienteling.repositories import idempotency as repo
from clienteling.tokens import TokenSigner
from domain.errors import DomainError, PayloadTooLarge, TokenInvalid

__all__ = ["IdempotencyMiddleware", "IDEMPOTENCY_TTL"]

IDEMPOTENCY_TTL = dt.timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_EXEMPT = ("/api/v1/auth/", "/api/v1/integrations/")


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    title = "This Idempotency-Key was used with a different request"


class IdempotencyInProgress(DomainError):
    code = "IDEMPOTENCY_IN_PROGRESS"
    status = 409
    title = "A request with this Idempotency-Key is still being processed"


class InvalidIdempotencyKey(DomainError):
    code = "VALIDATION_FAILED"
    status = 400
    title = "The Idempotency-Key header is not valid"


def _problem(exc: DomainError, path: str) -> tuple[int, bytes]:
    body = {"type": f"https://clienteling.dev/problems/{exc.code.lower().replace('_', '-')}", "title": exc.title,
            "status": exc.status, "detail": exc.detail, "code": exc.code, "instance": path}
    return exc.status, json.dumps(body).encode()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, signer: TokenSigner, max_body: int) -> None:
        self.app = app
        self.signer = signer
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/api/v1/") or scope["path"].startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        raw_key = headers.get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not _KEY.match(key):
            await self._send_problem(send, scope, InvalidIdempotencyKey("Idempotency-Key must be 1 to 200 visible ASCII characters"))
            return
        caller = self._caller(headers.get(b"authorization"))
        if caller is None:  # not signed in: the route will answer 401 itself
            await self.app(scope, receive, send)
            return

        body = await self._read_body(receive)
        if body is None:
            await self._send_problem(send, scope, PayloadTooLarge(f"The body is larger than {self.max_body} bytes"))
            return
        record_id = hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()
        digest = hashlib.sha256(scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body).hexdigest()

        if not await repo.claim(record_id, method=scope["method"], path=scope["path"], body_sha256=digest):
            await self._answer_existing(record_id, digest, scope, send, body, receive)
            return
        await self._run_and_store(record_id, scope, body, send)

    async def _answer_existing(self, record_id: str, digest: str, scope: Scope, send: Send, body: bytes, receive: Receive) -> None:
        for _ in range(200):  # wait up to ~10 s for a concurrent first try to finish
            record = await repo.get(record_id)
            if record is None:  # released after a failure: run it now
                if await repo.claim(record_id, method=scope["method"], path=scope["path"], body_sha256=digest):
                    await self._run_and_store(record_id, scope, body, send)
                    return
                continue
            if record["created_at"] < dt.datetime.now(dt.timezone.utc) - IDEMPOTENCY_TTL:
                await repo.purge_expired(dt.datetime.now(dt.timezone.utc) - IDEMPOTENCY_TTL)
                continue
            if record["body_sha256"] != digest:
                await self._send_problem(send, scope, IdempotencyKeyReused("Use a new Idempotency-Key for a different request"))
                return
            if record["completed_at"] is not None:
                await send({"type": "http.response.start", "status": record["status_code"], "headers": [
                    (b"content-type", (record["content_type"] or "application/json").encode()),
                    (b"idempotent-replayed", b"true"),
                ]})
                await send({"type": "http.response.body", "body": (record["response_body"] or "").encode()})
                return
            await asyncio.sleep(0.05)
        await self._send_problem(send, scope, IdempotencyInProgress("Retry in a moment"))

    async def _run_and_store(self, record_id: str, scope: Scope, body: bytes, send: Send) -> None:
        # Ask for an uncompressed answer so it can be stored and replayed as text.
        inner_scope = dict(scope)
        inner_scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"accept-encoding"]
        status: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["type"] = next((v.decode() for k, v in message.get("headers", []) if k.lower() == b"content-type"), None)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(inner_scope, _replay([body]), capture)
        except BaseException:
            await repo.release(record_id)
            raise
        code = status.get("code", 500)
        if code >= 500:
            await repo.release(record_id)
            return
        await repo.complete(record_id, status_code=code, content_type=status.get("type"), body=b"".join(chunks).decode("utf-8", "replace"))

    def _caller(self, authorization: bytes | None) -> str | None:
        if not authorization or not authorization.lower().startswith(b"bearer "):
            return None
        try:
            return self.signer.verify(authorization[7:].decode("latin-1").strip()).sub
        except TokenInvalid:
            return None

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _send_problem(self, send: Send, scope: Scope, exc: DomainError) -> None:
        from api.request_id import request_id_of

        status, body = _problem(exc, scope["path"])
        payload = json.loads(body)
        payload["requestId"] = request_id_of(scope)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/problem+json")]})
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})


def _replay(chunks: list[bytes]) -> Receive:
    remaining = list(chunks)

    async def receive() -> Message:
        if remaining:
            return {"type": "http.request", "body": remaining.pop(0), "more_body": bool(remaining)}
        return {"type": "http.disconnect"}

    return receive
