"""Structured JSON logs with the request id on every line, an access log without query
strings or bodies (search terms can be phone numbers), and the /metrics endpoint."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import time
import traceback

import hmac
import os

from litestar import Controller, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from api.request_id import request_id_of
from clienteling import db
from clienteling.metrics import DB_POOL_CONNECTIONS

__all__ = ["JsonFormatter", "configure_logging", "AccessLogMiddleware", "current_request_id", "metrics_controller"]

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
access_log = logging.getLogger("clienteling.access")

# Attributes of a LogRecord that are not user extras.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line. Messages are the code's own text; personal data values are
    never passed to loggers (a test scans a seller journey's log for them)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": current_request_id.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and frames, never its message: messages of database and
            # validation errors can quote the values that caused them.
            entry["exception"] = record.exc_info[0].__name__
            entry["stack"] = "".join(traceback.format_tb(record.exc_info[2]))
        return json.dumps(entry, default=str)


def configure_logging(level: str = "info", *, json_logs: bool = True) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("piccolo", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class AccessLogMiddleware:
    """Sets the request id for every log line of the request and writes one access line:
    method, route template, status, duration. No query string, no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = current_request_id.set(request_id_of(scope))
        started = time.perf_counter()
        status = {"code": 0}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            # A WebSocket's status is 101 from the start: no need to inspect every frame.
            await self.app(scope, receive, capture if scope["type"] == "http" else send)
        finally:
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method", "WS"),
                    "route": scope.get("path_template") or "unmatched",
                    "status": status["code"] or (101 if scope["type"] == "websocket" else 500),
                    "durationMs": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            current_request_id.reset(token)


def metrics_controller(token: str | None) -> type:
    """``GET /metrics`` (Prometheus text format). With ``CLIENTELING_METRICS_TOKEN`` set, a
    bearer token is required; otherwise bind the service so only monitoring reaches it. With
    several worker processes (``PROMETHEUS_MULTIPROC_DIR``) the figures of all are summed."""
    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if token is None:
            return
        given = connection.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise NotAuthorizedException("metrics need Authorization: Bearer <CLIENTELING_METRICS_TOKEN>")

    class MetricsController(Controller):
        path = "/metrics"
        guards = [guard]
        include_in_schema = False

        @get()
        async def metrics(self) -> Response:
            for state, count in (db.pool_usage() or {}).items():
                DB_POOL_CONNECTIONS.labels(state).set(count)
            registry = REGISTRY
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                registry = CollectorRegistry()
                multiprocess.MultiProcessCollector(registry)
            return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return MetricsController
