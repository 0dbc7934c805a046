"""The access audit: an entry for every surface, no values, a verifiable hash chain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import msgspec
import pytest
from prometheus_client import REGISTRY

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.services.audit import AuditTrail
from clienteling.tables import AuditEntry, AuditSubject
from domain.staff import Principal, Role
from tests.factories import make_customer, make_staff, make_store
from tests.integration.conftest import login


async def entries(**filters) -> list[dict]:  # noqa: ANN003
    rows = await AuditEntry.select().order_by(AuditEntry.seq).output(load_json=True).run()
    return [r for r in rows if all(r[k] == v for k, v in filters.items())]


async def _setup(client):  # noqa: ANN001, ANN202
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    compliance = await make_staff(role="compliance_officer")
    customer = await make_customer(store=store, email="lucia.audit@example.com", phone="+34 600 999 888")
    return store, seller, compliance, customer


async def test_rest_read_is_recorded_with_fields_but_no_values(client) -> None:
    _, seller, _, customer = await _setup(client)
    r = await client.get(f"/api/v1/customers/{customer}", headers=await login(client, seller["email"]))
    (entry,) = await entries(action="read")
    assert entry["actor_id"] == seller["id"] and entry["actor_role"] == "associate"
    assert entry["surface"] == "rest" and entry["operation"] == "GET /api/v1/customers/{customer_id}"
    assert entry["customer_ids"] == [str(customer)] and entry["request_id"] == r.headers["x-request-id"]
    assert "email:masked" in entry["fields"] and "first_name" in entry["fields"] and "sizes" in entry["fields"]
    # Scan every member that could carry a value; ids, hashes and timestamps are random hex
    # and digits that may contain "999" by chance.
    random_parts = {"hash", "prev_hash", "customer_ids", "actor_id", "request_id", "seq", "occurred_at", "actor_stores"}
    dumped = msgspec.json.encode({k: v for k, v in entry.items() if k not in random_parts}).decode()
    assert "lucia" not in dumped and "999" not in dumped and "García" not in dumped


@contextlib.asynccontextmanager
async def audit_writes_fail(database):  # noqa: ANN001, ANN202
    """Make every audit insert fail in the database itself, as a full disk or a lost
    privilege would, for the duration of the block."""
    if database.kind == "postgresql":
        await database.engine.run_ddl(
            "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$"
        )
        await database.engine.run_ddl("CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_entry FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()")
    else:
        await database.engine.run_ddl("CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_entry BEGIN SELECT RAISE(ABORT, 'audit refused by the test'); END")
    try:
        yield
    finally:
        await database.engine.run_ddl("DROP TRIGGER test_refuse_audit" + (" ON audit_entry" if database.kind == "postgresql" else ""))
        if database.kind == "postgresql":
            await database.engine.run_ddl("DROP FUNCTION test_refuse_audit()")


async def test_no_personal_data_leaves_when_its_audit_entry_cannot_be_written(client, clean_db) -> None:
    _, seller, _, customer = await _setup(client)
    headers = await login(client, seller["email"])
    query = "query($id: ID!) { customer(id: $id) { firstName email phone notes(first: 5) { body } } }"
    async with audit_writes_fail(clean_db):
        rest = await client.get(f"/api/v1/customers/{customer}", headers=headers)
        graphql = await client.post("/graphql", json={"query": query, "variables": {"id": str(customer)}}, headers=headers)
    for response in (rest, graphql):
        assert response.status_code == 500, response.text
        assert response.json()["code"] == "INTERNAL_ERROR"
        assert "lucia" not in response.text and "999" not in response.text
    assert await entries() == []
    # Once the audit can be written again, so is the read, and the chain is whole.
    assert (await client.get(f"/api/v1/customers/{customer}", headers=headers)).status_code == 200
    assert [e["action"] for e in await entries()] == ["read"]
    assert (await AuditTrail(PolicyStore()).verify()).ok


async def test_a_graphql_360_writes_its_entries_in_one_chain_transaction(client) -> None:
    _, seller, _, customer = await _setup(client)
    headers = await login(client, seller["email"])
    query = "query($id: ID!) { customer(id: $id) { firstName notes(first: 5) { body } consentSummary { purpose } timeline(first: 5) { kind } } }"
    before = _batches_so_far()
    response = await client.post("/graphql", json={"query": query, "variables": {"id": str(customer)}}, headers=headers)
    after = _batches_so_far()
    assert "errors" not in response.json()
    actions = sorted(e["action"] for e in await entries())
    assert actions == ["consent_read", "read", "timeline_read"]  # no notes to read
    assert (after[0] - before[0], after[1] - before[1]) == (1, 3)
    assert {e["request_id"] for e in await entries()} == {response.headers["x-request-id"]}


async def test_list_search_graphql_and_writes_are_recorded(client) -> None:
    _, seller, _, customer = await _setup(client)
    headers = await login(client, seller["email"])
    await client.get("/api/v1/customers", headers=headers)
    await client.get("/api/v1/customers", params={"q": "garcia"}, headers=headers)
    await client.post("/graphql", json={"query": "query Open($id: ID!) { customer(id: $id) { firstName } }", "variables": {"id": str(customer)}}, headers=headers)
    await client.patch(f"/api/v1/customers/{customer}", json={"preferences": {"colors": ["red"]}}, headers=headers)
    await client.post(f"/api/v1/customers/{customer}/notes", json={"body": "Size up in jackets"}, headers=headers)
    await client.get(f"/api/v1/customers/{customer}/notes", headers=headers)
    actions = [(e["action"], e["surface"]) for e in await entries()]
    assert ("list", "rest") in actions and ("search", "rest") in actions
    assert ("read", "graphql") in actions and ("update", "rest") in actions
    assert ("note_create", "rest") in actions and ("note_read", "rest") in actions
    (gql,) = await entries(surface="graphql")
    assert gql["operation"] == "query Open customer"
    (update,) = await entries(action="update")
    assert update["fields"] == ["preferences"]


async def test_a_refused_write_leaves_no_write_entry(client) -> None:
    _, seller, _, customer = await _setup(client)
    r = await client.patch(f"/api/v1/customers/{customer}", json={"vip": True}, headers=await login(client, seller["email"]))
    assert r.status_code == 403
    assert await entries(action="update") == []


async def test_break_glass_reads_carry_the_grant_reference(client) -> None:
    madrid = await make_store()
    bucharest = await make_store()
    seller = await make_staff(role="associate", stores=[bucharest])
    customer = await make_customer(store=madrid)
    headers = await login(client, seller["email"])
    grant = (await client.post(f"/api/v1/customers/{customer}/break-glass", json={"reason": "Customer asks about a Madrid order"}, headers=headers)).json()["grant"]
    await client.get(f"/api/v1/customers/{customer}", headers=headers)
    (opened,) = await entries(action="break_glass")
    assert opened["reference"] == grant["id"] and opened["purpose"] == "break_glass"
    reads = await entries(action="read", purpose="break_glass")
    assert reads and all(r["reference"] == grant["id"] for r in reads)
    assert "Madrid order" not in msgspec.json.encode(await entries()).decode()


async def test_compliance_queries_the_audit_with_filters_paging_and_csv(client) -> None:
    _, seller, compliance, customer = await _setup(client)
    other = await make_customer(store=(await make_store()), first_name="Ion")
    headers = await login(client, seller["email"])
    for _ in range(3):
        await client.get(f"/api/v1/customers/{customer}", headers=headers)
    ch = await login(client, compliance["email"])
    assert (await client.get("/api/v1/audit", headers=headers)).status_code == 403
    first = (await client.get("/api/v1/audit", params={"customer": str(customer), "limit": 2}, headers=ch)).json()
    assert [e["action"] for e in first["items"]] == ["read", "read"] and first["nextCursor"]
    assert {"actorId", "occurredAt", "customerIds", "prevHash", "hash"} <= set(first["items"][0])
    rest = (await client.get("/api/v1/audit", params={"customer": str(customer), "limit": 2, "cursor": first["nextCursor"]}, headers=ch)).json()
    assert len(rest["items"]) == 1 and rest["nextCursor"] is None
    assert first["items"][0]["seq"] > first["items"][1]["seq"] > rest["items"][0]["seq"]
    assert (await client.get("/api/v1/audit", params={"customer": str(other)}, headers=ch)).json()["items"] == []
    by_actor = (await client.get("/api/v1/audit", params={"actor": str(seller["id"]), "action": "read"}, headers=ch)).json()["items"]
    assert len(by_actor) == 3
    future = (await client.get("/api/v1/audit", params={"from": "2999-01-01T00:00:00Z"}, headers=ch)).json()["items"]
    assert future == []
    csv_text = (await client.get("/api/v1/audit", params={"customer": str(customer), "format": "csv"}, headers=ch))
    assert csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.strip().splitlines()
    assert lines[0].startswith("seq,occurred_at,actor_id,actor_role")
    assert len(lines) == 4
    for bad in ({"action": "peek"}, {"from": "yesterday"}, {"limit": 500}, {"from": "2026-01-01T00:00:00"}):
        assert (await client.get("/api/v1/audit", params=bad, headers=ch)).status_code == 400, bad


async def test_verify_reports_an_intact_chain(client) -> None:
    _, seller, compliance, customer = await _setup(client)
    for _ in range(3):
        await client.get(f"/api/v1/customers/{customer}", headers=await login(client, seller["email"]))
    r = await client.get("/api/v1/audit/verify", headers=await login(client, compliance["email"]))
    assert r.json() == {"ok": True, "entries": 3}


async def _tamper(clean_db, sql: str) -> None:  # noqa: ANN001
    """Change the table behind the application's back, as a database administrator could
    (on PostgreSQL bypassing the append-only triggers)."""
    async with clean_db.engine.transaction():
        if clean_db.kind == "postgresql":
            await clean_db.engine.run_ddl("SET LOCAL session_replication_role = replica")
        await clean_db.engine.run_ddl(sql)


@pytest.mark.parametrize(
    ("sql", "problem", "bad"),
    [
        ("UPDATE audit_entry SET action = 'list' WHERE seq = 2", "hash_mismatch", 2),
        ("DELETE FROM audit_entry WHERE seq = 2", "sequence_gap", 2),
        ("UPDATE audit_entry SET seq = seq + 100 WHERE seq = 3", "sequence_gap", 3),
    ],
)
async def test_verify_names_the_first_tampered_entry(client, clean_db, sql, problem, bad) -> None:  # noqa: ANN001
    _, seller, compliance, customer = await _setup(client)
    for _ in range(4):
        await client.get(f"/api/v1/customers/{customer}", headers=await login(client, seller["email"]))
    await _tamper(clean_db, sql)
    r = (await client.get("/api/v1/audit/verify", headers=await login(client, compliance["email"]))).json()
    assert r["ok"] is False and r["firstBadEntry"] == bad and r["problem"] == problem


async def test_verify_detects_a_forged_entry_with_a_recomputed_hash_in_the_middle(client, clean_db) -> None:
    _, seller, compliance, customer = await _setup(client)
    for _ in range(3):
        await client.get(f"/api/v1/customers/{customer}", headers=await login(client, seller["email"]))
    # The forger rewrites entry 2 consistently (new hash) but cannot fix entry 3's link.
    from clienteling.repositories.audit import to_record
    from domain.audit import entry_hash

    row = (await AuditEntry.select().where(AuditEntry.seq == 2).output(load_json=True).run())[0]
    forged = msgspec.structs.replace(to_record(row), fields=["first_name"])
    await _tamper(clean_db, f"UPDATE audit_entry SET fields = '[\"first_name\"]', hash = '{entry_hash(forged)}' WHERE seq = 2")
    r = (await client.get("/api/v1/audit/verify", headers=await login(client, compliance["email"]))).json()
    assert r == {"ok": False, "entries": 3, "firstBadEntry": 3, "problem": "broken_link"}


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)  # SQLite relies on the chain alone
async def test_postgresql_refuses_update_and_delete_of_audit_entries(client, clean_db) -> None:
    _, seller, _, customer = await _setup(client)
    await client.get(f"/api/v1/customers/{customer}", headers=await login(client, seller["email"]))
    for sql in ("UPDATE audit_entry SET action = 'list'", "DELETE FROM audit_entry", "TRUNCATE audit_entry"):
        with pytest.raises(Exception, match="append-only"):
            await clean_db.engine.run_ddl(sql)
    assert len(await entries()) == 1


async def test_concurrent_appenders_keep_one_gap_free_chain(clean_db) -> None:
    trail = AuditTrail(PolicyStore())
    actors = [Principal(staff_id=uuid.uuid4(), role=Role.ASSOCIATE, store_ids=frozenset(), session_id=uuid.uuid4(), surface="test") for _ in range(5)]
    await asyncio.gather(*[trail.record(actors[i % 5], action="read", customer_ids=[uuid.uuid4()]) for i in range(60)])
    seqs = [e["seq"] for e in await entries()]
    assert seqs == list(range(1, 61))
    verdict = await trail.verify()
    assert verdict.ok and verdict.entries == 60


async def test_appenders_of_separate_processes_never_fork_the_chain(clean_db) -> None:
    """Several group commits at once, each on its own connection as separate app processes
    would be: the chain lock and the read of the last link (one statement on PostgreSQL)
    must let each see the entries the previous holder committed."""
    trails = [AuditTrail(PolicyStore()) for _ in range(4)]  # one writer each, like 4 processes
    actor = Principal(staff_id=uuid.uuid4(), role=Role.ASSOCIATE, store_ids=frozenset(), session_id=uuid.uuid4(), surface="test")

    async def writer(trail: AuditTrail) -> list[int]:
        seqs = []
        for _ in range(15):
            seqs.append(await trail.record(actor, action="read", customer_ids=[uuid.uuid4()]))
        return seqs

    written = await asyncio.gather(*[writer(t) for t in trails])
    assert sorted(s for seqs in written for s in seqs) == list(range(1, 61))
    verdict = await trails[0].verify()
    assert verdict.ok and verdict.entries == 60


def _batches_so_far() -> tuple[float, float]:
    """(chain transactions, entries they appended) in this process so far."""
    count = REGISTRY.get_sample_value("clienteling_audit_append_batch_entries_count") or 0.0
    total = REGISTRY.get_sample_value("clienteling_audit_append_batch_entries_sum") or 0.0
    return count, total


async def test_concurrent_reads_are_group_committed_in_fewer_chain_transactions(clean_db) -> None:
    trail = AuditTrail(PolicyStore())
    actor = Principal(staff_id=uuid.uuid4(), role=Role.ASSOCIATE, store_ids=frozenset(), session_id=uuid.uuid4(), surface="test")
    customers = [uuid.uuid4() for _ in range(40)]
    before = _batches_so_far()
    seqs = await asyncio.gather(*[trail.record(actor, action="read", customer_ids=[c]) for c in customers])
    after = _batches_so_far()
    transactions, appended = after[0] - before[0], after[1] - before[1]
    assert appended == 40
    assert transactions < 40, "concurrent entries were not batched"
    # Each caller got its own entry, and each entry names its own customer.
    assert sorted(seqs) == list(range(1, 41))
    rows = {e["seq"]: e for e in await entries()}
    assert [rows[s]["customer_ids"] for s in seqs] == [[str(c)] for c in customers]
    verdict = await trail.verify()
    assert verdict.ok and verdict.entries == 40


async def test_every_column_of_a_batch_is_stored_as_it_was_hashed(clean_db) -> None:
    """The batch insert (PostgreSQL: one JSON parameter) keeps text with quotes, escapes and
    non-ASCII letters, NULLs, microsecond timestamps and every customer of an entry."""
    trail = AuditTrail(PolicyStore())
    store = uuid.uuid4()
    actor = Principal(staff_id=uuid.uuid4(), role=Role.STORE_MANAGER, store_ids=frozenset({store}), session_id=uuid.uuid4(),
                      surface="graphql", operation='query "Fiche" \\ ñandú\nčeș', device_id="tablet-7", request_id="req-1")
    many = sorted(str(uuid.uuid4()) for _ in range(3))
    seqs = await asyncio.gather(
        trail.record(actor, action="read", customer_ids=many, fields=["email:masked", "first_name"], purpose="service", reference="ré\"f"),
        trail.record(None, action="erase", customer_ids=[many[0]]),
        trail.record(actor, action="read", customer_ids=[]),
    )
    assert sorted(seqs) == [1, 2, 3]
    rows = {e["seq"]: e for e in await entries()}
    first = rows[seqs[0]]
    assert first["operation"] == actor.operation and first["reference"] == 'ré"f' and first["purpose"] == "service"
    assert first["actor_id"] == actor.staff_id and first["actor_stores"] == [str(store)] and first["device_id"] == "tablet-7"
    assert first["customer_ids"] == many and first["fields"] == ["email:masked", "first_name"] and first["request_id"] == "req-1"
    system = rows[seqs[1]]
    assert system["actor_id"] is None and system["actor_role"] == "system" and system["device_id"] is None and system["purpose"] is None
    assert rows[seqs[2]]["customer_ids"] == []
    subjects = await AuditSubject.select(AuditSubject.seq, AuditSubject.customer).run()
    assert sorted((s["seq"], str(s["customer"])) for s in subjects) == sorted([(seqs[0], c) for c in many] + [(seqs[1], many[0])])
    verdict = await trail.verify()  # recomputes every hash from the stored columns
    assert verdict.ok and verdict.entries == 3


async def test_an_entry_recorded_inside_a_transaction_is_rolled_back_with_it(clean_db) -> None:
    trail = AuditTrail(PolicyStore())
    actor = Principal(staff_id=uuid.uuid4(), role=Role.ASSOCIATE, store_ids=frozenset(), session_id=uuid.uuid4(), surface="test")
    with pytest.raises(RuntimeError, match="write failed"):
        async with db.transaction():
            await trail.record(actor, action="update", customer_ids=[uuid.uuid4()])
            raise RuntimeError("write failed")
    assert await entries() == []
    await trail.record(actor, action="read", customer_ids=[uuid.uuid4()])
    assert [e["seq"] for e in await entries()] == [1]
    assert (await trail.verify()).ok


async def test_a_malformed_customer_id_fails_only_its_own_entry(clean_db) -> None:
    trail = AuditTrail(PolicyStore())
    actor = Principal(staff_id=uuid.uuid4(), role=Role.ASSOCIATE, store_ids=frozenset(), session_id=uuid.uuid4(), surface="test")
    results = await asyncio.gather(
        trail.record(actor, action="read", customer_ids=[uuid.uuid4()]),
        trail.record(actor, action="read", customer_ids=["not-a-uuid"]),  # type: ignore[list-item]
        trail.record(actor, action="read", customer_ids=[uuid.uuid4()]),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    assert sorted(r for r in results if isinstance(r, int)) == [1, 2]
    assert (await trail.verify()).ok


async def test_cli_audit_verify_exits_nonzero_on_a_broken_chain(clean_db) -> None:  # noqa: ANN001
    trail = AuditTrail(PolicyStore())
    actor = Principal(staff_id=uuid.uuid4(), role=Role.ASSOCIATE, store_ids=frozenset(), session_id=uuid.uuid4())
    for _ in range(3):
        await trail.record(actor, action="read", customer_ids=[uuid.uuid4()])

    async def run_cli() -> tuple[int, str]:
        env = {**os.environ, "CLIENTELING_DATABASE_URL": clean_db.url, "CLIENTELING_SECRET_KEY": "s" * 40}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "api.cli", "audit", "verify", env=env, cwd=Path(__file__).parents[2],
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
        return proc.returncode, out.decode()

    code, out = await run_cli()
    assert code == 0 and "3 entries verified" in out
    await _tamper(clean_db, "UPDATE audit_entry SET action = 'list' WHERE seq = 1")
    code, out = await run_cli()
    assert code == 1 and "BROKEN at entry 1 (hash_mismatch)" in out


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
async def test_concurrent_migrate_calls_on_a_fresh_database_take_turns(clean_db) -> None:  # noqa: ANN001
    import asyncpg

    from clienteling import db
    from tests.integration.conftest import PG_ADMIN_URL

    admin = await asyncpg.connect(PG_ADMIN_URL)
    name = f"clienteling_migrate_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = db.engine_from_url(f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
    try:
        db.bind(engine)
        await db.start_pool(1, 5)
        results = await asyncio.gather(db.migrate(), db.migrate(), db.migrate())
        applied = [r for r in results if r]
        assert len(applied) == 1 and results.count([]) == 2
        assert await db.pending_migrations() == []
        await db.close_pool()
    finally:
        db.bind(clean_db.engine)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
