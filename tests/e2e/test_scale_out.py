"""Scale-out: two app processes on one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.e2e.wsclient import GraphQLWS

pytestmark = pytest.mark.e2e


async def test_a_change_through_one_process_reaches_a_subscriber_of_the_other(scaled_out) -> None:
    a, b = scaled_out
    seller_b = b.login("associate.madrid@example.com")  # tokens work on either process
    manager_a = a.login("manager.madrid@example.com")
    with b.client() as c:
        customer = c.get("/api/v1/customers", params={"limit": 1}, headers=seller_b).json()["items"][0]
    ws = await GraphQLWS.open(b.base_url, seller_b["Authorization"][7:])
    assert (await ws.receive())["type"] == "connection_ack"
    await ws.subscribe("subscription($id: ID!) { customerUpdated(id: $id) { id tags version } }", {"id": customer["id"]})
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=a.base_url) as c:
        r = await c.patch(f"/api/v1/customers/{customer['id']}", json={"tags": ["scale-out"]}, headers=manager_a)
        assert r.status_code == 200, r.text
    message = await ws.receive(timeout=10)
    assert message["type"] == "next"
    assert message["payload"]["data"]["customerUpdated"]["tags"] == ["scale-out"]
    await ws.close()


async def test_both_processes_append_to_one_valid_audit_chain(scaled_out) -> None:
    a, b = scaled_out
    seller_a = a.login("associate.madrid@example.com")
    seller_b = b.login("associate.madrid@example.com")
    async with httpx.AsyncClient(base_url=a.base_url) as ca, httpx.AsyncClient(base_url=b.base_url) as cb:
        ids = [i["id"] for i in (await ca.get("/api/v1/customers", params={"limit": 20}, headers=seller_a)).json()["items"]]
        await asyncio.gather(*[(ca if n % 2 else cb).get(f"/api/v1/customers/{cid}", headers=seller_a if n % 2 else seller_b) for n, cid in enumerate(ids)])
        compliance = a.login("compliance@example.com")
        verdict = (await cb.get("/api/v1/audit/verify", headers=compliance)).json()
    assert verdict["ok"] is True and verdict["entries"] >= 21
