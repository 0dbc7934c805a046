"""W7: Web Push delivery rate of one ``clienteling push-worker`` process, against the local
receiver of the test suite (tests/push_receiver.py: it checks each VAPID JWT and decrypts each
payload, as a browser's push service and the browser would).

    python bench/push_bench.py [--members 1000] [--json]

A throwaway PostgreSQL database gets one store and ``--members`` customers, each a loyalty
member who consents to push notifications and has one subscription at the receiver. The
service (``clienteling serve`` with the in-process push worker off) takes one signed purchase
webhook per member (each earns points: one ``points_earned`` notification), then stops.
Then ``clienteling push-worker`` runs pinned to core 0 and the receiver (in this process,
core 1) counts arrivals: notifications per second from the first to the last arrival.
Measures, asserts nothing; drops the database.

Besides the rate: the worker's CPU per notification over its whole life (start-up included)
and between the first and the last arrival (``..._steady``: the cost of sending), its peak
RSS, and ``worker_run_queue_wait_s``: how long, between the first and the last arrival, the
worker's threads were ready to run but core 0 was busy (summed over threads: a worker that
sends from a thread pool on its one core also waits on itself). On a shared machine that
wait, not the worker, can set the rate. ``--profile FILE [--idle]`` records the worker with
py-spy (raw format; ``--idle`` adds the time it spends waiting).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import EXE, HOST, Server, cpu_seconds, free_port, log, maintain, rss_kib  # noqa: E402
from clienteling import db  # noqa: E402
from clienteling.passwords import Passwords  # noqa: E402
from domain.integrations import sign  # noqa: E402
from domain.push import MEMBER_EVENT_TYPES  # noqa: E402
from push.vapid import generate  # noqa: E402
from tests.push_receiver import PushReceiver  # noqa: E402


def _run_queue_wait(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


async def _load(url: str, members: int, receiver: PushReceiver) -> tuple[uuid.UUID, list[uuid.UUID]]:
    db.bind(db.engine_from_url(url))
    await db.migrate()
    await db.close_pool()
    now = dt.datetime.now(dt.timezone.utc)
    store = uuid.uuid4()
    pw = Passwords().hash_sync("bench-password-123")
    customers, consents, accounts, subs = [], [], [], []
    for i in range(members):
        cid = uuid.uuid4()
        customers.append((cid, "Ana", f"Member{i}", f"member{i}@example.com", "es", store, f"L{10_000_000 + i}", f"ana member{i}", now, now))
        consents.append((uuid.uuid4(), cid, "push_notifications", "granted", now - dt.timedelta(days=1), "consent", "web", now))
        accounts.append((uuid.uuid4(), cid, f"member{i}@example.com", pw, json.dumps(list(MEMBER_EVENT_TYPES))))
        _, sub = receiver.subscribe()
        subs.append((uuid.uuid4(), cid, sub["endpoint"], hashlib.sha256(sub["endpoint"].encode()).hexdigest(), sub["keys"]["p256dh"], sub["keys"]["auth"]))
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO store (id, code, name, city, country, timezone) VALUES ($1, 'PSH', 'Push', 'Madrid', 'ES', 'Europe/Madrid')", store)
        await conn.copy_records_to_table("customer", records=customers, columns=["id", "first_name", "last_name", "email", "language", "home_store",
                                                                                 "loyalty_number", "name_key", "created_at", "updated_at"])
        await conn.copy_records_to_table("consent_record", records=consents, columns=["id", "customer", "purpose", "status", "occurred_at",
                                                                                      "legal_basis", "channel", "recorded_at"])
        await conn.copy_records_to_table("member_account", records=accounts, columns=["id", "customer", "email", "password_hash", "event_types"])
        await conn.copy_records_to_table("push_subscription", records=subs, columns=["id", "customer", "endpoint", "endpoint_hash", "p256dh", "auth"])
    finally:
        await conn.close()
    return store, [c[0] for c in customers]


async def _post_purchases(port: int, secret: str, store: uuid.UUID, customers: list[uuid.UUID]) -> int:
    sem = asyncio.Semaphore(8)
    ok = 0

    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=60) as c:
        async def one(cid: uuid.UUID) -> None:
            nonlocal ok
            body = json.dumps({"externalId": f"bench-{cid}", "customerId": str(cid), "storeId": str(store), "channel": "store",
                               "occurredAt": dt.datetime.now(dt.timezone.utc).isoformat(), "currency": "EUR", "total": "120.00",
                               "lines": [{"sku": "BLZ-NAVY", "name": "Navy blazer", "quantity": 1, "unitPrice": "120.00"}]}).encode()
            async with sem:
                r = await c.post("/api/v1/integrations/purchases", content=body,
                                 headers={"X-Clienteling-Signature": sign(secret, body), "Content-Type": "application/json"})
                ok += r.status_code == 201
        await asyncio.gather(*(one(cid) for cid in customers))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print one JSON line (bench/run.py reads it)")
    parser.add_argument("--profile", help="record the worker with py-spy into this file (raw format)")
    parser.add_argument("--idle", action="store_true", help="with --profile: also sample the worker while it waits (wall-clock profile)")
    parser.add_argument("--admin-url", default=os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    name = f"push_bench_{uuid.uuid4().hex[:8]}"
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{name}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    receiver = PushReceiver()
    server = worker = None
    try:
        store, customers = asyncio.run(_load(url, args.members, receiver))
        keys = generate()
        secret = secrets.token_urlsafe(32)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
        env.update({"CLIENTELING_DATABASE_URL": url, "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48), "CLIENTELING_WEBHOOK_SECRET": secret,
                    "CLIENTELING_VAPID_PRIVATE_KEY": keys.private_key, "CLIENTELING_VAPID_SUBJECT": "mailto:bench@example.test",
                    "CLIENTELING_PUSH_ALLOW_HTTP_LOOPBACK": "1", "CLIENTELING_PUSH_WORKER_IN_SERVE": "false",
                    "CLIENTELING_PUSH_RATE_LIMIT_PER_HOUR": "1000", "PYTHONUNBUFFERED": "1"})
        port = free_port()
        server = Server("push-serve", [str(EXE), "serve", "--port", str(port), "--log-level", "warning"], env, port)
        server.wait_ready("/ready")
        t0 = time.perf_counter()
        posted = asyncio.run(_post_purchases(port, secret, store, customers))
        webhook_s = time.perf_counter() - t0
        server.stop()
        server = None
        maintain(url)  # statistics of the filled outbox and delivery tables (the shared server runs without autovacuum)
        log(f"W7: {posted} purchase webhooks accepted in {webhook_s:.1f} s; starting the push worker")
        started = time.time()
        worker = subprocess.Popen(["taskset", "-c", "0", str(EXE), "push-worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        spy = None
        if args.profile:
            spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(worker.pid), "-f", "raw", "-o", args.profile,
                                    "-r", "200", "--nonblocking", *(["--idle"] if args.idle else [])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        peak = 0
        own_cpu = time.process_time()
        at_first: tuple[float, float, int] | None = None  # worker CPU s, run-queue wait s, messages
        polls = 0
        while time.monotonic() < deadline and len(receiver.received) < posted:
            time.sleep(0.02)
            try:
                if at_first is None and receiver.received:
                    at_first = (cpu_seconds(worker.pid), _run_queue_wait(worker.pid), len(receiver.received))
                polls += 1
                if polls % 10 == 0:
                    peak = max(peak, rss_kib(worker.pid)[1])
            except FileNotFoundError:
                break
        own_cpu = time.process_time() - own_cpu
        alive = worker.poll() is None
        worker_cpu = cpu_seconds(worker.pid) if alive else float("nan")
        waited = _run_queue_wait(worker.pid) if alive else float("nan")
        peak = max(peak, rss_kib(worker.pid)[1]) if alive else peak
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=30)
        msgs = receiver.messages()
        times = sorted(m.at for m in msgs)
        span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
        out = {"measured": True, "members": args.members, "webhooks": posted, "received": len(msgs),
               "first_arrival_after_start_s": round(times[0] - started, 2) if times else None,
               "span_s": round(span, 2), "per_s": round((len(times) - 1) / span, 1) if len(times) > 1 else None,
               "end_to_end_s": round(times[-1] - started, 2) if times else None,
               "per_s_incl_start": round(len(times) / (times[-1] - started), 1) if times else None,
               "worker_rss_peak_mib": round(peak / 1024),
               "worker_cpu_ms_per_notification": round(1000 * worker_cpu / max(len(msgs), 1), 2),
               # Between the first and the last arrival: the sending itself, without start-up.
               "worker_cpu_ms_per_notification_steady": round(1000 * (worker_cpu - at_first[0]) / max(len(msgs) - at_first[2], 1), 2) if at_first else None,
               # How long the worker's threads were ready to run but core 0 was busy with
               # something else (other processes on a shared machine, or its own threads).
               "worker_run_queue_wait_s": round(waited - at_first[1], 2) if at_first else None,
               "receiver_cpu_ms_per_notification": round(1000 * own_cpu / max(len(msgs), 1), 2)}
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if server is not None:
            server.stop()
        receiver.close()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(json.dumps(out) if args.json else out)


if __name__ == "__main__":
    main()
