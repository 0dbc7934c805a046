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


async def test_sync_clients_on_both_processes_see_one_change_sequence(scaled_out) -> None:
    """Writes land concurrently through both processes; a tablet pulling from A and one
    pulling from B (page by page, while the writes go on) end with the same documents at
    the same positions, and positions never repeat."""
    a, b = scaled_out
    hq = a.login("hq@example.com")
    manager = a.login("manager.madrid@example.com")
    with a.client() as c:
        store = c.post("/api/v1/auth/login", json={"email": "associate.madrid@example.com", "password": "clienteling-demo"}).json()["staff"]["storeIds"][0]
        tokens = []
        for process, name in ((a, "scale-a"), (b, "scale-b")):
            device = f"{name}-{id(process) % 10_000}"
            assert c.post("/api/v1/devices", json={"id": device, "storeId": store}, headers=hq).status_code in (201, 409)
            r = c.post("/api/v1/auth/login", json={"email": "associate.madrid@example.com", "password": "clienteling-demo", "deviceId": device})
            tokens.append({"Authorization": f"Bearer {r.json()['accessToken']}"})
        ids = [i["id"] for i in c.get("/api/v1/customers", params={"limit": 40}, headers=manager).json()["items"]]
    query = ("query P($checkpoint: CustomerInputCheckpoint, $limit: Int!) { pullCustomer(checkpoint: $checkpoint, limit: $limit) "
             "{ documents { id updatedAt tags } checkpoint { id updatedAt } } }")

    class Tablet:
        def __init__(self, base: str, headers: dict) -> None:
            self.base, self.headers = base, headers
            self.seen: dict[str, tuple[float, str]] = {}
            self.checkpoint = None

        async def pull(self) -> dict[str, tuple[float, str]]:
            """Incremental, from the tablet's own checkpoint, as RxDB does."""
            async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
                while True:
                    r = await http.post("/graphql", json={"query": query, "variables": {"checkpoint": self.checkpoint, "limit": 300}}, headers=self.headers)
                    bulk = r.json()["data"]["pullCustomer"]
                    for d in bulk["documents"]:
                        self.seen[d["id"]] = (d["updatedAt"], d["tags"])
                    if bulk["documents"]:
                        self.checkpoint = bulk["checkpoint"]
                    if len(bulk["documents"]) < 300:
                        return self.seen

    async def pull_everything(base: str, headers: dict) -> dict[str, tuple[float, str]]:
        return await Tablet(base, headers).pull()

    tablet_a = Tablet(a.base_url, tokens[0])
    await tablet_a.pull()

    async def keep_pulling() -> None:
        for _ in range(15):
            await tablet_a.pull()
            await asyncio.sleep(0.05)

    async def write(n: int, cid: str) -> None:
        base = a.base_url if n % 2 else b.base_url
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            r = await http.patch(f"/api/v1/customers/{cid}", json={"tags": [f"w{n}"]}, headers=manager)
            assert r.status_code == 200, r.text

    await asyncio.gather(*[write(n, cid) for n, cid in enumerate(ids)], keep_pulling())
    seen_a = await tablet_a.pull()  # incremental pulls during the writes skipped nothing
    seen_b = await pull_everything(b.base_url, tokens[1])
    assert seen_a == seen_b
    assert all(seen_a[cid][1] == f'["w{n}"]' for n, cid in enumerate(ids))
    positions = [pos for pos, _ in seen_a.values()]
    assert len(positions) == len(set(positions))


def test_a_loyalty_event_through_one_process_is_pushed_exactly_once_by_two_workers(scaled_out) -> None:
    """Two app processes, two push-worker processes, one PostgreSQL, one Redis: the member
    subscribes through A, the purchase arrives through B, one notification reaches the
    receiver, and the audit chain still verifies."""
    import datetime as dt
    import json
    import signal
    import subprocess
    import time
    import uuid

    from domain.integrations import sign
    from tests.e2e.conftest import DEMO_PASSWORD, WEBHOOK_SECRET, _command
    from tests.push_receiver import PushReceiver

    a, b = scaled_out
    receiver = PushReceiver()
    workers = [
        subprocess.Popen([*_command(), "push-worker"], cwd=a.workdir, env=a.env, stdout=(a.workdir / f"worker-{n}.log").open("w"), stderr=subprocess.STDOUT)
        for n in range(2)
    ]
    try:
        with a.client() as c:
            r = c.post("/api/v1/members/login", json={"email": "member@example.com", "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            member = {"Authorization": f"Bearer {r.json()['accessToken']}"}
            me = c.get("/api/v1/members/me", headers=member).json()
            token, subscription = receiver.subscribe()
            assert c.post("/api/v1/members/me/push-subscriptions", json=subscription, headers=member).status_code == 201
        payload = {
            "externalId": f"scale-{uuid.uuid4().hex[:12]}", "loyaltyNumber": me["loyaltyNumber"], "storeId": None, "channel": "online",
            "occurredAt": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)).isoformat(), "currency": "EUR",
            "total": "40.00", "lines": [{"sku": "SKU-SCALE", "name": "Camisa", "quantity": 1, "unitPrice": "40.00"}],
        }
        body = json.dumps(payload).encode()
        with b.client() as c:
            r = c.post("/api/v1/integrations/purchases", content=body, headers={"X-Clienteling-Signature": sign(WEBHOOK_SECRET, body), "Content-Type": "application/json"})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not receiver.messages(token):
            time.sleep(0.1)
        time.sleep(2)  # a duplicate would arrive within the poll interval
        messages = [m for m in receiver.messages(token) if m.payload["type"] == "points_earned"]
        assert len(messages) == 1, [m.payload for m in receiver.messages(token)]
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=20)
        receiver.close()
    assert all(w.returncode == 0 for w in workers)
    compliance = a.login("compliance@example.com")
    with b.client() as c:
        verdict = c.get("/api/v1/audit/verify", headers=compliance).json()
    assert verdict["ok"] is True and verdict["entries"] > 0
