"""The demo data set (SPEC §3) on a fresh SQLite database and, when reachable, PostgreSQL.

Each backend gets its own throwaway database, migrated and seeded once (300 customers) for the
whole module. ``clienteling.db.bind`` is global, so every test re-binds its engine first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import uuid
from uuid import UUID
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from zoneinfo import ZoneInfo

import argon2
import pytest
from piccolo.engine.base import Engine

from clienteling.db import bind, engine_from_url, migrate
from clienteling.demo_data import (
    _CATALOGUE,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    SeedSummary,
    _build,
    demo_member_customer_id,
    seed_demo,
)
from clienteling.passwords import Passwords
from clienteling.repositories import staff as staff_repo
from clienteling.services.integrations import POST_PURCHASE_FOLLOW_UP
from clienteling.tables import (
    Appointment,
    ConsentNotice,
    ConsentRecord,
    Customer,
    Note,
    Purchase,
    PurchaseLine,
    Staff,
    StaffStore,
    Store,
    Task,
    WishlistItem,
)
from domain.consent import PURPOSES, ConsentEvent, active_purposes
from domain.integrations import to_eur
from domain.text import name_key, normalize_email, phone_digits
from domain.workflows import task_status

CUSTOMERS = 300
POSTGRES_ADMIN_URL = os.environ.get(
    "CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

# SPEC §3, verbatim.
SPEC_LOGINS = [
    ("associate.madrid@example.com", "associate", "Madrid"),
    ("associate.bucharest@example.com", "associate", "Bucharest"),
    ("manager.madrid@example.com", "store_manager", "Madrid"),
    ("hq@example.com", "hq_admin", "all"),
    ("compliance@example.com", "compliance_officer", "all"),
    ("marketing@example.com", "marketing", "all"),
]


def _fast_passwords() -> Passwords:
    return Passwords(argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@dataclass
class Seeded:
    engine: Engine
    summary: SeedSummary
    passwords: Passwords

    def use(self) -> None:
        bind(self.engine)


async def _seed(engine: Engine) -> Seeded:
    bind(engine)
    await migrate()
    passwords = _fast_passwords()
    summary = await seed_demo(passwords, customers=CUSTOMERS)
    return Seeded(engine, summary, passwords)


async def _sqlite(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    path = tmp_path_factory.mktemp("demo-data") / "demo.sqlite3"
    yield await _seed(engine_from_url(f"sqlite:///{path}"))


async def _postgres() -> AsyncIterator[Seeded]:
    asyncpg = pytest.importorskip("asyncpg")
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc!r}")
    name = f"clienteling_demo_test_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        # No connection pool: piccolo connects per query outside transactions.
        yield await _seed(engine_from_url(url))
    finally:
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except asyncpg.PostgresSyntaxError:  # PostgreSQL < 13
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.close()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    source = _sqlite(tmp_path_factory) if request.param == "sqlite" else _postgres()
    async for value in source:
        yield value


async def _counts() -> dict[str, int]:
    tables = {
        "stores": Store, "staff": Staff, "customers": Customer, "purchases": Purchase,
        "purchase_lines": PurchaseLine, "notes": Note, "consents": ConsentRecord,
        "wishlist_items": WishlistItem, "tasks": Task, "appointments": Appointment,
    }
    return {name: await table.count().run() for name, table in tables.items()}


async def test_summary_matches_rows(seeded: Seeded) -> None:
    seeded.use()
    summary = seeded.summary
    assert summary.skipped is False
    assert summary.customers == CUSTOMERS
    counts = await _counts()
    assert counts == {
        "stores": summary.stores, "staff": summary.staff, "customers": summary.customers,
        "purchases": summary.purchases, "purchase_lines": summary.purchase_lines,
        "notes": summary.notes, "consents": summary.consents, "wishlist_items": summary.wishlist_items,
        "tasks": summary.tasks, "appointments": summary.appointments,
    }
    assert all(n > 0 for n in counts.values()), counts
    assert counts["purchase_lines"] >= counts["purchases"]
    # About five purchases per customer on average.
    assert 3 * CUSTOMERS <= counts["purchases"] <= 7 * CUSTOMERS


async def test_three_stores(seeded: Seeded) -> None:
    seeded.use()
    stores = {s["code"]: s for s in await Store.select().run()}
    assert set(stores) == {"MAD", "BCN", "BUC"}
    assert (stores["MAD"]["city"], stores["MAD"]["country"], stores["MAD"]["timezone"]) == ("Madrid", "ES", "Europe/Madrid")
    assert (stores["BCN"]["city"], stores["BCN"]["country"], stores["BCN"]["timezone"]) == ("Barcelona", "ES", "Europe/Madrid")
    assert (stores["BUC"]["city"], stores["BUC"]["country"], stores["BUC"]["timezone"]) == ("Bucharest", "RO", "Europe/Bucharest")


async def test_spec_logins_exist_with_role_stores_and_password(seeded: Seeded) -> None:
    seeded.use()
    assert DEMO_LOGINS == SPEC_LOGINS
    stores = {s["city"]: s["id"] for s in await Store.select().run()}
    for email, role, label in SPEC_LOGINS:
        row = await staff_repo.by_email(email)
        assert row is not None, email
        assert row["role"] == role and row["active"], email
        assert (await seeded.passwords.verify(row["password_hash"], DEMO_PASSWORD)).ok, email
        assert not (await seeded.passwords.verify(row["password_hash"], "wrong-password")).ok
        expected = set(stores.values()) if label == "all" else {stores[label]}
        assert set(await staff_repo.store_ids_for(row["id"])) == expected, email
    # Every demo seller of every store can sign in with the same password.
    for row in await Staff.select().run():
        assert row["email"].endswith("@example.com")
        assert (await seeded.passwords.verify(row["password_hash"], DEMO_PASSWORD)).ok, row["email"]
    assert {r["role"] for r in await Staff.select(Staff.role).run()} >= {role for _, role, _ in SPEC_LOGINS}


async def test_customers_are_realistic_and_searchable(seeded: Seeded) -> None:
    seeded.use()
    customers = await Customer.select().run()
    assert len(customers) == CUSTOMERS
    for c in customers:
        assert c["name_key"] == name_key(c["first_name"], c["last_name"])
        assert c["email_key"] == normalize_email(c["email"])
        assert c["phone_key"] == phone_digits(c["phone"])
        assert c["deleted_at"] is None
        if c["email"] is not None:
            assert re.fullmatch(r"[a-z0-9.]+@example\.(com|org|net)", c["email"]), c["email"]
        if c["phone"] is not None:
            assert re.fullmatch(r"\+(34 [67]\d\d \d{3} \d{3}|40 7\d\d \d{3} \d{3}|44 7\d{3} \d{6})", c["phone"]), c["phone"]
        if c["birthdate"] is not None:
            assert dt.date(1950, 1, 1) <= c["birthdate"] <= dt.date(2006, 12, 31)
        assert isinstance(_json(c["sizes"]), dict)
        prefs = _json(c["preferences"])
        assert isinstance(prefs, dict) and all(isinstance(v, list) for v in prefs.values())
        assert isinstance(_json(c["tags"]), list)
    emails = [c["email"] for c in customers if c["email"]]
    assert len(emails) == len(set(emails))
    assert any(c["email"] is None for c in customers) and any(c["phone"] is None for c in customers)
    # Accented names (José, Núñez, Ștefan...) are kept as written; the key is folded.
    assert any(not (c["first_name"] + c["last_name"]).isascii() for c in customers)
    assert all(c["name_key"].isascii() for c in customers)

    by_store = _by_store_code(await Store.select().run())
    languages = Counter(c["language"] for c in customers)
    assert set(languages) == {"es", "ca", "ro", "en"}
    buc = Counter(c["language"] for c in customers if c["home_store"] == by_store["BUC"])
    assert buc.most_common(1)[0][0] == "ro"
    mad = Counter(c["language"] for c in customers if c["home_store"] == by_store["MAD"])
    assert mad.most_common(1)[0][0] == "es"

    numbers = [c["loyalty_number"] for c in customers if c["loyalty_number"]]
    assert len(numbers) == len(set(numbers)) and all(re.fullmatch(r"CL\d{8}", n) for n in numbers)
    assert {c["loyalty_tier"] for c in customers} <= {"member", "silver", "gold", "platinum"}
    _assert_tiers_follow_points(customers)
    vip_share = sum(c["vip"] for c in customers) / len(customers)
    assert 0.02 <= vip_share <= 0.16


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _by_store_code(stores: list[dict[str, Any]]) -> dict[str, Any]:
    return {s["code"]: s["id"] for s in stores}


def _assert_tiers_follow_points(customers: list[dict[str, Any]]) -> None:
    order = ["member", "silver", "gold", "platinum"]
    ranges: dict[str, list[int]] = defaultdict(list)
    for c in customers:
        ranges[c["loyalty_tier"]].append(c["loyalty_points"])
    present = [t for t in order if ranges[t]]
    for lower, higher in zip(present, present[1:]):
        assert max(ranges[lower]) < min(ranges[higher]), (lower, higher)


async def test_client_books_belong_to_home_store_sellers(seeded: Seeded) -> None:
    seeded.use()
    customers = await Customer.select().run()
    staff = {s["id"]: s for s in await Staff.select().run()}
    memberships: dict[Any, set[Any]] = defaultdict(set)
    for m in await StaffStore.select().run():
        memberships[m["staff"]].add(m["store"])
    assigned = [c for c in customers if c["primary_associate"] is not None]
    assert 0.4 <= len(assigned) / len(customers) <= 0.85
    for c in assigned:
        seller = staff[c["primary_associate"]]
        assert seller["role"] == "associate"
        assert c["home_store"] in memberships[seller["id"]]
        if c["secondary_associate"] is not None:
            assert c["secondary_associate"] != c["primary_associate"]
            assert c["home_store"] in memberships[c["secondary_associate"]]
    madrid = await staff_repo.by_email("associate.madrid@example.com")
    assert madrid is not None
    book = [c for c in customers if madrid["id"] in (c["primary_associate"], c["secondary_associate"])]
    assert len(book) >= 10


async def test_purchase_totals_equal_their_lines(seeded: Seeded) -> None:
    seeded.use()
    stores = {s["id"]: s for s in await Store.select().run()}
    customers = {c["id"]: c for c in await Customer.select(Customer.id, Customer.home_store, Customer.created_at).run()}
    lines: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for line in await PurchaseLine.select().run():
        lines[line["purchase"]].append(line)
    purchases = await Purchase.select().run()
    now = dt.datetime.now(dt.timezone.utc)
    channels = Counter()
    for p in purchases:
        items = lines[p["id"]]
        assert 1 <= len(items) <= 4
        total = sum((Decimal(str(i["unit_price"])) * i["quantity"] for i in items), Decimal(0))
        assert Decimal(str(p["total"])) == total.quantize(Decimal("0.01")), p["external_id"]
        assert all(i["quantity"] >= 1 and i["sku"] and i["name"] for i in items)
        assert re.fullmatch(r"demo-(pos|web)-\d+", p["external_id"])
        channels[p["channel"]] += 1
        home = stores[customers[p["customer"]]["home_store"]]
        if p["channel"] == "online":
            assert p["store"] is None
            country = home["country"]
        else:
            assert p["channel"] == "store" and p["store"] in stores
            country = stores[p["store"]]["country"]
        assert p["currency"] == ("RON" if country == "RO" else "EUR")
        assert now - dt.timedelta(days=3 * 366) <= p["occurred_at"] <= now
    assert channels["store"] > 0 and channels["online"] > 0
    assert len({p["external_id"] for p in purchases}) == len(purchases)


async def test_consent_histories(seeded: Seeded) -> None:
    seeded.use()
    records = await ConsentRecord.select().run()
    statuses = Counter((r["purpose"], r["status"]) for r in records)
    for r in records:
        assert r["purpose"] in PURPOSES
        assert r["status"] in ("granted", "denied", "withdrawn")
        assert r["channel"] in ("store_tablet", "web", "app", "import")
        assert re.fullmatch(r"\d{4}-\d{2}", r["policy_version"])
        assert re.fullmatch(r"[0-9a-f]{64}", r["notice_sha256"])
        assert r["language"] in ("es", "ca", "ro", "en")
    assert statuses[("personalization", "granted")] > statuses[("marketing_email", "granted")] > statuses[("marketing_sms", "granted")] > 0
    assert sum(n for (_, status), n in statuses.items() if status == "withdrawn") > 0
    # A withdrawal always comes after the grant it ends.
    history: dict[tuple[Any, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        history[(r["customer"], r["purpose"])].append(r)
    for events in history.values():
        grants = [e["occurred_at"] for e in events if e["status"] == "granted"]
        for e in events:
            if e["status"] == "withdrawn":
                assert grants and min(grants) < e["occurred_at"]


async def test_demo_member(seeded: Seeded) -> None:
    seeded.use()
    member_id = await demo_member_customer_id()
    assert member_id is not None
    member = await Customer.select().where(Customer.id == member_id).first().run()
    assert member is not None and member["email"] == "member@example.com"
    assert member["loyalty_number"]
    madrid = await Store.select(Store.id).where(Store.code == "MAD").first().run()
    assert member["home_store"] == madrid["id"]
    records = await ConsentRecord.select().where(ConsentRecord.customer == member_id).run()
    events = [ConsentEvent(r["purpose"], r["status"], r["occurred_at"], r["expires_at"]) for r in records]
    active = active_purposes(events, dt.datetime.now(dt.timezone.utc))
    assert {"push_notifications", "in_store_recognition", "personalization"} <= active
    assert await Purchase.count().where(Purchase.customer == member_id).run() > 0


async def test_consent_records_point_at_the_notice_text_shown(seeded: Seeded) -> None:
    seeded.use()
    notices = {n["id"]: n for n in await ConsentNotice.select().run()}
    assert seeded.summary.notices == len(notices)
    assert {(n["purpose"], n["language"]) for n in notices.values()} == {(p, lang) for p in PURPOSES for lang in ("es", "ca", "ro", "en")}
    assert len({n["version"] for n in notices.values()}) >= 2
    for n in notices.values():
        assert n["sha256"] == hashlib.sha256(n["text"].encode("utf-8")).hexdigest()
    for r in await ConsentRecord.select().run():
        notice = notices[r["notice"]]
        assert (notice["purpose"], notice["version"], notice["sha256"], notice["language"]) == (r["purpose"], r["policy_version"], r["notice_sha256"], r["language"])
        assert notice["published_at"] <= r["occurred_at"]


async def test_notes(seeded: Seeded) -> None:
    seeded.use()
    notes = await Note.select().run()
    staff = {s["id"]: s for s in await Staff.select().run()}
    customers = {c["id"]: c for c in await Customer.select(Customer.id, Customer.language).run()}
    assert len({n["customer"] for n in notes}) >= CUSTOMERS // 6
    for n in notes:
        assert staff[n["author"]]["role"] in ("associate", "store_manager")
        assert n["visibility"] in ("shared", "private") and n["body"].strip()
        assert n["customer"] in customers
    assert any(n["pinned"] for n in notes)
    assert any(n["visibility"] == "private" for n in notes)
    assert any(not n["body"].isascii() for n in notes)  # multilingual bodies


async def test_second_seed_is_skipped_and_writes_nothing(seeded: Seeded) -> None:
    seeded.use()
    before = await _counts()
    again = await seed_demo(seeded.passwords, customers=CUSTOMERS)
    assert again.skipped is True
    assert (again.customers, again.staff, again.purchases) == (0, 0, 0)
    assert (again.wishlist_items, again.tasks, again.appointments) == (0, 0, 0)
    assert await _counts() == before


# --- derived figures, wishlists, tasks and appointments --------------------------------------


async def _memberships() -> dict[Any, set[Any]]:
    out: dict[Any, set[Any]] = defaultdict(set)
    for m in await StaffStore.select().run():
        out[m["staff"]].add(m["store"])
    return out


async def test_derived_customer_figures_agree_with_their_sources(seeded: Seeded) -> None:
    seeded.use()
    spend: dict[Any, Decimal] = defaultdict(Decimal)
    last: dict[Any, dt.datetime] = {}
    for p in await Purchase.select(Purchase.customer, Purchase.total, Purchase.currency, Purchase.occurred_at).run():
        spend[p["customer"]] += to_eur(Decimal(str(p["total"])), p["currency"])
        if p["customer"] not in last or p["occurred_at"] > last[p["customer"]]:
            last[p["customer"]] = p["occurred_at"]
    customers = await Customer.select().run()
    for c in customers:
        birthdate = c["birthdate"]
        assert c["birth_mmdd"] == (birthdate.month * 100 + birthdate.day if birthdate else None), c["id"]
        assert c["last_purchase_at"] == last.get(c["id"]), c["id"]
        # In EUR at the integration's rates, as a POS purchase would have added it.
        assert Decimal(str(c["lifetime_value"])) == spend.get(c["id"], Decimal("0.00")), c["id"]
    assert any(c["birth_mmdd"] is None for c in customers) and any(c["last_purchase_at"] is None for c in customers)


async def test_wishlists(seeded: Seeded) -> None:
    seeded.use()
    items = await WishlistItem.select().run()
    customers = {c["id"]: c for c in await Customer.select(Customer.id, Customer.home_store, Customer.created_at).run()}
    memberships = await _memberships()
    catalogue = {sku: name for sku, name, _ in _CATALOGUE}
    now = dt.datetime.now(dt.timezone.utc)
    assert seeded.summary.wishlist_items == len(items)
    share = len({i["customer"] for i in items}) / CUSTOMERS
    assert 0.12 <= share <= 0.3, share
    consents: dict[Any, list[ConsentEvent]] = defaultdict(list)
    for r in await ConsentRecord.select().where(ConsentRecord.purpose == "personalization").run():
        consents[r["customer"]].append(ConsentEvent(r["purpose"], r["status"], r["occurred_at"], r["expires_at"]))
    for i in items:
        assert catalogue[i["sku"]] == i["product_name"]
        customer = customers[i["customer"]]
        assert customer["created_at"] <= i["created_at"] <= now
        if i["fulfilled_at"] is not None:
            assert i["created_at"] <= i["fulfilled_at"] <= now and i["deleted_at"] is None
        if i["added_by"] is not None:
            assert customer["home_store"] in memberships[i["added_by"]]
        if i["size"] is not None:
            # Sizes are personal data kept only with the personalization consent.
            assert "personalization" in active_purposes(consents[i["customer"]], now), i["customer"]
    assert any(i["size"] for i in items) and any(i["colour"] for i in items)
    assert any(i["fulfilled_at"] for i in items) and any(i["fulfilled_at"] is None and i["deleted_at"] is None for i in items)
    assert any(i["size"] is None for i in items if i["sku"].startswith(("BAG", "ACC")))


async def test_tasks(seeded: Seeded) -> None:
    seeded.use()
    tasks = await Task.select().run()
    assert seeded.summary.tasks == len(tasks)
    staff = {s["id"]: s for s in await Staff.select().run()}
    customers = {c["id"]: c for c in await Customer.select().run()}
    stores = {s["id"]: s for s in await Store.select().run()}
    purchases = {p["id"]: p for p in await Purchase.select(Purchase.id, Purchase.customer, Purchase.occurred_at).run()}
    memberships = await _memberships()
    now = dt.datetime.now(dt.timezone.utc)
    kinds = Counter(t["kind"] for t in tasks)
    assert set(kinds) == {"follow_up", "post_purchase", "birthday"}, kinds
    refs = [t["source_ref"] for t in tasks if t["source_ref"] is not None]
    assert len(refs) == len(set(refs))
    statuses = Counter()
    for t in tasks:
        customer = customers[t["customer"]]
        assignee = staff[t["assignee"]]
        assert assignee["role"] == "associate" and t["store"] == customer["home_store"]
        assert customer["home_store"] in memberships[assignee["id"]]
        assert t["created_at"] <= now and t["deleted_at"] is None and t["title"].strip()
        assert now - dt.timedelta(days=45) <= t["due_at"] <= now + dt.timedelta(days=15)
        if t["completed_at"] is not None:
            assert t["completed_by"] == t["assignee"] and t["created_at"] <= t["completed_at"] <= now
            assert t["snoozed_until"] is None
        else:
            assert t["completed_by"] is None
        if t["kind"] == "follow_up":
            # Manual: no source_ref; written by the seller or given by a manager of the store.
            assert t["source_ref"] is None and t["created_by"] is not None
            assert customer["home_store"] in memberships[t["created_by"]]
        elif t["kind"] == "post_purchase":
            # As the POS integration raises it, for the primary associate.
            purchase = purchases[UUID(t["source_ref"].removeprefix("purchase:"))]
            assert purchase["customer"] == t["customer"] and t["assignee"] == customer["primary_associate"]
            assert t["due_at"] == purchase["occurred_at"] + POST_PURCHASE_FOLLOW_UP and t["created_by"] is None
        else:
            # As the birthday generator raises it: the start of the birthday, local time.
            prefix, customer_id, year = t["source_ref"].split(":")
            assert (prefix, customer_id) == ("birthday", str(t["customer"])) and t["assignee"] == customer["primary_associate"]
            local = t["due_at"].astimezone(ZoneInfo(stores[t["store"]]["timezone"]))
            assert local.time() == dt.time(0, 0) and local.year == int(year)
            mmdd = customer["birth_mmdd"]
            assert local.month * 100 + local.day == mmdd or (mmdd == 229 and (local.month, local.day) == (2, 28))
        status = task_status(t["completed_at"], t["snoozed_until"], now)
        statuses["overdue" if status == "open" and t["due_at"] < now else status] += 1
    assert statuses["done"] > 0 and statuses["open"] > 0 and statuses["snoozed"] > 0 and statuses["overdue"] > 0, statuses


def _local(moment: dt.datetime, zone: str) -> dt.datetime:
    return moment.astimezone(ZoneInfo(zone))


async def test_appointments(seeded: Seeded) -> None:
    seeded.use()
    appointments = await Appointment.select().run()
    assert seeded.summary.appointments == len(appointments)
    staff = {s["id"]: s for s in await Staff.select().run()}
    customers = {c["id"]: c for c in await Customer.select(Customer.id, Customer.home_store).run()}
    stores = {s["id"]: s for s in await Store.select().run()}
    memberships = await _memberships()
    now = dt.datetime.now(dt.timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    past, upcoming = Counter(), Counter()
    for a in appointments:
        assert a["channel"] in ("in_store", "video", "phone")
        assert a["store"] == customers[a["customer"]]["home_store"] and a["store"] in memberships[a["associate"]]
        assert staff[a["associate"]]["role"] in ("associate", "store_manager")
        assert today - dt.timedelta(days=32) <= a["starts_at"] < a["ends_at"] <= today + dt.timedelta(days=22)
        assert a["created_at"] <= now and a["created_at"] <= a["updated_at"]
        # Inside opening hours, on one local day, in the store's time zone.
        zone = stores[a["store"]]["timezone"]
        start, end = _local(a["starts_at"], zone), _local(a["ends_at"], zone)
        assert start.date() == end.date() and dt.time(10, 0) <= start.time() and end.time() <= dt.time(20, 0), (start, end)
        if a["status"] in ("held", "no_show"):
            assert a["starts_at"] < now
        if a["ends_at"] < today - dt.timedelta(days=1):
            past[a["status"]] += 1
        elif a["starts_at"] > now + dt.timedelta(days=1):
            upcoming[a["status"]] += 1
            assert a["status"] in ("booked", "cancelled")
    assert set(past) == {"booked", "held", "cancelled", "no_show"}, past
    assert upcoming["booked"] > 0 and upcoming["cancelled"] > 0, upcoming
    assert {a["channel"] for a in appointments} == {"in_store", "video", "phone"}
    # No associate is booked twice at once.
    booked: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for a in appointments:
        if a["status"] == "booked":
            booked[a["associate"]].append(a)
    for rows in booked.values():
        rows.sort(key=lambda r: r["starts_at"])
        for earlier, later in zip(rows, rows[1:]):
            assert earlier["ends_at"] <= later["starts_at"], (earlier, later)


async def test_the_madrid_associate_has_work_waiting(seeded: Seeded) -> None:
    seeded.use()
    madrid = await staff_repo.by_email("associate.madrid@example.com")
    assert madrid is not None
    now = dt.datetime.now(dt.timezone.utc)
    book = {
        c["id"] for c in await Customer.select(Customer.id).where(
            (Customer.primary_associate == madrid["id"]) | (Customer.secondary_associate == madrid["id"])
        ).run()
    }
    tasks = await Task.select().where(Task.assignee == madrid["id"]).run()
    open_tasks = [t for t in tasks if task_status(t["completed_at"], t["snoozed_until"], now) == "open"]
    assert len(open_tasks) >= 5 and all(t["customer"] in book or t["kind"] == "follow_up" for t in open_tasks)
    upcoming = await Appointment.select().where(
        (Appointment.associate == madrid["id"]) & (Appointment.status == "booked") & (Appointment.starts_at > now)
    ).run()
    assert len([a for a in upcoming if a["customer"] in book]) >= 3


def test_the_plan_is_deterministic() -> None:
    now = dt.datetime(2026, 3, 29, tzinfo=dt.timezone.utc)  # a DST change in both time zones

    def rows(plan: Any) -> list[Any]:
        out = []
        for table_rows in (plan.customers, plan.wishlist, plan.tasks, plan.appointments):
            out.append([row.to_dict() for row in table_rows])
        return out

    first, second = _build("hash", 120, 7, now), _build("hash", 120, 7, now)
    assert rows(first) == rows(second)
    assert first.tasks and first.appointments and first.wishlist
    assert rows(_build("hash", 120, 8, now)) != rows(first)
