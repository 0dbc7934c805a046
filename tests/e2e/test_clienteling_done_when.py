"""Issue 5's closing scenario through the running service, GraphQL and real WebSockets:
search "jose garcia", open the 360, add a note while a second client watches the customer;
a signed check-in of a consenting VIP alerts the Madrid store only."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from domain.integrations import sign
from tests.e2e.conftest import WEBHOOK_SECRET
from tests.e2e.wsclient import GraphQLWS

pytestmark = pytest.mark.e2e

SEARCH = "query($q: String) { customers(search: $q, first: 5) { edges { node { id firstName lastName } } } }"
C360 = """query($id: ID!) { customer(id: $id) { id firstName lastName loyalty { tier pointsToNextTier }
  purchases(first: 3) { edges { node { total currency } } } notes { body } openTasks { title }
  upcomingAppointments { startsAt } consentSummary { purpose granted } timeline(first: 5) { kind } } }"""


async def _gql(c: httpx.AsyncClient, query: str, variables: dict, headers: dict) -> dict:
    r = await c.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    body = r.json()
    assert r.status_code == 200 and not body.get("errors"), body
    return body["data"]


async def test_search_open_360_add_note_and_a_second_tab_sees_it(service) -> None:
    seller = service.login("associate.madrid@example.com")
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as c:
        found = (await _gql(c, SEARCH, {"q": "jose garcia"}, seller))["customers"]["edges"]
        assert found, "typo- and accent-tolerant search found no José García in Madrid"
        top = found[0]["node"]
        assert "jos" in top["firstName"].lower() and "garc" in top["lastName"].lower()
        c360 = (await _gql(c, C360, {"id": top["id"]}, seller))["customer"]
        assert c360["consentSummary"] and c360["timeline"] is not None and c360["loyalty"]["tier"]
        tab = await GraphQLWS.open(service.base_url, seller["Authorization"][7:])
        assert (await tab.receive())["type"] == "connection_ack"
        await tab.subscribe("subscription($id: ID!) { customerUpdated(id: $id) { id notes { body } } }", {"id": top["id"]})
        await asyncio.sleep(0.3)
        body = f"Prefers fittings on Saturday mornings {uuid.uuid4().hex[:6]}"
        await _gql(c, 'mutation($id: ID!, $b: String!) { addNote(customerId: $id, input: {body: $b}) { id } }', {"id": top["id"], "b": body}, seller)
        message = await tab.receive()
        assert message["type"] == "next"
        assert body in [n["body"] for n in message["payload"]["data"]["customerUpdated"]["notes"]]
        await tab.close()


async def _next_alert(ws: GraphQLWS, wanted: dict, *, timeout: float) -> bool:
    """Whether ``wanted`` arrives on the stream within ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            message = await ws.receive(timeout=left)
        except asyncio.TimeoutError:
            return False
        if message["type"] == "next" and message["payload"]["data"]["storeAlerts"] == wanted:
            return True
    return False


async def test_signed_check_in_of_a_consenting_vip_alerts_madrid_only(service) -> None:
    manager = service.login("manager.madrid@example.com")
    bucharest = service.login("associate.bucharest@example.com")
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as c:
        madrid_id = (await c.get("/api/v1/me", headers=manager)).json()["storeIds"][0]
        bucharest_id = (await c.get("/api/v1/me", headers=bucharest)).json()["storeIds"][0]
        vips = (await _gql(c, "query($s: ID!) { storeClients(storeId: $s, filter: {vip: true}, first: 200) { edges { node { id consentSummary { purpose granted } } } } }", {"s": madrid_id}, manager))["storeClients"]["edges"]
        vip = next(e["node"]["id"] for e in vips if any(x["purpose"] == "in_store_recognition" and x["granted"] for x in e["node"]["consentSummary"]))
        here = await GraphQLWS.open(service.base_url, manager["Authorization"][7:])
        there = await GraphQLWS.open(service.base_url, bucharest["Authorization"][7:])
        for ws, store in ((here, madrid_id), (there, bucharest_id)):
            assert (await ws.receive())["type"] == "connection_ack"
            await ws.subscribe("subscription($s: ID!) { storeAlerts(storeId: $s) { kind customer { id } } }", {"s": store})
        await asyncio.sleep(0.3)
        payload = json.dumps({"externalId": f"e2e-{uuid.uuid4()}", "customerId": vip, "storeId": madrid_id, "occurredAt": "2026-11-23T10:00:00+00:00"}).encode()
        r = await c.post("/api/v1/integrations/check-ins", content=payload, headers={"content-type": "application/json", "X-Clienteling-Signature": sign(WEBHOOK_SECRET, payload)})
        assert r.status_code == 201 and r.json()["alerted"] is True, r.text
        # The stream also carries unrelated alerts (follow-ups assigned meanwhile): wait for ours.
        expected = {"kind": "vip_check_in", "customer": {"id": vip}}
        assert await _next_alert(here, expected, timeout=10) is True
        assert await _next_alert(there, expected, timeout=1.5) is False
        bad = await c.post("/api/v1/integrations/check-ins", content=payload, headers={"content-type": "application/json", "X-Clienteling-Signature": "sha256=" + "0" * 64})
        assert bad.status_code == 401
        await here.close()
        await there.close()
