"""Prometheus metrics: request figures by route template, audit latency, GraphQL operations."""

from __future__ import annotations

import httpx
import msgspec

from api.app import create_app
from tests.factories import FAST_PASSWORDS, make_customer, make_staff, make_store
from tests.integration.conftest import login


async def test_metrics_show_routes_audit_latency_and_graphql_operations(client) -> None:
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    customer = await make_customer(store=store, email="metrics.person@example.com")
    headers = await login(client, seller["email"])
    await client.get(f"/api/v1/customers/{customer}", headers=headers)
    await client.post("/graphql", json={"query": "query Who { me { email } }", "operationName": "Who"}, headers=headers)
    text = (await client.get("/metrics")).text
    assert 'path="/api/v1/customers/{customer_id:uuid}"' in text or 'path="/api/v1/customers/{customer_id}"' in text
    assert "clienteling_audit_write_seconds_count" in text
    assert 'clienteling_graphql_operations_total{name="Who",outcome="ok",type="query"}' in text
    assert 'clienteling_login_attempts_total{outcome="succeeded"}' in text
    assert str(customer) not in text and "metrics.person" not in text


async def test_metrics_can_require_a_token(settings) -> None:  # noqa: ANN001
    app = create_app(msgspec.structs.replace(settings, metrics_token="m" * 20), passwords=FAST_PASSWORDS, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/metrics")).status_code == 401
        r = await c.get("/metrics", headers={"Authorization": "Bearer " + "m" * 20})
        assert r.status_code == 200 and "clienteling" in r.text
