"""Name search by exact words on PostgreSQL (migration 2026-11-24T06:40:00): the table of the
distinct words of customers' names follows every write to a name and forgets a word no
customer row uses any more (erasure), concurrent writers neither fail nor lose a word, and
the candidate query returns exactly the rows whose every query word matches a word of the
name by domain.search's rule, the best first when there are more than the limit. The
candidate property also runs on SQLite, where the FTS5 candidates must hold every match."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import string
from typing import Any
from uuid import UUID, uuid4

import pytest

from clienteling import db
from clienteling.repositories import customers as customers_repo
from clienteling.tables import Customer
from domain.search import name_score, term_score, words
from domain.text import fold, name_key
from permissions import RowScope
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import Database, login
from tests.integration.test_customer360 import counting_statements

WAIT = 10  # seconds: a lock wait that never ends is a failure, not a hang


def _unique_word() -> str:
    """A surname no other test uses (the words table outlives the harness's TRUNCATE)."""
    return "Zq" + "".join(random.choice(string.ascii_lowercase) for _ in range(10))


def _postgres_only(database: Database) -> None:
    if database.kind != "postgresql":
        pytest.skip("the name words table exists on PostgreSQL only (SQLite searches its FTS5 table)")


async def _name_words() -> set[str]:
    rows = await Customer._meta.db.run_ddl("SELECT word FROM customer_name_word")
    return {r["word"] for r in rows}


async def test_name_words_follow_inserts_renames_and_deletes(clean_db) -> None:  # noqa: ANN001
    _postgres_only(clean_db)
    store = await make_store()
    shared, other, gone = _unique_word(), _unique_word(), _unique_word()
    first = await make_customer(store=store, first_name="Ana", last_name=f"{shared}-{gone}", consents=())
    second = await make_customer(store=store, first_name="Ana", last_name=shared, consents=())
    assert {fold(shared), fold(gone), "ana"} <= await _name_words()
    # A rename drops the words only this row used, keeps the shared ones, adds the new ones.
    await Customer.update({Customer.last_name: other, Customer.name_key: name_key("Ana", other)}).where(Customer.id == first).run()
    assert fold(gone) not in await _name_words()
    assert {fold(shared), fold(other)} <= await _name_words()
    # A soft-deleted row is still stored: its words stay until it is erased or deleted.
    await Customer.update({Customer.deleted_at: dt.datetime.now(dt.timezone.utc)}).where(Customer.id == second).run()
    assert fold(shared) in await _name_words()
    await Customer.delete().where(Customer.id == second).run()
    assert fold(shared) not in await _name_words() and fold(other) in await _name_words()


async def test_erasure_removes_the_customers_own_name_words(client, clean_db) -> None:  # noqa: ANN001
    _postgres_only(clean_db)
    store = await make_store()
    first_name, last_name = _unique_word(), _unique_word()
    cid = await make_customer(store=store, first_name=first_name, last_name=f"{last_name} Puig")
    await make_customer(store=store, first_name="Jordi", last_name="Puig", email="jordi@example.com")
    assert {fold(first_name), fold(last_name), "puig"} <= await _name_words()
    officer = await make_staff(role="compliance_officer")
    r = await client.post(
        f"/api/v1/customers/{cid}/erasure", json={"requestReference": "DSR-2026-0777"},
        headers=await login(client, officer["email"]),
    )
    assert r.status_code == 200, r.text
    left = await _name_words()
    assert fold(first_name) not in left and fold(last_name) not in left
    assert {"puig", "erased"} <= left  # still used by another customer / by the erased row


async def test_rebuild_matches_the_names_after_a_load_without_triggers(clean_db) -> None:  # noqa: ANN001
    """What bench/dataset.py and bench/search_bench.py call after loading with triggers off."""
    _postgres_only(clean_db)
    store = await make_store()
    loaded, stale = _unique_word(), _unique_word()
    engine = Customer._meta.db
    async with engine.transaction():
        await engine.run_ddl("SET LOCAL session_replication_role = replica")
        await make_customer(store=store, first_name="Ana", last_name=loaded, consents=())
        await engine.run_ddl(f"INSERT INTO customer_name_word (word) VALUES ('{fold(stale)}')")
    assert fold(loaded) not in await _name_words()
    await engine.run_ddl("SELECT customer_name_word_rebuild()")
    words_now = await _name_words()
    assert fold(loaded) in words_now and fold(stale) not in words_now


async def test_typo_search_looks_the_words_up_on_postgresql(client, clean_db, monkeypatch) -> None:  # noqa: ANN001
    _postgres_only(clean_db)
    store = await make_store()
    associate = await make_staff(role="associate", stores=[store])
    surname = _unique_word()
    cid = await make_customer(store=store, first_name="Gheorghe", last_name=f"{surname} Popescu")
    await make_customer(store=store, first_name="Maria", last_name="Popa", email="popa@example.com")
    headers = await login(client, associate["email"])
    typo = fold(surname)[:6] + "x" + fold(surname)[7:]  # one letter changed
    with counting_statements(clean_db.engine, monkeypatch) as seen:
        r = await client.get("/api/v1/customers", params={"q": f"gheorgh {typo} p"}, headers=headers)
    assert r.status_code == 200, r.text
    assert [c["id"] for c in r.json()["items"]] == [str(cid)]
    assert any("customer_name_word_matches" in s for s in seen), seen


async def _insert_in_own_transaction(store: UUID, first: str, last: str, hold: float) -> UUID:
    cid = uuid4()
    async with db.transaction():
        await customers_repo.insert({
            "id": cid, "first_name": first, "last_name": last, "home_store": store, "name_key": name_key(first, last),
        })
        await asyncio.sleep(hold)  # overlap with the other writers
    return cid


async def test_concurrent_inserts_sharing_words_all_commit(clean_db) -> None:  # noqa: ANN001
    _postgres_only(clean_db)
    store = await make_store()
    new_word = _unique_word()  # not in the table yet: every writer inserts it at once
    names = [(f"María {n}", f"{new_word} García") for n in range(8)]
    ids = await asyncio.wait_for(
        asyncio.gather(*(_insert_in_own_transaction(store, f, last, 0.05 * (n % 3)) for n, (f, last) in enumerate(names))),
        WAIT,
    )
    assert await Customer.count().where(Customer.id.is_in(list(ids))).run() == 8
    assert {fold(new_word), "maria", "garcia"} <= await _name_words()


async def _lock_waiters() -> int:
    rows = await Customer._meta.db.run_ddl(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return rows[0]["n"]


async def _until_someone_waits_for_a_lock() -> None:
    for _ in range(WAIT * 50):
        if await _lock_waiters():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")


@pytest.mark.parametrize("first", ["adder", "remover"])
async def test_a_word_survives_removing_its_last_use_while_another_customer_adds_it(clean_db, first: str) -> None:  # noqa: ANN001
    """One transaction deletes the only customer with a word while another inserts a new
    customer with it, in either order: the word must be in the table afterwards (or the
    new customer could not be found by it)."""
    _postgres_only(clean_db)
    store = await make_store()
    word = _unique_word()
    old = await make_customer(store=store, first_name="Ana", last_name=word, consents=())
    written, release_first = asyncio.Event(), asyncio.Event()

    async def adder() -> None:
        async with db.transaction():
            await customers_repo.insert({"id": uuid4(), "first_name": "Ion", "last_name": word, "home_store": store, "name_key": name_key("Ion", word)})
            if first == "adder":
                written.set()
                await release_first.wait()

    async def remover() -> None:
        async with db.transaction():
            await Customer.delete().where(Customer.id == old).run()
            if first == "remover":
                written.set()
                await release_first.wait()

    one, other = (adder, remover) if first == "adder" else (remover, adder)
    task_one = asyncio.create_task(one())
    await asyncio.wait_for(written.wait(), WAIT)  # the first writer has written, its transaction open
    task_other = asyncio.create_task(other())
    try:
        await _until_someone_waits_for_a_lock()
    finally:
        release_first.set()
    await asyncio.wait_for(asyncio.gather(task_one, task_other), WAIT)
    assert fold(word) in await _name_words()
    assert await Customer.count().where(Customer.last_name == word).run() == 1


# --- The candidate set against domain.search, on a seeded random data set --------------

FIRSTS = ["Ana", "Anabel", "María", "Marta", "José", "Josep", "Ion", "Ioana", "Andrei", "Elena", "Mihai", "Ma"]
LASTS = ["García", "Garcías", "Gracia", "Popescu", "Popescou", "Popa", "Puig", "Pujol", "Martínez", "Martín",
         "O'Neill", "Mma", "Ionescu", "Soler", "López-Vidal", "Gheorghiu", "Gheorghe", "Dumitru"]


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1:]
    if kind == "drop" and len(word) > 2:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def _query_words(rng: random.Random) -> list[str]:
    out = []
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        word = rng.choice(words(fold(rng.choice(FIRSTS + LASTS))))
        how = rng.choice(("whole", "prefix", "letter", "typo", "typo", "other"))
        if how == "prefix":
            word = word[: rng.randint(2, max(2, len(word)))]
        elif how == "letter":
            word = word[0]
        elif how == "typo":
            word = _typo(word, rng)
        elif how == "other":
            word = rng.choice(("zzz", "qwerty", "ionescuu", "xyz", "e"))
        out.append(word)
    return out


def _term_scores(query_words: list[str], key: str) -> list[int]:
    name_words = words(key)
    return [term_score(q, name_words) for q in query_words]


async def test_name_candidates_are_the_rows_matching_every_query_word(clean_db) -> None:  # noqa: ANN001
    """For every scope kind: without the limit, exactly the rows where each query word is a
    word of the name, starts one, or is close to one (domain.search.term_score), one-letter
    words and hyphenated names included (SQLite: at least every row Python accepts); with a
    small limit, the best of them by domain.search's per-word scores (PostgreSQL)."""
    rng = random.Random(20261124)
    stores = [await make_store(code=f"S{n}") for n in range(3)]
    staff = [(await make_staff(role="associate", stores=[s]))["id"] for s in stores]
    rows: list[dict[str, Any]] = []
    for n in range(300):
        first = rng.choice(FIRSTS)
        last = rng.choice(LASTS) + (f" {rng.choice(LASTS)}" if rng.random() < 0.4 else "")
        store_n = rng.randrange(3)
        rows.append({
            "id": uuid4(), "first_name": first, "last_name": last, "home_store": stores[store_n], "name_key": name_key(first, last),
            "primary_associate": staff[store_n] if rng.random() < 0.3 else None,
            "secondary_associate": staff[store_n] if rng.random() < 0.1 else None,
            "deleted": rng.random() < 0.1,
        })
    await Customer.insert(*(Customer(**{k: v for k, v in r.items() if k != "deleted"}) for r in rows)).run()
    deleted = [r["id"] for r in rows if r["deleted"]]
    await Customer.update({Customer.deleted_at: dt.datetime.now(dt.timezone.utc)}).where(Customer.id.is_in(deleted)).run()

    someone = uuid4()
    scopes = {
        "all": (RowScope(kind="all", store_ids=frozenset(), staff_id=someone), lambda r: True),
        "store": (RowScope(kind="store", store_ids=frozenset(stores[:2]), staff_id=someone), lambda r: r["home_store"] in stores[:2]),
        "book": (RowScope(kind="book", store_ids=frozenset(stores[:1]), staff_id=staff[0]),
                 lambda r: staff[0] in (r["primary_associate"], r["secondary_associate"])),
    }
    postgres = clean_db.kind == "postgresql"
    checked = matched = 0
    for _ in range(80):
        query_words = _query_words(rng)
        for scope, reachable in scopes.values():
            visible = [r for r in rows if not r["deleted"] and reachable(r)]
            expected = {r["id"] for r in visible if all(_term_scores(query_words, r["name_key"]))}
            accepted = {r["id"] for r in visible if name_score(query_words, r["name_key"]) > 0}
            found = await customers_repo._name_candidates(scope, query_words, None, customers_repo.CANDIDATE_LIMIT)
            ids = {r["id"] for r in found}
            assert accepted <= ids, (query_words, scope.kind)
            checked += 1
            matched += bool(accepted)
            if not postgres:
                continue
            assert ids == expected, (query_words, scope.kind)
            best = sorted((sum(_term_scores(query_words, r["name_key"])) for r in visible if r["id"] in expected), reverse=True)
            top = await customers_repo._name_candidates(scope, query_words, None, 5)
            assert sorted((sum(_term_scores(query_words, r["name_key"])) for r in top), reverse=True) == best[:5], (query_words, scope.kind)
    assert checked == 240 and matched > 60  # the random queries do find customers
