"""Customer search latency on 200,000 customers on PostgreSQL (measures, asserts nothing).

Run (a PostgreSQL server with pg_trgm and btree_gin, as the test suite uses):

    . .venv/bin/activate
    python bench/search_bench.py                          # 200,000 customers, 400 queries
    python bench/search_bench.py --customers 50000 --queries 200 \\
        --admin-url postgresql://postgres@127.0.0.1:5432/postgres
    python bench/search_bench.py --keep                   # keep the database, then iterate:
    python bench/search_bench.py --database-url URL --kinds typo --roles associate --queries 2100

It creates a throwaway database (``search_bench_<random>``), applies the migrations, loads
the customers with COPY in W3's shape (bench/dataset.py): 20 stores, the first with 20,000
customers; multilingual es/ca/ro/en names as in the demo data, phones, emails, loyalty cards,
one to four consent answers each on average (loaded with triggers off, then the table of
name words filled as the triggers would have); an associate of the first store with a quarter
of it in their client book. It runs ``VACUUM ANALYZE`` (the shared server may run without
autovacuum) and then times ``CustomerService.list`` with a query, the way a REST or GraphQL
search runs it: index candidates, ranking in Python, policy decisions, consent lookups and
the audit append, with a page of 20 (``--limit``). Queries are drawn from the customers of
the associate's store: full names, names with a typo (W3: a first name and a surname with
one changed, dropped or doubled letter), first/last-name prefixes, a single surname, phone
numbers formatted differently, emails and card numbers, for an hq_admin (every store) and
for the associate (one store). It prints p50/p95/p99 per kind of query, the SQL statements
of a typo search, and ``EXPLAIN (ANALYZE, BUFFERS)`` of the associate's word lookup and
candidate query for a typo; it drops the database unless ``--keep``. ``--database-url URL`` runs the queries
again on a kept one (``--migrate`` applies migrations added since). Timings are in-process:
no HTTP, no session check.
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
from clienteling.repositories import customers as repo  # noqa: E402
from clienteling.services.audit import AuditTrail  # noqa: E402
from clienteling.services.customers import CustomerService  # noqa: E402
from clienteling.tables import Staff, StaffStore, Store  # noqa: E402
from domain.staff import Principal, Role  # noqa: E402
from domain.search import SearchSpec, words  # noqa: E402
from domain.text import fold, name_key, normalize_email, phone_digits, search_terms  # noqa: E402
from permissions import row_scope, searchable_fields  # noqa: E402

ORIGINS = [("es", 45), ("ca", 20), ("ro", 25), ("en", 10)]
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _customers(n: int, stores: list[uuid.UUID], rng: random.Random, *, first: int = 0) -> list[tuple]:
    """``n`` customers spread at random over ``stores``; ``first`` numbers them (emails and
    loyalty cards stay unique when several calls fill one table)."""
    now = dt.datetime.now(dt.timezone.utc)
    origins = [o for o, w in ORIGINS for _ in range(w)]
    rows = []
    for i in range(first, first + n):
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


# Each customer answers each consent purpose with probability 5/12 (2.5 answers on average),
# mostly granted, derived from the id so that copies of a data set get the same answers.
CONSENTS = """
INSERT INTO consent_record (customer, purpose, status, occurred_at, legal_basis, channel, recorded_at)
SELECT c.id, p.purpose, CASE WHEN get_byte(uuid_send(c.id), p.n) % 5 = 0 THEN 'denied' ELSE 'granted' END,
       timestamptz '2026-01-01 10:00:00+00' - get_byte(uuid_send(c.id), p.n + 6) * interval '3 days 7 hours 13 minutes 0.123456 seconds',
       'consent', 'import', now()
FROM customer c CROSS JOIN (VALUES (0, 'marketing_email'), (1, 'marketing_sms'), (2, 'push_notifications'),
                                   (3, 'personalization'), (4, 'in_store_recognition'), (5, 'third_party_sharing')) AS p(n, purpose)
