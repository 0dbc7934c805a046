"""The benchmark data set: stores, staff, customers, purchases with lines, notes and consent
answers, loaded with COPY into a freshly migrated database (PostgreSQL) or with executemany
(SQLite, for W8).

PostgreSQL: synced tables carry DEFERRABLE constraint triggers that stamp ``sync_seq`` row by
row at commit. The loading connection sets ``session_replication_role = replica`` (no
triggers, no FK checks: the generator only produces valid references), then stamps every
synced row in one UPDATE per table and moves the change counter past them, and fills the
table of customers' name words (``customer_name_word_rebuild()``), so that the result is
what the triggers would have left. The audit tables stay empty (an empty chain is
a valid chain); nothing here reads or writes personal data on anyone's behalf.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from clienteling import db
from clienteling.demo_data import _NAMES
from clienteling.passwords import Passwords
from domain.consent import PURPOSES
from domain.text import fold, name_key, normalize_email, phone_digits

__all__ = ["Shape", "Dataset", "build_postgres", "build_sqlite", "PASSWORD"]

PASSWORD = "bench-password-123"
ORIGINS = [o for o, w in (("es", 45), ("ca", 20), ("ro", 25), ("en", 10)) for _ in range(w)]
PRODUCTS = [("BLZ-NAVY", "Navy blazer", "189.00"), ("SHRT-WHT", "White shirt", "59.90"), ("TRS-CHAR", "Charcoal trousers", "89.00"),
            ("SCF-SILK", "Silk scarf", "45.00"), ("BAG-LTHR", "Leather bag", "249.00"), ("SNK-WHT", "White sneakers", "99.00"),
            ("KNT-CASH", "Cashmere jumper", "159.00"), ("BLT-BRWN", "Brown belt", "39.90")]
NOTE_BODIES = ["Prefers navy, size M", "Ask about the autumn collection", "Loves silk scarves", "Birthday gift for partner in May",
               "Only contact by email", "Interested in tailoring", "Bought for her daughter last time", "Allergic to wool"]


@dataclass
class Shape:
    customers: int = 200_000
    stores: int = 20
    big_store_customers: int = 20_000  # the first store's count (W5 syncs it)
    purchase_lines: int = 2_000_000
    seed: int = 20261124


@dataclass
class Dataset:
    stores: list[uuid.UUID] = field(default_factory=list)
    staff: dict[str, dict] = field(default_factory=dict)  # email -> {id, role, stores}
    customers_by_store: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    samples: list[tuple] = field(default_factory=list)  # (id, first, last, email, phone, loyalty_number) of the first store
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _generate(shape: Shape, rng: random.Random):
    """Yield the rows of every table (as tuples in the column order below)."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    stores = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(shape.stores)]
    staff = {}
    for i, sid in enumerate(stores):
        staff[f"manager{i}@bench.test"] = {"id": uuid.uuid4(), "role": "store_manager", "stores": [sid]}
        for a in range(3):
            staff[f"associate{i}.{a}@bench.test"] = {"id": uuid.uuid4(), "role": "associate", "stores": [sid]}
    staff["hq@bench.test"] = {"id": uuid.uuid4(), "role": "hq_admin", "stores": []}
    staff["compliance@bench.test"] = {"id": uuid.uuid4(), "role": "compliance_officer", "stores": []}
    associates = {sid: [s["id"] for e, s in staff.items() if s["role"] == "associate" and s["stores"] == [sid]] for sid in stores}
    rest = shape.customers - shape.big_store_customers
    lines_per_customer = shape.purchase_lines / shape.customers
    customers, purchases, lines, notes, consents = [], [], [], [], []
    ds = Dataset(stores=stores, staff=staff)
    for i in range(shape.customers):
        sid = stores[0] if i < shape.big_store_customers else stores[1 + (i - shape.big_store_customers) * (shape.stores - 1) // max(rest, 1)]
        origin = rng.choice(ORIGINS)
        female, male, surnames = _NAMES[origin]
        first = rng.choice(female + male)
        last = rng.choice(surnames)
        if origin in ("es", "ca") and rng.random() < 0.55:
            last = f"{last} {rng.choice(surnames)}"
        email = f"{fold(first).replace(' ', '')}.{fold(last).split(' ')[0]}.{i}@example.com"
        phone = (f"+40 7{rng.randint(20, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}" if origin == "ro"
                 else f"+34 6{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}")
        birthdate = dt.date(rng.randint(1945, 2005), rng.randint(1, 12), rng.randint(1, 28))
        cid = uuid.UUID(int=rng.getrandbits(128), version=4)
        book = associates[sid]
        primary = rng.choice(book) if rng.random() < 0.7 else None
        points = rng.randint(0, 6000)
        tier = "platinum" if points >= 4500 else "gold" if points >= 2000 else "silver" if points >= 800 else "member"
        created = now - dt.timedelta(days=rng.randint(30, 1500))
        customers.append((
            cid, first, last, email, phone, birthdate, origin if origin != "ca" else "es", sid, primary,
            '{"top": "M", "shoes": "39"}', '{"colours": ["navy"]}', "[]", rng.random() < 0.05, f"CL{10_000_000 + i}", tier, points,
            name_key(first, last), normalize_email(email), phone_digits(phone), 1, created, created, birthdate.month * 100 + birthdate.day,
        ))
        ds.customers_by_store.setdefault(sid, []).append(cid)
        if sid == stores[0]:
            ds.samples.append((cid, first, last, email, phone, f"CL{10_000_000 + i}", primary))
        # purchases: lines are spread so that the total is about shape.purchase_lines
        n_lines = int(lines_per_customer) + (1 if rng.random() < lines_per_customer % 1 else 0)
        while n_lines > 0:
            k = min(n_lines, rng.randint(1, 4))
            n_lines -= k
            pid = uuid.UUID(int=rng.getrandbits(128), version=4)
            at = now - dt.timedelta(minutes=rng.randint(60, 3 * 365 * 24 * 60))
            total = Decimal(0)
            for _ in range(k):
                sku, name, price = rng.choice(PRODUCTS)
                qty = rng.randint(1, 2)
                total += Decimal(price) * qty
                lines.append((uuid.UUID(int=rng.getrandbits(128), version=4), pid, sku, name, qty, Decimal(price)))
            online = rng.random() < 0.3
            purchases.append((pid, f"POS-{pid.hex[:16]}", cid, None if online else sid, "online" if online else "store", at, "EUR", total, at))
        for _ in range(rng.randint(0, 2)):
            at = now - dt.timedelta(minutes=rng.randint(60, 2 * 365 * 24 * 60))
            notes.append((uuid.uuid4(), cid, rng.choice(book), rng.choice(NOTE_BODIES), rng.random() < 0.2, "shared", at, at))
        for purpose in rng.sample(PURPOSES, rng.randint(1, 4)):
            at = now - dt.timedelta(days=rng.randint(1, 1000))
            consents.append((uuid.uuid4(), cid, purpose, "granted" if rng.random() < 0.8 else "denied", at, "consent", "import", at))
    return ds, {
        "customer": (["id", "first_name", "last_name", "email", "phone", "birthdate", "language", "home_store", "primary_associate",
                      "sizes", "preferences", "tags", "vip", "loyalty_number", "loyalty_tier", "loyalty_points",
                      "name_key", "email_key", "phone_key", "version", "created_at", "updated_at", "birth_mmdd"], customers),
        "purchase": (["id", "external_id", "customer", "store", "channel", "occurred_at", "currency", "total", "created_at"], purchases),
        "purchase_line": (["id", "purchase", "sku", "name", "quantity", "unit_price"], lines),
        "note": (["id", "customer", "author", "body", "pinned", "visibility", "created_at", "updated_at"], notes),
        "consent_record": (["id", "customer", "purpose", "status", "occurred_at", "legal_basis", "channel", "recorded_at"], consents),
    }


SYNCED = ("customer", "note", "consent_record")


async def _staff_rows(url_conn, ds: Dataset, pg: bool) -> None:
    password_hash = Passwords().hash_sync(PASSWORD)
    stores = [(sid, f"S{i:02d}", f"Store {i}", f"City {i}", "ES", "Europe/Madrid") for i, sid in enumerate(ds.stores)]
    staff = [(s["id"], email, email.split("@")[0], s["role"], password_hash) for email, s in ds.staff.items()]
    links = [(uuid.uuid4(), s["id"], sid) for s in ds.staff.values() for sid in s["stores"]]
    return stores, staff, links


async def build_postgres(url: str, shape: Shape) -> Dataset:
    """Migrate the (empty) database at ``url`` and load the data set."""
    started = time.perf_counter()
    db.bind(db.engine_from_url(url))
    await db.migrate()
    await db.close_pool()
    rng = random.Random(shape.seed)
    ds, tables = _generate(shape, rng)
    print(f"  generated rows in {time.perf_counter() - started:.1f} s", flush=True)
    stores, staff, links = await _staff_rows(None, ds, True)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET session_replication_role = replica")
        async with conn.transaction():
            await conn.copy_records_to_table("store", records=stores, columns=["id", "code", "name", "city", "country", "timezone"])
            await conn.copy_records_to_table("staff", records=staff, columns=["id", "email", "display_name", "role", "password_hash"])
            await conn.copy_records_to_table("staff_store", records=links, columns=["id", "staff", "store"])
            for table, (columns, rows) in tables.items():
                t0 = time.perf_counter()
                await conn.copy_records_to_table(table, records=rows, columns=columns)
                ds.counts[table] = len(rows)
                print(f"  {table}: {len(rows):,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
            # What the purchase webhook maintains for client-book filters.
            await conn.execute(
                "UPDATE customer c SET last_purchase_at = p.last, lifetime_value = p.total FROM "
                "(SELECT customer, max(occurred_at) AS last, sum(total) AS total FROM purchase GROUP BY customer) p WHERE p.customer = c.id"
            )
            # What the sync stamp triggers would have done: one position per synced row, then
            # the counter past them.
            for table in SYNCED:
                await conn.execute(
                    f"UPDATE {table} t SET sync_seq = s.pos + (SELECT value FROM sync_counter WHERE name = 'sync') FROM "
                    f"(SELECT id, row_number() OVER (ORDER BY id) AS pos FROM {table}) s WHERE s.id = t.id"
                )
                await conn.execute(f"UPDATE sync_counter SET value = value + (SELECT count(*) FROM {table}) WHERE name = 'sync'")
            # What the name-word triggers would have done (migration 2026-11-24T06:40:00).
            await conn.execute("SELECT customer_name_word_rebuild()")
        await conn.execute("SET session_replication_role = DEFAULT")
        t0 = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        print(f"  vacuum analyze in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        await conn.close()
    ds.seconds = time.perf_counter() - started
    return ds


def build_sqlite(path: str, shape: Shape) -> Dataset:
    """The same data set in a SQLite file (its triggers run row by row; that is fine here)."""
    import asyncio

    started = time.perf_counter()

    async def migrate() -> None:
        db.bind(db.engine_from_url(f"sqlite:///{path}"))
        await db.migrate()
        await db.close_pool()

    asyncio.run(migrate())
    rng = random.Random(shape.seed)
    ds, tables = _generate(shape, rng)
    import piccolo.engine.sqlite  # noqa: F401 - registers the value adapters piccolo reads back

    stores = [(sid, f"S{i:02d}", f"Store {i}", f"City {i}", "ES", "Europe/Madrid") for i, sid in enumerate(ds.stores)]
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA foreign_keys = OFF")
        now = dt.datetime.now(dt.timezone.utc)
        con.executemany("INSERT INTO store (id, code, name, city, country, timezone, created_at) VALUES (?,?,?,?,?,?,?)", [(*s, now) for s in stores])
        password_hash = Passwords().hash_sync(PASSWORD)
        con.executemany("INSERT INTO staff (id, email, display_name, role, password_hash, active, created_at, updated_at) VALUES (?,?,?,?,?,1,?,?)",
                        [(s["id"], e, e.split("@")[0], s["role"], password_hash, now, now) for e, s in ds.staff.items()])
        con.executemany("INSERT INTO staff_store (id, staff, store) VALUES (?,?,?)",
                        [(uuid.uuid4(), s["id"], sid) for s in ds.staff.values() for sid in s["stores"]])
        for table, (columns, rows) in tables.items():
            con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                            rows)
            ds.counts[table] = len(rows)
        con.commit()
        con.execute("ANALYZE")
    finally:
        con.close()
    ds.seconds = time.perf_counter() - started
    return ds
