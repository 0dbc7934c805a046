"""Optional OpenTelemetry tracing: spans for HTTP requests (by route template, without the
query string) and GraphQL operations when an exporter is configured; nothing of the SDK
loaded, and no hard dependency at all, when it is not."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import pytest

from api.app import create_app
from tests.factories import FAST_PASSWORDS, make_customer, make_staff, make_store
from tests.integration.conftest import login

_OFF = textwrap.dedent("""
    import asyncio, sys
    import httpx
    from api.app import create_app
    from api.settings import load_settings

    settings = load_settings({"CLIENTELING_DATABASE_URL": "sqlite:///unused.sqlite3", "CLIENTELING_SECRET_KEY": "s" * 40})
    app = create_app(settings, manage_database=False)

    async def main():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            assert (await c.get("/health")).status_code == 200
    asyncio.run(main())
    print(sorted(m for m in sys.modules if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter"))))
""")

_BLOCK_OPENTELEMETRY = textwrap.dedent("""
    import sys

    class NoOpenTelemetry:
        def find_spec(self, name, path=None, target=None):
            if name == "opentelemetry" or name.startswith("opentelemetry."):
                raise ModuleNotFoundError(f"No module named {name!r}")
            return None

    sys.meta_path.insert(0, NoOpenTelemetry())
""")


def _run(code: str, tmp_path) -> str:  # noqa: ANN001
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[2])})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_tracing_off_loads_no_sdk_and_no_exporter(tmp_path) -> None:  # noqa: ANN001
    assert _run(_OFF, tmp_path) == "[]"


def test_the_app_serves_without_opentelemetry_installed(tmp_path) -> None:  # noqa: ANN001
    assert _run(_BLOCK_OPENTELEMETRY + _OFF, tmp_path) == "[]"


async def test_spans_for_http_requests_and_graphql_operations(settings) -> None:  # noqa: ANN001
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    app = create_app(settings, passwords=FAST_PASSWORDS, manage_database=False, span_exporter=exporter)
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    customer = await make_customer(store=store, email="traced.person@example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        headers = await login(c, seller["email"])
        await c.get("/api/v1/customers", params={"q": "traced.person@example.com"}, headers=headers)
        await c.get(f"/api/v1/customers/{customer}", headers=headers)
        await c.post("/graphql", json={"query": "query Who { me { email } }", "operationName": "Who"}, headers=headers)
        await c.get("/health")
    await app.state.lifecycle.stop()
    spans = exporter.get_finished_spans()
    names = [s.name for s in spans]
    assert "GET /api/v1/customers" in names and "POST /graphql" in names
    assert any(n.startswith("GET /api/v1/customers/{") for n in names) and not any(str(customer) in n for n in names)
    assert not any(n.startswith("GET /health") for n in names)
    graphql = next(s for s in spans if s.name == "graphql.query Who")
    http = next(s for s in spans if s.name == "POST /graphql")
    assert graphql.parent is not None and graphql.parent.span_id == http.context.span_id
    assert dict(graphql.attributes) == {"graphql.operation.type": "query", "graphql.operation.name": "Who"}
    everything = repr([(s.name, dict(s.attributes)) for s in spans])
    assert "traced.person" not in everything  # the search term in the query string stays out


async def test_console_exporter_writes_finished_spans_to_standard_output(capfd) -> None:  # noqa: ANN001
    pytest.importorskip("opentelemetry.sdk")
    from api.tracing import build_tracing

    tracing = build_tracing("console")
    with tracing.span("graphql.query Who", {"graphql.operation.name": "Who"}):
        pass
    await tracing.shutdown()
    out = capfd.readouterr().out
    assert '"name": "graphql.query Who"' in out and '"graphql.operation.name": "Who"' in out
