"""Load: a sustained mixed load of a busy store network, memory and connections flat.

Starts a throwaway PostgreSQL cluster on port 55432 (never the shared server) and the service
with demo data on it, then runs ``--clients`` concurrent staff sessions of all three stores for
``--seconds`` (default 60; the recorded run lasted 3 minutes), with 20 store managers' screens subscribed to live alerts over WebSocket all along:
customer reads, name searches, note writes, a GraphQL customer-360 query, an offline-sync
pull (``pullCustomer``, when the build has it) and signed check-in webhooks (which raise
store alerts). Passes when no request fails, the server's resident memory grows by less than
25 % between the first and the last third of the run, and its PostgreSQL connections stay
within the pool size.

Usage: ``.venv/bin/python ops/load/mixed_load.py [--seconds 60] [--clients 6]``. The last
result is written to ops/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ops._harness import PgCluster, Service, record_result  # noqa: E402

WEBHOOK_SECRET = "load-webhook-secret-" + "l" * 16
POOL_MAX = 10
STAFF = ["associate.madrid@example.com", "associate.bucharest@example.com", "manager.madrid@example.com", "hq@example.com"]
Q360 = "query($id: ID!) { customer(id: $id) { id firstName lastName loyaltyTier notes(first: 5) { body } purchases(first: 5) { edges { node { total currency } } } } }"
PULL = "query { pullCustomer(limit: 50) { documents { id updatedAt } checkpoint { id updatedAt } } }"


async def _session(client: httpx.AsyncClient, email: str, n: int, stop: float, lat: dict[str, list[float]], results: Counter, has_pull: bool) -> None:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": "clienteling-demo"})
    r.raise_for_status()
    stores = r.json()["staff"]["storeIds"]
    if has_pull and email.startswith("associate.madrid"):
        # Sync needs a registered tablet: the Madrid manager registers one, the seller signs in on it.
        manager = await client.post("/api/v1/auth/login", json={"email": "manager.madrid@example.com", "password": "clienteling-demo"})
        mh = {"Authorization": f"Bearer {manager.json()['accessToken']}"}
        device = f"load-tablet-{n}"
        (await client.post("/api/v1/devices", json={"id": device, "storeId": stores[0], "label": "Load tablet"}, headers=mh)).raise_for_status()
        r = await client.post("/api/v1/auth/login", json={"email": email, "password": "clienteling-demo", "deviceId": device})
        r.raise_for_status()
    else:
        has_pull = False  # only the tablet sessions sync
    headers = {"Authorization": f"Bearer {r.json()['accessToken']}"}
    customers = [c["id"] for c in (await client.get("/api/v1/customers", params={"limit": 100}, headers=headers)).json()["items"]]
    i = n
    while time.monotonic() < stop:
        i += 1
        cid = customers[i % len(customers)]
        kind = ("read", "search", "write", "graphql360", "sync_pull", "check_in", "read", "search")[i % 8]
        if kind == "sync_pull" and not has_pull:
            kind = "read"
        t0 = time.perf_counter()
        try:
            if kind == "read":
                r = await client.get(f"/api/v1/customers/{cid}", headers=headers)
            elif kind == "search":
                r = await client.get("/api/v1/customers", params={"q": ("garcia", "popescu", "martinez", "puig")[i % 4], "limit": 20}, headers=headers)
            elif kind == "write":
                r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": f"load note {n}-{i}"}, headers=headers)
            elif kind == "graphql360":
                r = await client.post("/graphql", json={"query": Q360, "variables": {"id": cid}}, headers=headers)
                if r.status_code == 200 and r.json().get("errors"):
                    results[f"{kind}:graphql-error:{r.json()['errors'][0].get('extensions', {}).get('code')}"] += 1
            elif kind == "sync_pull":
                r = await client.post("/graphql", json={"query": PULL}, headers=headers)
                if r.status_code == 200 and r.json().get("errors"):
                    results[f"{kind}:graphql-error:{r.json()['errors'][0].get('extensions', {}).get('code')}"] += 1
            else:
                store = stores[0] if stores else None
                if store is None:
                    continue
                body = json.dumps({"externalId": f"load-{uuid.uuid4().hex}", "customerId": cid, "storeId": store, "occurredAt": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")}).encode()
                sig = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
                r = await client.post("/api/v1/integrations/check-ins", content=body, headers={"content-type": "application/json", "X-Clienteling-Signature": sig})
            results[f"{kind}:{r.status_code}"] += 1
        except httpx.TransportError as exc:
            results[f"{kind}:{type(exc).__name__}"] += 1
        lat[kind].append((time.perf_counter() - t0) * 1000)


ALERTS = "subscription($storeId: ID!) { storeAlerts(storeId: $storeId) { kind storeId occurredAt } }"


async def _alerts(base_url: str, stop: float, subscribers: int, alerts: Counter) -> None:
    """Store managers' screens: WebSocket subscribers to the Madrid store's live alerts for the
    whole run (check-ins in the mix raise VIP alerts). Counts alerts and dropped sockets."""
    from websockets.exceptions import ConnectionClosed

    from tests.e2e.wsclient import GraphQLWS

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        r = await client.post("/api/v1/auth/login", json={"email": "manager.madrid@example.com", "password": "clienteling-demo"})
        token, store = r.json()["accessToken"], r.json()["staff"]["storeIds"][0]

    async def one() -> None:
        ws = await GraphQLWS.open(base_url, token)
        if (await ws.receive())["type"] != "connection_ack":
            alerts["refused"] += 1
            return
        await ws.subscribe(ALERTS, {"storeId": store})
        try:
            while time.monotonic() < stop:
                try:
                    message = await ws.receive(timeout=max(0.1, stop - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                alerts["alert" if message["type"] == "next" and message["payload"].get("data") else message["type"]] += 1
        except ConnectionClosed:
            alerts["dropped"] += 1
        finally:
            await ws.close()

    await asyncio.gather(*[one() for _ in range(subscribers)])


async def _sample(svc: Service, db_url: str, stop: float, samples: list[tuple[float, int, int]]) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        start = time.monotonic()
        while time.monotonic() < stop:
            conns = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            samples.append((time.monotonic() - start, svc.rss_kib(), conns))
            await asyncio.sleep(2)
    finally:
        await conn.close()


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else 0.0


async def run(seconds: float, clients: int) -> tuple[bool, list[str]]:
    cluster = PgCluster()
    cluster.start()
    svc = None
    try:
        admin = await asyncpg.connect(cluster.url)
        await admin.execute('CREATE DATABASE "clienteling_load"')
        await admin.close()
        db_url = cluster.url.rsplit("/", 1)[0] + "/clienteling_load"
        svc = Service(db_url, extra_env={"CLIENTELING_WEBHOOK_SECRET": WEBHOOK_SECRET, "CLIENTELING_DB_POOL_MAX": str(POOL_MAX), "CLIENTELING_JSON_LOGS": "true"})
        async with httpx.AsyncClient(base_url=svc.base_url, timeout=30) as client:
            probe = await client.post("/graphql", json={"query": "{ __type(name: \"Query\") { fields { name } } }"})
            has_pull = "pullCustomer" in probe.text
            lat: dict[str, list[float]] = defaultdict(list)
            results: Counter = Counter()
            samples: list[tuple[float, int, int]] = []
            stop = time.monotonic() + seconds
            sampler = asyncio.create_task(_sample(svc, db_url, stop, samples))
            alerts: Counter = Counter()
            watchers = asyncio.create_task(_alerts(svc.base_url, stop, 20, alerts))
            await asyncio.gather(*[_session(client, STAFF[n % len(STAFF)], n, stop, lat, results, has_pull) for n in range(clients)])
            await sampler
            await watchers
        failures = {k: v for k, v in results.items() if not k.split(":")[1].startswith("2") or "graphql-error" in k}
        third = max(1, len(samples) // 3)
        rss_first = statistics.mean(s[1] for s in samples[:third])
        rss_last = statistics.mean(s[1] for s in samples[-third:])
        max_conns = max(s[2] for s in samples)
        total = sum(results.values())
        checks = {
            "no request failed": not failures,
            "memory flat (last third < first third + 25 %)": rss_last < rss_first * 1.25,
            f"PostgreSQL connections within the pool ({POOL_MAX})": max_conns <= POOL_MAX,
            "the service process stayed up": svc.proc.poll() is None,
            "20 live-alert subscribers stayed connected and received alerts": not alerts["dropped"] and not alerts["refused"] and alerts["alert"] > 0,
        }
        lines = [
            f"- {clients} concurrent staff sessions for {seconds:.0f} s on PostgreSQL 15 (throwaway cluster); {total} requests, {total / seconds:.0f}/s",
            f"- offline-sync pull in the mix: {'yes' if has_pull else 'no (not in this build)'}",
            f"- live alerts: 20 WebSocket subscribers to the Madrid store's alerts received {alerts['alert']} alerts in all; dropped sockets: {alerts['dropped']}",
            f"- failures: {failures or 'none'}",
            f"- server memory (RSS): first third {rss_first / 1024:.0f} MiB, last third {rss_last / 1024:.0f} MiB; PostgreSQL connections: max {max_conns}, samples {[s[2] for s in samples]}",
            "",
            "| kind | requests | p50 ms | p95 ms | p99 ms |",
            "| --- | --- | --- | --- | --- |",
            *[f"| {k} | {len(v)} | {_pct(v, .5):.1f} | {_pct(v, .95):.1f} | {_pct(v, .99):.1f} |" for k, v in sorted(lat.items())],
            "",
            "| check | result |",
            "| --- | --- |",
            *[f"| {name} | {'yes' if good else '**no**'} |" for name, good in checks.items()],
        ]
        return all(checks.values()), lines
    finally:
        if svc:
            svc.stop()
        cluster.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    ok, lines = asyncio.run(run(args.seconds, args.clients))
    record_result("Mixed load of a store network (ops/load/mixed_load.py)", ok, lines)
    print("\n".join(lines))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
