"""Customer search latency on 200,000 customers on PostgreSQL (measures, asserts nothing).

Run (a PostgreSQL server with pg_trgm, as the test suite uses):

    . .venv/bin/activate
    python bench/search_bench.py                          # 200,000 customers, 400 queries
    python bench/search_bench.py --customers 50000 --queries 200 \\
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres

It creates a throwaway database (``search_bench_<random>``), applies the migrations, loads
the customers with COPY (multilingual es/ca/ro/en names as in the demo data, phones, emails,
loyalty cards, three stores), runs ``ANALYZE``, and then times ``CustomerService.list`` with
a query, the way a REST or GraphQL search runs it: index candidates, ranking in Python,
policy decisions, consent lookups and the audit append, with a page of 50. Queries are drawn
from existing customers: full names, names with a typo, first/last-name prefixes, a single
surname, phone numbers formatted differently, emails and card numbers, for an hq_admin
(every store) and for an associate (one store). It prints p50/p95/p99 per kind of query,
the plan of a typo query, and drops the database (``--keep`` keeps it, and
``--database-url URL`` runs the queries again on a kept one).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clienteling import db  # noqa: E402
from clienteling.demo_data import _NAMES  # noqa: E402 - the demo data's name lists
from clienteling.policy_store import PolicyStore  # noqa: E402
from clienteling.services.audit import AuditTrail  # noqa: E402
from clienteling.services.customers import CustomerService  # noqa: E402
from clienteling.tables import Staff, StaffStore, Store  # noqa: E402
from domain.staff import Principal, Role  # noqa: E402
from domain.text import fold, name_key, normalize_email, phone_digits  # noqa: E402

ORIGINS = [("es", 45), ("ca", 20), ("ro", 25), ("en", 10)]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _customers(n: int, stores: list[uuid.UUID], rng: random.Random) -> list[tuple]:
    now = dt.datetime.now(dt.timezone.utc)
    origins = [o for o, w in ORIGINS for _ in range(w)]
    rows = []
    for i in range(n):
        origin = rng.choice(origins)
        female, male, surnames = _NAMES[origin]
        first = rng.choice(female + male)
        last = rng.choice(surnames)
        if origin in ("es", "ca") and rng.random() < 0.55:
            last = f"{last} {rng.choice(surnames)}"
        email = f"{fold(first).replace(' ', '')}.{fold(last).split(' ')[0]}.{i}@example.com"
        phone = f"+40 7{rng.randint(20, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}" if origin == "ro" else f"+34 6{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"
        birthdate = dt.date(rng.randint(1945, 2005), rng.randint(1, 12), rng.randint(1, 28))
        rows.append((
            uuid.uuid4(), first, last, email, phone, birthdate, origin if origin != "ca" else "es", rng.choice(stores),
            "{}", "{}", "[]", False, f"CL{10_000_000 + i}", "member", 0,
            name_key(first, last), normalize_email(email), phone_digits(phone), 1, now, now,
            birthdate.month * 100 + birthdate.day,
        ))
    return rows


COLUMNS = [
    "id", "first_name", "last_name", "email", "phone", "birthdate", "language", "home_store",
    "sizes", "preferences", "tags", "vip", "loyalty_number", "loyalty_tier", "loyalty_points",
    "name_key", "email_key", "phone_key", "version", "created_at", "updated_at", "birth_mmdd",
]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word)) if len(word) > 1 else 0
    kind = rng.choice(("swap-letter", "drop", "double"))
    if kind == "swap-letter":
        return word[:i] + rng.choice(LETTERS) + word[i + 1:]
    if kind == "drop" and len(word) > 4:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def _queries(rows: list[tuple], count: int, rng: random.Random) -> list[tuple[str, str]]:
    out = []
    kinds = ["full name", "typo", "prefixes", "surname", "phone", "email", "card"]
    for n in range(count):
        r = rng.choice(rows)
        first, last = r[1], r[2]
        kind = kinds[n % len(kinds)]
        if kind == "full name":
            q = f"{first} {last.split(' ')[0]}"
        elif kind == "typo":
            q = f"{first} {_typo(fold(last).split(' ')[0], rng)}"
        elif kind == "prefixes":
            q = f"{fold(first)[:3]} {fold(last)[:3]}"
        elif kind == "surname":
            q = last.split(" ")[0]
        elif kind == "phone":
            q = r[4].replace("+34 ", "").replace("+40 ", "0") if rng.random() < 0.5 else r[4].replace(" ", "-")
        elif kind == "email":
            q = r[3].upper()
        else:
            q = r[12].lower()
        out.append((kind, q))
    return out


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def _load(conn: asyncpg.Connection, count: int, rng: random.Random) -> None:
    """Migrate the new database and fill it: three stores, an hq_admin, an associate of the
    first store, and ``count`` customers."""
    await db.migrate()
    stores = []
    for code, city in (("MAD", "Madrid"), ("BCN", "Barcelona"), ("BUC", "Bucharest")):
        sid = uuid.uuid4()
        await Store.insert(Store(id=sid, code=code, name=city, city=city, country="ES", timezone="Europe/Madrid")).run()
        stores.append(sid)
    for role, store_ids in ((Role.HQ_ADMIN, []), (Role.ASSOCIATE, [stores[0]])):
        sid = uuid.uuid4()
        await Staff.insert(Staff(id=sid, email=f"{role.value}@bench.test", display_name=role.value, role=role.value, password_hash="x")).run()
        for s in store_ids:
            await StaffStore.insert(StaffStore(staff=sid, store=s)).run()
    started = time.perf_counter()
    await conn.copy_records_to_table("customer", records=_customers(count, stores, rng), columns=COLUMNS)
    await conn.execute("ANALYZE customer")
    print(f"loaded {count:,} customers in {time.perf_counter() - started:.1f} s")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--admin-url", default=os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database-url", help="reuse a database loaded by an earlier --keep run instead of creating one")
    args = parser.parse_args()
    rng = random.Random(20261123)

    admin = await asyncpg.connect(args.admin_url)
    if args.database_url:
        url, name, created = args.database_url, args.database_url.rsplit("/", 1)[1], False
    else:
        name = f"search_bench_{uuid.uuid4().hex[:10]}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        url, created = f"{args.admin_url.rsplit('/', 1)[0]}/{name}", True
    engine = db.engine_from_url(url)
    db.bind(engine)
    await db.start_pool(1, 4)
    conn = await asyncpg.connect(url)
    try:
        if created:
            await _load(conn, args.customers, rng)
        staff = {}
        for row in await Staff.select(Staff.id, Staff.role).where(Staff.email.like("%@bench.test")).run():
            role = Role(row["role"])
            store_ids = [r["store"] for r in await StaffStore.select(StaffStore.store).where(StaffStore.staff == row["id"]).run()]
            staff[role] = Principal(staff_id=row["id"], role=role, store_ids=frozenset(store_ids), session_id=uuid.uuid4(), surface="bench")
        rows = [tuple(r) for r in await conn.fetch(
            "SELECT id, first_name, last_name, email, phone, NULL, NULL, NULL, NULL, NULL, NULL, NULL, loyalty_number FROM customer"
        )]
        print(f"{len(rows):,} customers in {name}")

        policies = PolicyStore()
        service = CustomerService(policies, AuditTrail(policies))
        queries = _queries(rows, args.queries, rng)
        for principal in staff.values():  # warm-up: connections, caches, plans
            for _, q in queries[:20]:
                await service.list(principal, query=q, limit=50, cursor=None)

        for role, principal in staff.items():
            timings: dict[str, list[float]] = {}
            hits: dict[str, int] = {}
            for kind, q in queries:
                t0 = time.perf_counter()
                page = await service.list(principal, query=q, limit=50, cursor=None)
                timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
                hits[kind] = hits.get(kind, 0) + (1 if page.items else 0)
            every = [t for ts in timings.values() for t in ts]
            print(f"\n{role.value} ({'every store' if role is Role.HQ_ADMIN else 'one store'}), ms per search (page of 50):")
            print(f"  {'kind':<10} {'n':>4} {'found':>6} {'p50':>7} {'p95':>7} {'p99':>7}")
            for kind, ts in timings.items():
                print(f"  {kind:<10} {len(ts):>4} {hits[kind]:>6} {statistics.median(ts):>7.1f} {_pct(ts, 95):>7.1f} {_pct(ts, 99):>7.1f}")
            print(f"  {'all':<10} {len(every):>4} {sum(hits.values()):>6} {statistics.median(every):>7.1f} {_pct(every, 95):>7.1f} {_pct(every, 99):>7.1f}")

        async with conn.transaction():
            await conn.execute("SET LOCAL pg_trgm.strict_word_similarity_threshold = 0.3")
            await conn.execute("SET LOCAL pg_trgm.word_similarity_threshold = 0.51")
            await conn.execute("SET LOCAL enable_seqscan = off")
            plan = await conn.fetch(
                "EXPLAIN ANALYZE SELECT id FROM customer WHERE deleted_at IS NULL "
                "AND ('maria' <<% name_key OR 'maria' <% name_key) AND ('garsia' <<% name_key OR 'garsia' <% name_key) "
                "ORDER BY GREATEST(strict_word_similarity('maria', name_key), CASE WHEN 'maria' <% name_key THEN 0.9 ELSE 0 END) "
                "+ GREATEST(strict_word_similarity('garsia', name_key), CASE WHEN 'garsia' <% name_key THEN 0.9 ELSE 0 END) DESC, "
                "name_key, id LIMIT 500"
            )
        print("\nplan of 'maria garsia' (hq_admin shape):")
        print("\n".join("  " + r[0] for r in plan))
    finally:
        await conn.close()
        await db.close_pool()
        if created and not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif created:
            print(f"kept: --database-url {url}")
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
