"""The 360's wishlist, open tasks and upcoming appointments, batched and permission-filtered."""

from __future__ import annotations

import datetime as dt

from tests.factories import grant, make_customer, make_staff, make_store
from tests.integration.conftest import login

QUERY = """
query($id: ID!) { customer(id: $id) {
  firstName
  wishlist { sku productName }
  openTasks { title }
  upcomingAppointments { channel }
} }
"""


async def test_360_shows_wishlist_open_tasks_and_upcoming_appointments(client) -> None:
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    customer = await make_customer(store=store, primary=seller["id"])
    headers = await login(client, seller["email"])
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    r = await client.post(f"/api/v1/customers/{customer}/wishlist", json={"sku": "SKU-1", "productName": "Linen shirt"}, headers=headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/customers/{customer}/tasks", json={"title": "Call about the shirt", "dueAt": soon.isoformat()}, headers=headers)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/customers/{customer}/appointments", json={"startsAt": soon.isoformat(), "endsAt": (soon + dt.timedelta(hours=1)).isoformat(), "channel": "video"}, headers=headers)
    assert r.status_code == 201, r.text
    data = (await client.post("/graphql", json={"query": QUERY, "variables": {"id": str(customer)}}, headers=headers)).json()["data"]["customer"]
    assert data["wishlist"] == [{"sku": "SKU-1", "productName": "Linen shirt"}]
    assert data["openTasks"] == [{"title": "Call about the shirt"}]
    assert data["upcomingAppointments"] == [{"channel": "VIDEO"}]


async def test_a_role_without_task_access_gets_null_on_that_field_only(client) -> None:
    store = await make_store()
    customer = await make_customer(store=store)
    await grant(customer=customer, purpose="marketing_email")
    marketing = await make_staff(role="marketing")
    result = (await client.post("/graphql", json={"query": QUERY, "variables": {"id": str(customer)}}, headers=await login(client, marketing["email"]))).json()
    data = result["data"]["customer"]
    assert data["firstName"] == "Ana" and data["wishlist"] == []
    assert data["openTasks"] is None and data["upcomingAppointments"] is None
    paths = {tuple(e["path"]) for e in result["errors"]}
    assert paths == {("customer", "openTasks"), ("customer", "upcomingAppointments")}
    assert {e["extensions"]["code"] for e in result["errors"]} == {"FORBIDDEN"}
