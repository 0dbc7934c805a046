"""An ``X-Request-ID`` on every response, routing errors included: the client's own if
sane, otherwise a new one. Problem details and audit entries carry the same id."""

from __future__ import annotations

import re
import secrets

from litestar.types import Message, Scope

__all__ = ["request_id_of", "add_request_id_header"]

_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(scope: Scope) -> str:
    """The request's id, assigned on first use."""
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    request_id = state.get("request_id")
    if request_id is None:
        incoming = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), None)
        request_id = incoming if incoming and _SANE.match(incoming) else secrets.token_hex(12)
        state["request_id"] = request_id
    return request_id


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """Litestar ``before_send`` hook: runs at the app level, so 404s and 405s get it too.
    It must stay a coroutine function: Litestar runs a plain function hook in its thread
    pool, once for every message sent (each response start and body chunk, each WebSocket
    frame), which cost a thread round trip per frame."""
    if message["type"] == "http.response.start":
        headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
        headers.append((b"x-request-id", request_id_of(scope).encode()))
        message["headers"] = headers
