"""Optional OpenTelemetry tracing: one span per HTTP request and WebSocket (named by method
and route template, never the raw path) and one per GraphQL operation.

Off by default, and then free: nothing from ``opentelemetry`` is imported unless
``CLIENTELING_OTEL_EXPORTER`` is set (``otlp``: OTLP over HTTP to
``OTEL_EXPORTER_OTLP_ENDPOINT``, default ``http://localhost:4318``; ``console``: spans as
JSON on standard output). Needs the ``otel`` extra: ``pip install 'clienteling[otel]'``.

Spans carry no personal data: the query string is removed from the URL attributes (search
terms can be phone numbers or emails), the client address is blanked, GraphQL spans carry
the operation type and bounded name, never the query text or its variables.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from litestar.middleware import DefineMiddleware

__all__ = ["Tracing", "TracingUnavailable", "build_tracing", "check_exporter", "EXPORTERS"]

EXPORTERS = {
    "otlp": "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "console": "opentelemetry.sdk.trace.export",
}
# Probes and scrapes would drown the traces.
_NOT_TRACED = ["^/health$", "^/ready$", "^/metrics$"]
# Attributes the ASGI instrumentation fills with the query string or the client address.
_URL_WITH_QUERY = ("http.url", "url.full")
_BLANKED = ("url.query", "net.peer.ip", "client.address", "http.client_ip", "net.peer.port", "client.port")


class TracingUnavailable(Exception):
    pass


def check_exporter(name: str) -> None:
    """Raise :class:`TracingUnavailable` unless ``name`` is a known exporter whose packages
    are installed (checked without importing the exporter)."""
    if name not in EXPORTERS:
        raise TracingUnavailable(f"must be one of {', '.join(sorted(EXPORTERS))} (or unset), got {name!r}")
    for module in ("opentelemetry.sdk.trace", "opentelemetry.instrumentation.asgi", EXPORTERS[name]):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise TracingUnavailable(f"{name} tracing needs the otel extra (pip install 'clienteling[otel]'): {module} is missing")


class Tracing:
    """A tracer provider with its exporter, the HTTP middleware and GraphQL spans."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer("clienteling")

    def middleware(self) -> list[DefineMiddleware | type]:
        """Litestar's OpenTelemetry middleware (which Litestar moves in front of routing),
        and one after routing that names the span by the route template."""
        from litestar.plugins.opentelemetry import OpenTelemetryConfig

        return [
            OpenTelemetryConfig(
                tracer_provider=self.provider,
                scope_span_details_extractor=_span_details,
                server_request_hook_handler=_scrub,
                exclude=_NOT_TRACED,
                exclude_spans=["receive", "send"],  # one span per request, not per ASGI message
            ).middleware,
            _NameSpanByRoute,
        ]

    @contextlib.contextmanager
    def span(self, name: str, attributes: dict[str, str]) -> Iterator[None]:
        with self.tracer.start_as_current_span(name, attributes=attributes):
            yield

    async def shutdown(self) -> None:
        """Flush spans still queued and stop the exporter."""
        self.provider.shutdown()


def build_tracing(exporter_name: str | None, *, span_exporter: Any = None) -> Tracing | None:
    """None when tracing is off (and then nothing is imported). ``span_exporter`` hands in
    an exporter directly (tests use the SDK's in-memory one)."""
    if exporter_name is None and span_exporter is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "clienteling")}))
    if span_exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    elif exporter_name == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout)))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Endpoint, headers and timeout come from the standard OTEL_EXPORTER_OTLP_* variables.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return Tracing(provider)


class _NameSpanByRoute:
    """Runs after routing, when ``path_template`` is known: the request span is named
    ``GET /api/v1/customers/{customer_id:uuid}``, never by the raw path with its ids."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from opentelemetry import trace

        span = trace.get_current_span()
        if span.is_recording():
            name, attributes = _span_details(scope)
            span.update_name(name)
            span.set_attributes(attributes)
        await self.app(scope, receive, send)


def _span_details(scope: Any) -> tuple[str, dict[str, str]]:
    route = scope.get("path_template") or "unmatched"
    method = scope.get("method") or "WS"
    return f"{method} {route}", {"http.route": route}


def _scrub(span: Any, scope: Any) -> None:
    """Overwrite, on the request span, the attributes that would carry personal data."""
    if not span.is_recording():
        return
    present = getattr(span, "attributes", None) or {}
    for key in _URL_WITH_QUERY:
        if key in present:
            span.set_attribute(key, f"{scope.get('scheme', 'http')}://{_host(scope)}{scope.get('path', '')}")
    for key in _BLANKED:
        if key in present:
            span.set_attribute(key, "")


def _host(scope: Any) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"host":
            return value.decode("latin-1")
    server = scope.get("server")
    return f"{server[0]}:{server[1]}" if server else ""
