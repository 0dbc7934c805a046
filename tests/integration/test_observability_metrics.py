"""/metrics: the PostgreSQL pool gauge, request figures by route template and status, and
GraphQL operation names of the allow-list."""

from __future__ import annotations

import json
import re

import httpx
import msgspec
import pytest

from api.app import create_app
from clienteling import db
from graphql_schema.persisted import sha256
from tests.factories import FAST_PASSWORDS, make_customer, make_staff, make_store
from tests.integration.conftest import login


def _gauge(text: str, state: str) -> float:
    match = re.search(rf'^clienteling_db_pool_connections{{state="{state}"}} (\S+)$', text, re.M)
    assert match, f"no pool gauge for state {state}"
    return float(match.group(1))


async def test_db_pool_gauge_shows_size_in_use_and_idle_on_postgresql(client, clean_db) -> None:  # noqa: ANN001
    if clean_db.kind != "postgresql":
        text = (await client.get("/metrics")).text
        assert 'clienteling_db_pool_connections{state="in_use"}' not in text  # SQLite has no pool
        return
    async with db.transaction():  # holds one pooled connection while /metrics is scraped
        await db.current_engine().run_ddl("SELECT 1")
        held = (await client.get("/metrics")).text
    released = (await client.get("/metrics")).text
    assert _gauge(held, "in_use") >= 1
    assert _gauge(held, "total") == _gauge(held, "in_use") + _gauge(held, "idle")
    assert _gauge(released, "in_use") == _gauge(held, "in_use") - 1
    assert _gauge(released, "max") == 5  # the test database's pool: start_pool(1, 5)


async def test_request_figures_are_labelled_by_route_template_and_status(client) -> None:  # noqa: ANN001
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    customer = await make_customer(store=store)
    headers = await login(client, seller["email"])
    assert (await client.get(f"/api/v1/customers/{customer}", headers=headers)).status_code == 200
    assert (await client.get(f"/api/v1/customers/{customer}")).status_code == 401
    text = (await client.get("/metrics")).text
    lines = [line for line in text.splitlines() if line.startswith("clienteling_http_requests_total{") and "/api/v1/customers/{" in line]
    assert any('status_code="200"' in line for line in lines) and any('status_code="401"' in line for line in lines)
    assert str(customer) not in text


async def test_allow_listed_operation_names_keep_their_label(settings, tmp_path) -> None:  # noqa: ANN001
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    query = "query SellerHome { me { email } }"
    allowlist = tmp_path / "allow.json"
    allowlist.write_text(json.dumps({sha256(query): query}))
    app = create_app(msgspec.structs.replace(settings, graphql_allowlist=str(allowlist)), passwords=FAST_PASSWORDS, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        headers = await login(c, seller["email"])
        ok = await c.post("/graphql", json={"operationName": "SellerHome", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}}, headers=headers)
        assert ok.status_code == 200 and ok.json()["data"]["me"]["email"] == seller["email"]
        text = (await c.get("/metrics")).text
    assert 'clienteling_graphql_operations_total{name="SellerHome",outcome="ok",type="query"}' in text
