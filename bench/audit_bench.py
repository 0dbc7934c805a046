"""Cost of the access audit: time to append one hash-chained entry, alone and with
concurrent appenders, on SQLite and PostgreSQL.

    python bench/audit_bench.py [--entries 2000] [--concurrency 8]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Creates throwaway databases, prints p50/p95/p99 and throughput; asserts nothing."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid

import asyncpg

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.services.audit import AuditTrail
from domain.staff import Principal, Role


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


async def _run(label: str, entries: int, concurrency: int) -> None:
    trail = AuditTrail(PolicyStore())
    actor = Principal(staff_id=uuid.uuid4(), role=Role.ASSOCIATE, store_ids=frozenset({uuid.uuid4()}), session_id=uuid.uuid4(), surface="bench")
    for workers in (1, concurrency):
        times: list[float] = []

        async def worker(n: int) -> None:
            for _ in range(n):
                started = time.perf_counter()
                await trail.record(actor, action="read", customer_ids=[uuid.uuid4()], fields=["first_name", "email:masked"])
                times.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*[worker(entries // workers) for _ in range(workers)])
        elapsed = time.perf_counter() - began
        print(f"{label:10} appenders={workers:<2} n={len(times):<5} p50={_pct(times, .5):6.2f} ms  p95={_pct(times, .95):6.2f} ms  "
              f"p99={_pct(times, .99):6.2f} ms  mean={statistics.mean(times) * 1000:6.2f} ms  throughput={len(times) / elapsed:7.0f}/s")
    verdict = await trail.verify()
    print(f"{label:10} chain verified: ok={verdict.ok} entries={verdict.entries}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db.bind(db.engine_from_url(f"sqlite:///{tmp}/bench.sqlite3"))
        await db.start_pool()
        await db.migrate()
        await _run("sqlite", args.entries, args.concurrency)

    admin = await asyncpg.connect(args.postgres)
    name = f"clienteling_bench_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db.bind(db.engine_from_url(f"{args.postgres.rsplit('/', 1)[0]}/{name}"))
        await db.start_pool(2, args.concurrency + 2)
        await db.migrate()
        await _run("postgresql", args.entries, args.concurrency)
        await db.close_pool()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
