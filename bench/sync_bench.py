"""First offline sync of one store with the stock RxDB client (W5), on PostgreSQL. Measures,
asserts nothing.

    . .venv/bin/activate
    python bench/sync_bench.py                      # 20,000 customers in the tablet's store
    python bench/sync_bench.py --customers 5000 --batch 500

It creates a throwaway database, loads ``--customers`` customers into one store (plus as many
again into other stores, which the tablet must not receive) with COPY, starts
``clienteling serve`` (one process) on a free port, registers a tablet, signs an associate in
on it, and runs ``tests/e2e/rxdb/tablet.mjs`` (rxdb 17.6, memory storage, replicateGraphQL)
until the initial replication is done. Then it changes 100 customers and times the
incremental pull. It prints the times, documents per second and the server's peak RSS
(from /proc), and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.search_bench import COLUMNS, _customers  # noqa: E402
from clienteling import db  # noqa: E402
from clienteling.passwords import Passwords  # noqa: E402
from clienteling.tables import Staff, StaffStore, Store  # noqa: E402
from tests.e2e.rxdb_tablet import Tablet  # noqa: E402

PASSWORD = "bench-password-123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kib(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    values = {line.split(":")[0]: int(line.split()[1]) for line in status.splitlines() if line.startswith(("VmRSS", "VmHWM"))}
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


async def _load(url: str, count: int) -> tuple[uuid.UUID, str]:
    db.bind(db.engine_from_url(url))
    await db.migrate()
    stores = []
    for code, city in (("MAD", "Madrid"), ("BCN", "Barcelona"), ("BUC", "Bucharest")):
        sid = uuid.uuid4()
        await Store.insert(Store(id=sid, code=code, name=city, city=city, country="ES", timezone="Europe/Madrid")).run()
        stores.append(sid)
    manager, associate = uuid.uuid4(), uuid.uuid4()
    password_hash = Passwords().hash_sync(PASSWORD)
    for sid, role in ((manager, "store_manager"), (associate, "associate")):
        await Staff.insert(Staff(id=sid, email=f"{role}@bench.test", display_name=role, role=role, password_hash=password_hash)).run()
        await StaffStore.insert(StaffStore(staff=sid, store=stores[0])).run()
    rng = random.Random(7)
    rows = _customers(count, [stores[0]], rng)
    others = [(*r[:12], f"CX{10_000_000 + i}", *r[13:]) for i, r in enumerate(_customers(count, stores[1:], rng))]
    rows += others
    conn = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table("customer", records=rows, columns=COLUMNS)
        await conn.execute("ANALYZE customer")
        print(f"loaded {len(rows):,} customers ({count:,} in the tablet's store) in {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()
    await db.close_pool()
    return stores[0], "associate@bench.test"


async def _touch(url: str, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "UPDATE customer SET tags = '[\"bench\"]' WHERE id IN (SELECT id FROM customer WHERE home_store = "
            "(SELECT id FROM store WHERE code = 'MAD') ORDER BY id LIMIT $1)", n,
        )
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--admin-url", default=os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    name = f"sync_bench_{uuid.uuid4().hex[:8]}"
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{name}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    proc = None
    tablet = None
    try:
        store, email = asyncio.run(_load(url, args.customers))
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
        env.update({"CLIENTELING_DATABASE_URL": url, "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48), "PYTHONUNBUFFERED": "1"})
        exe = Path(sys.executable).with_name("clienteling")
        proc = subprocess.Popen([str(exe), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        rss_before = _rss_kib(proc.pid)
        with httpx.Client(base_url=base, timeout=30) as c:
            manager = c.post("/api/v1/auth/login", json={"email": "store_manager@bench.test", "password": PASSWORD}).json()["accessToken"]
            assert c.post("/api/v1/devices", json={"id": "bench-tablet", "storeId": str(store)}, headers={"Authorization": f"Bearer {manager}"}).status_code == 201
            token = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD, "deviceId": "bench-tablet"}).json()["accessToken"]
        started = time.perf_counter()
        tablet = Tablet(base, token, "bench-tablet", collections=["customer"], batch_size=args.batch)
        result = tablet.sync()
        elapsed = time.perf_counter() - started
        count = tablet.call("count", collection="customer")
        rss_after = _rss_kib(proc.pid)
        print(f"first sync: {count:,} customers in {elapsed:.2f} s end to end (node start included; "
              f"replication {result['ms'] / 1000:.2f} s), {count / (result['ms'] / 1000):,.0f} docs/s, batch {args.batch}")
        print(f"server RSS: {rss_before[0] / 1024:.0f} MiB before, {rss_after[0] / 1024:.0f} MiB after, peak {rss_after[1] / 1024:.0f} MiB")
        asyncio.run(_touch(url, 100))
        started = time.perf_counter()
        changed = tablet.wait_for("customer", tablet.call("find", collection="customer")[0]["id"], lambda d: True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            docs = tablet.call("find", collection="customer")
            if sum(1 for d in docs if d.get("tags") == '["bench"]') >= 100:
                break
            time.sleep(0.05)
        print(f"incremental: 100 changed customers reached the live tablet (stream + pull) in {time.perf_counter() - started:.2f} s")
        print(json.dumps({"customers": count, "first_sync_s": round(elapsed, 3), "replication_s": result["ms"] / 1000, "rss_peak_mib": round(rss_after[1] / 1024)}))
        del changed
    finally:
        if tablet is not None:
            tablet.close()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
