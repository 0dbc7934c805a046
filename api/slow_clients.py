"""Slow clients: a request whose body stops arriving is answered 408 instead of holding a
worker's connection forever (the slowloris pattern; uvicorn has no body-read timeout).

Only the reads of the request body are timed, one ``receive()`` at a time (a slow but
steady upload is fine); once the body is complete, ``receive`` is handed through untouched,
since Litestar also awaits it to notice a client that went away.
"""

from __future__ import annotations

import asyncio
from typing import Any

from domain.errors import DomainError

__all__ = ["RequestBodyTimeout", "SlowClientTimeout"]


class RequestBodyTimeout(DomainError):
    code = "REQUEST_TIMEOUT"
    status = 408
    title = "The request body did not arrive in time"


class SlowClientTimeout:
    def __init__(self, app: Any, timeout: float = 30.0) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        complete = False

        async def timed_receive() -> Any:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except asyncio.TimeoutError:
                raise RequestBodyTimeout(f"No request body data for {self.timeout:g} seconds") from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, timed_receive, send)
