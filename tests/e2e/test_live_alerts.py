"""Live alerts through the running service and real WebSocket clients."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.wsclient import GraphQLWS

pytestmark = pytest.mark.e2e

CUSTOMER_UPDATED = "subscription($id: ID!) { customerUpdated(id: $id) { id email preferences version } }"


def _token(service, email: str) -> str:  # noqa: ANN001
    return service.login(email)["Authorization"][7:]


def _a_madrid_customer_outside_the_book(service, headers: dict) -> dict:  # noqa: ANN001
    with service.client() as c:
        me = c.get("/api/v1/me", headers=headers).json()
        items = c.get("/api/v1/customers", params={"limit": 50}, headers=headers).json()["items"]
    return next(i for i in items if i["primaryAssociateId"] != me["id"] and i["secondaryAssociateId"] != me["id"] and i["sizes"] is not None)


async def test_a_bad_token_is_refused_at_connection_init(service) -> None:
    ws = await GraphQLWS.open(service.base_url, "v1.forged.token")
    with pytest.raises(ConnectionClosed) as closed:
        await ws.receive()
    assert closed.value.rcvd.code == 4403


async def test_missing_token_is_refused_at_connection_init(service) -> None:
    ws = await GraphQLWS.open(service.base_url, None)
    with pytest.raises(ConnectionClosed) as closed:
        await ws.receive()
    assert closed.value.rcvd.code == 4403


async def test_customer_updated_reaches_an_open_360_screen_as_its_viewer_sees_it(service) -> None:
    seller = service.login("associate.madrid@example.com")
    customer = _a_madrid_customer_outside_the_book(service, seller)
    ws = await GraphQLWS.open(service.base_url, seller["Authorization"][7:])
    assert (await ws.receive())["type"] == "connection_ack"
    sub = await ws.subscribe(CUSTOMER_UPDATED, {"id": customer["id"]})
    await asyncio.sleep(0.3)  # let the subscription register before the change
    manager = service.login("manager.madrid@example.com")
    async with httpx.AsyncClient(base_url=service.base_url) as c:
        r = await c.patch(f"/api/v1/customers/{customer['id']}", json={"preferences": {"colors": ["ochre"]}}, headers=manager)
        assert r.status_code == 200, r.text
    message = await ws.receive()
    assert message["type"] == "next" and message["id"] == sub
    data = message["payload"]["data"]["customerUpdated"]
    assert data["preferences"] == {"colors": ["ochre"]}
    assert data["email"] is None or "•••" in data["email"]  # the seller's masked view, not the manager's
    # a shared note added by someone else also refreshes the screen
    async with httpx.AsyncClient(base_url=service.base_url) as c:
        await c.post(f"/api/v1/customers/{customer['id']}/notes", json={"body": "Asked for the ochre scarf"}, headers=manager)
    assert (await ws.receive())["type"] == "next"
    await ws.close()


async def test_a_customer_of_another_store_cannot_be_watched(service) -> None:
    madrid = service.login("associate.madrid@example.com")
    customer = _a_madrid_customer_outside_the_book(service, madrid)
    ws = await GraphQLWS.open(service.base_url, _token(service, "associate.bucharest@example.com"))
    assert (await ws.receive())["type"] == "connection_ack"
    await ws.subscribe(CUSTOMER_UPDATED, {"id": customer["id"]})
    message = await ws.receive()
    assert message["type"] == "error" or (message["type"] == "next" and message["payload"].get("errors"))
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    await ws.close()


async def test_store_alerts_of_another_store_are_forbidden(service) -> None:
    ws = await GraphQLWS.open(service.base_url, _token(service, "associate.bucharest@example.com"))
    assert (await ws.receive())["type"] == "connection_ack"
    with service.client() as c:
        madrid_id = c.get("/api/v1/me", headers=service.login("associate.madrid@example.com")).json()["storeIds"][0]
    await ws.subscribe("subscription($s: ID!) { storeAlerts(storeId: $s) { kind } }", {"s": madrid_id})
    message = await ws.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"
    await ws.close()


async def test_logout_ends_an_open_subscription_at_the_next_event(service) -> None:
    seller = service.login("associate.madrid@example.com")
    customer = _a_madrid_customer_outside_the_book(service, seller)
    ws = await GraphQLWS.open(service.base_url, seller["Authorization"][7:])
    assert (await ws.receive())["type"] == "connection_ack"
    await ws.subscribe(CUSTOMER_UPDATED, {"id": customer["id"]})
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(base_url=service.base_url) as c:
        assert (await c.post("/api/v1/auth/logout", headers=seller)).status_code == 204
        await c.patch(f"/api/v1/customers/{customer['id']}", json={"tags": ["after-logout"]}, headers=service.login("manager.madrid@example.com"))
    message = await ws.receive()
    assert message["type"] in ("error", "next")
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors and errors[0]["extensions"]["code"] == "TOKEN_INVALID"
    await ws.close()


async def test_the_websocket_negotiates_permessage_deflate(service) -> None:
    """Mobile networks: subscription traffic is compressed when the client offers it."""
    from websockets.asyncio.client import connect

    url = service.base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"], compression="deflate", open_timeout=10) as conn:
        assert "permessage-deflate" in conn.response.headers.get("Sec-WebSocket-Extensions", "")
    async with connect(url, subprotocols=["graphql-transport-ws"], compression=None, open_timeout=10) as conn:
        assert "permessage-deflate" not in conn.response.headers.get("Sec-WebSocket-Extensions", "")


async def test_websocket_connections_stay_out_of_the_http_request_metrics(service) -> None:
    """The Prometheus HTTP middleware sees HTTP scopes only: a WebSocket is not a request,
    and wrapping each of its frames cost fan-out time (bench/REPORT.md, W6)."""
    ws = await GraphQLWS.open(service.base_url, _token(service, "associate.madrid@example.com"))
    assert (await ws.receive())["type"] == "connection_ack"
    await ws.close()
    await asyncio.sleep(0.2)  # the server has finished the connection
    with service.client() as c:
        c.get("/api/v1/me", headers=service.login("associate.madrid@example.com"))
        text = c.get("/metrics").text
    assert 'clienteling_http_requests_total{' in text and 'method="GET"' in text
    assert 'method="websocket"' not in text


async def test_every_event_reads_nested_fields_afresh(service) -> None:
    """The connection's context lives as long as the subscription: a nested field read
    through a dataloader (notes) must show the second note at the second event, not the
    first event's cached list."""
    manager = service.login("manager.madrid@example.com")
    customer = _a_madrid_customer_outside_the_book(service, manager)
    ws = await GraphQLWS.open(service.base_url, manager["Authorization"][7:])
    assert (await ws.receive())["type"] == "connection_ack"
    sub = await ws.subscribe("subscription($id: ID!) { customerUpdated(id: $id) { id notes(first: 50) { body } } }", {"id": customer["id"]})
    await asyncio.sleep(0.3)
    seen = []
    async with httpx.AsyncClient(base_url=service.base_url) as c:
        for body in ("First fresh note for the live screen", "Second fresh note for the live screen"):
            r = await c.post(f"/api/v1/customers/{customer['id']}/notes", json={"body": body}, headers=manager)
            assert r.status_code == 201, r.text
            message = await ws.receive()
            assert message["type"] == "next" and message["id"] == sub, message
            seen.append({n["body"] for n in message["payload"]["data"]["customerUpdated"]["notes"]})
    await ws.close()
    assert "First fresh note for the live screen" in seen[0]
    assert {"First fresh note for the live screen", "Second fresh note for the live screen"} <= seen[1]