WHERE get_byte(uuid_send(c.id), p.n + 1) % 12 < 5
"""


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def _load(conn: asyncpg.Connection, count: int, store_count: int, big_store: int, rng: random.Random) -> None:
    """Migrate the new database and fill it as W3 sees it (bench/dataset.py's shape):
    ``store_count`` stores, the first with ``big_store`` customers and the others sharing the
    rest; an hq_admin; an associate of the first store whose client book holds a quarter of
    that store's customers."""
    await db.migrate()
    stores = []
    for n in range(store_count):
        sid = uuid.uuid4()
        await Store.insert(Store(id=sid, code=f"S{n:02d}", name=f"Store {n}", city=f"City {n}", country="ES", timezone="Europe/Madrid")).run()
        stores.append(sid)
    staff_ids = {}
    for role, store_ids in ((Role.HQ_ADMIN, []), (Role.ASSOCIATE, [stores[0]])):
        sid = staff_ids[role] = uuid.uuid4()
        await Staff.insert(Staff(id=sid, email=f"{role.value}@bench.test", display_name=role.value, role=role.value, password_hash="x")).run()
        for s in store_ids:
            await StaffStore.insert(StaffStore(staff=sid, store=s)).run()
    started = time.perf_counter()
    big = min(big_store, count) if store_count > 1 else count
    rows = _customers(big, stores[:1], rng) + _customers(count - big, stores[1:], rng, first=big)
    # No triggers while loading (the offline-sync stamps are of no use to a search, and
    # stamping row by row at commit takes minutes); the indexes are maintained as usual.
    await conn.execute("SET session_replication_role = replica")
    await conn.copy_records_to_table("customer", records=rows, columns=COLUMNS)
    await conn.execute(
        "UPDATE customer SET primary_associate = $1 WHERE home_store = $2 AND get_byte(uuid_send(id), 15) % 4 = 0",
        staff_ids[Role.ASSOCIATE], stores[0],
    )
    await conn.execute(CONSENTS)
    await conn.execute("RESET session_replication_role")
    # What the name-word triggers would have done (migration 2026-11-24T06:40:00).
    await conn.execute("SELECT customer_name_word_rebuild()")
    # The shared server may run without autovacuum: VACUUM also writes the visibility map
    # and moves GIN's pending list into the index.
    await conn.execute("VACUUM ANALYZE customer")
    await conn.execute("VACUUM ANALYZE customer_name_word")
    await conn.execute("VACUUM ANALYZE consent_record")
    print(f"loaded {count:,} customers ({big:,} in the associate's store, {store_count} stores) in {time.perf_counter() - started:.1f} s")


def _count_statements(engine) -> tuple[list[str], object]:  # noqa: ANN001
    """Record what piccolo sends (its query log hook, as the suite's statement-count test)."""
    seen: list[str] = []
    original = type(engine).print_query

    def record(self, query_id: int, query: str) -> None:  # noqa: ANN001
        seen.append(query)

    type(engine).print_query = record
    return seen, original


async def main() -> None:  # noqa: C901, PLR0915 - a script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--big-store", type=int, default=20_000, help="customers of the associate's store")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--limit", type=int, default=20, help="page size (W3: 20)")
    parser.add_argument("--kinds", default="", help="comma-separated kinds of query to time (default: all)")
    parser.add_argument("--roles", default="hq_admin,associate", help="comma-separated roles to time")
    parser.add_argument("--admin-url", default=os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--database-url", help="reuse a database loaded by an earlier --keep run instead of creating one")
    parser.add_argument("--migrate", action="store_true", help="with --database-url: apply pending migrations first (then VACUUM ANALYZE)")
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
            await _load(conn, args.customers, args.stores, args.big_store, rng)
        elif args.migrate:
            print(f"migrations applied: {await db.migrate()}")
            await conn.execute("VACUUM ANALYZE customer")
            await conn.execute("VACUUM ANALYZE customer_name_word")
        staff = {}
        for row in await Staff.select(Staff.id, Staff.role).where(Staff.email.like("%@bench.test")).run():
            role = Role(row["role"])
            store_ids = [r["store"] for r in await StaffStore.select(StaffStore.store).where(StaffStore.staff == row["id"]).run()]
            staff[role] = Principal(staff_id=row["id"], role=role, store_ids=frozenset(store_ids), session_id=uuid.uuid4(), surface="bench")
        staff = {r: p for r, p in staff.items() if r.value in args.roles.split(",")}
        associate = staff.get(Role.ASSOCIATE)
        home = next(iter(associate.store_ids)) if associate and associate.store_ids else None
        # Queries are drawn from the associate's store (as W3 does), or from everyone.
        rows = [tuple(r) for r in await conn.fetch(
            "SELECT id, first_name, last_name, email, phone, NULL, NULL, NULL, NULL, NULL, NULL, NULL, loyalty_number "
            "FROM customer WHERE $1::uuid IS NULL OR home_store = $1 ORDER BY id", home,
        )]
        print(f"{await conn.fetchval('SELECT count(*) FROM customer'):,} customers in {name}; queries drawn from {len(rows):,}")

        policies = PolicyStore()
        service = CustomerService(policies, AuditTrail(policies))
        queries = _queries(rows, args.queries, rng)
        if args.kinds:
            queries = [(k, q) for k, q in queries if k in args.kinds.split(",")]
        for principal in staff.values():  # warm-up: connections, caches, plans
            for _, q in queries[:20]:
                await service.list(principal, query=q, limit=args.limit, cursor=None)

        for role, principal in staff.items():
            timings: dict[str, list[float]] = {}
            hits: dict[str, int] = {}
            for kind, q in queries:
                t0 = time.perf_counter()
                page = await service.list(principal, query=q, limit=args.limit, cursor=None)
                timings.setdefault(kind, []).append((time.perf_counter() - t0) * 1000)
                hits[kind] = hits.get(kind, 0) + (1 if page.items else 0)
            every = [t for ts in timings.values() for t in ts]
            print(f"\n{role.value} ({'every store' if role is Role.HQ_ADMIN else 'one store'}), ms per search (page of {args.limit}):")
            print(f"  {'kind':<10} {'n':>4} {'found':>6} {'p50':>7} {'p95':>7} {'p99':>7}")
            for kind, ts in timings.items():
                print(f"  {kind:<10} {len(ts):>4} {hits[kind]:>6} {statistics.median(ts):>7.1f} {_pct(ts, 95):>7.1f} {_pct(ts, 99):>7.1f}")
            print(f"  {'all':<10} {len(every):>4} {sum(hits.values()):>6} {statistics.median(every):>7.1f} {_pct(every, 95):>7.1f} {_pct(every, 99):>7.1f}")

        # Statements per search (BEGIN/COMMIT not included), for the first typo queries.
        typos = [q for k, q in queries if k == "typo"][:5]
        for role, principal in staff.items():
            seen, original = _count_statements(engine)
            counts = []
            try:
                for q in typos:
                    seen.clear()
                    engine.log_queries = True
                    await service.list(principal, query=q, limit=args.limit, cursor=None)
                    engine.log_queries = False
                    counts.append(len(seen))
            finally:
                engine.log_queries = False
                type(engine).print_query = original
            if counts:
                print(f"\nstatements per typo search, {role.value}: {counts}")
                print("\n".join("  " + " ".join(s.split())[:150] for s in seen))

        if associate is not None and typos:
            q = typos[0]
            spec = _spec(service, associate, q)
            scope = row_scope(policies.current, associate, "customer")
            query_words = [w for t in spec.terms for w in words(t)]
            # The statements the search sends, with their parameters (prepared like the
            # application's, so the plan is the one the search gets after its first runs).
            lookup = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) SELECT term, word FROM customer_name_word_matches($1::text[])", [w for w in query_words if len(w) >= 2])
            query = await repo._name_candidates_query(scope, query_words, None, repo.CANDIDATE_LIMIT)
            plan = []
            if query is not None:
                sql, params = query.querystring.compile_string(engine_type="postgres")
                for _ in range(6):  # warm, and past the custom plans of the first runs
                    plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
            print(f"\nplan of the associate's word lookup for {q!r}:")
            print("\n".join("  " + r[0] for r in lookup))
            print(f"\nplan of the associate's candidate query for {q!r}:")
            print("\n".join("  " + r[0] for r in plan))
    finally:
        await conn.close()
        await db.close_pool()
        if created and not args.keep:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        elif created:
            print(f"kept: --database-url {url}")
        await admin.close()


def _spec(service: CustomerService, principal: Principal, q: str) -> SearchSpec:
    """The name part of the search the service builds for ``q`` (for the EXPLAIN)."""
    return SearchSpec(terms=search_terms(q), digits=None, email=None, card=None, allowed=searchable_fields(service.policies.current, principal))


if __name__ == "__main__":
    asyncio.run(main())
