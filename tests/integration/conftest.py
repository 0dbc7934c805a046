"""Integration fixtures: every test runs against a real SQLite file and a real PostgreSQL
database (created for this run and dropped afterwards). PostgreSQL tests are skipped, with
the reason, when no server is reachable."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import httpx

from api.app import create_app
from api.settings import load_settings
from clienteling import db
from clienteling.tables import ALL_TABLES, SyncCounter, SyncRemoval
from tests.factories import FAST_PASSWORDS, PASSWORD

PG_ADMIN_URL = os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Database:
    def __init__(self, kind: str, url: str, engine) -> None:  # noqa: ANN001
        self.kind = kind
        self.url = url
        self.engine = engine


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_ADMIN_URL, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
        if os.environ.get("CLIENTELING_TEST_REQUIRE_SERVICES"):
            pytest.fail(reason)  # CI provides every service: a skip would hide a gap
        pytest.skip(reason)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        engine = db.engine_from_url(url)
        db.bind(engine)
        await db.start_pool()
        await db.migrate()
        yield Database("sqlite", url, engine)
        return
    admin = await _pg_admin()
    name = f"clienteling_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    engine = None
    try:  # from here on the database is dropped whatever fails
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        url = f"{base}/{name}"
        engine = db.engine_from_url(url)
        db.bind(engine)
        await db.start_pool(1, 5)
        await db.migrate()
        yield Database("postgresql", url, engine)
    finally:
        if engine is not None:
            db.bind(engine)
            await db.close_pool()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def clean_db(database: Database) -> Database:
    """The session's database, bound and emptied for this test."""
    db.bind(database.engine)
    if database.kind == "postgresql":
        names = ", ".join(t._meta.tablename for t in ALL_TABLES)
        # Replica mode lets the test harness empty the append-only audit tables; the
        # application itself never runs with it.
        async with database.engine.transaction():
            await database.engine.run_ddl("SET LOCAL session_replication_role = replica")
            await database.engine.run_ddl(f"TRUNCATE {names} CASCADE")
    else:
        for table in reversed(ALL_TABLES):
            await table.delete(force=True).run()
        # Deleting synced rows records removals (sync triggers): empty those last.
        await SyncRemoval.delete(force=True).run()
        await SyncCounter.delete(force=True).run()
    return database


@pytest.fixture
def settings(clean_db: Database):  # noqa: ANN201
    return load_settings(
        {
            "CLIENTELING_DATABASE_URL": clean_db.url,
            "CLIENTELING_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "CLIENTELING_LOGIN_MAX_FAILURES_ACCOUNT": "5",
            "CLIENTELING_LOGIN_MAX_FAILURES_IP": "50",
        }
    )


@pytest.fixture
def app(settings):  # noqa: ANN001, ANN201
    return create_app(settings, passwords=FAST_PASSWORDS, manage_database=False)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:  # noqa: ANN001
    """An HTTP client calling the app in this event loop (the database pool lives here)."""
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD, device_id: str | None = None) -> dict[str, str]:
    """Sign in and return the Authorization header for the staff member."""
    body = {"email": email, "password": password}
    if device_id:
        body["deviceId"] = device_id
    response = await client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}
