"""/ready: 503 with a reason code while the database lacks a migration or does not answer,
200 once it is reachable and current."""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from clienteling import db
from tests.factories import FAST_PASSWORDS
from tests.integration.conftest import PG_ADMIN_URL, _pg_admin


@contextlib.contextmanager
def _bound(engine) -> Iterator[None]:  # noqa: ANN001
    """Bind ``engine`` for the test and give the previous binding back afterwards (the
    session's database fixture shares the process-wide binding)."""
    previous = db.current_engine() if db.is_bound() else None
    db.bind(engine)
    try:
        yield
    finally:
        if previous is not None:
            db.bind(previous)


@contextlib.asynccontextmanager
async def _client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = load_settings({"CLIENTELING_DATABASE_URL": url, "CLIENTELING_SECRET_KEY": "ready-test-secret-" + "r" * 32})
    app = create_app(settings, passwords=FAST_PASSWORDS, manage_database=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


async def test_ready_is_503_migrations_pending_until_the_database_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    with _bound(db.engine_from_url(url)):
        async with _client(url) as client:
            r = await client.get("/ready")
            body = r.json()
            assert r.status_code == 503
            assert body["reason"] == "MIGRATIONS_PENDING" and body["database"] == "ok"
            assert body["pendingMigrations"] == await db.pending_migrations() != []

            await db.migrate()
            r = await client.get("/ready")
            assert r.status_code == 200 and r.json() == {"status": "ok", "database": "ok"}


async def test_ready_is_503_database_unreachable_on_a_closed_port() -> None:
    url = f"postgresql://postgres@127.0.0.1:{_closed_port()}/clienteling"
    with _bound(db.engine_from_url(url)):
        async with _client(url) as client:
            r = await client.get("/ready")
    assert r.status_code == 503
    assert r.json() == {"status": "unavailable", "reason": "DATABASE_UNREACHABLE", "database": "unreachable"}
    assert r.headers["x-request-id"]


@pytest.mark.postgres
async def test_ready_turns_503_when_its_database_is_dropped_under_it() -> None:
    admin = await _pg_admin()
    name = f"clienteling_ready_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    engine = db.engine_from_url(url)
    try:
        with _bound(engine):
            await db.start_pool(1, 2)
            try:
                await db.migrate()
                async with _client(url) as client:
                    assert (await client.get("/ready")).status_code == 200
                    await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                    r = await client.get("/ready")
                    assert r.status_code == 503 and r.json()["reason"] == "DATABASE_UNREACHABLE"
            finally:
                await db.close_pool()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
