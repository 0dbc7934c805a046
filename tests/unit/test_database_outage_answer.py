"""Regression (found by ops/faults/pg_restart.py): while PostgreSQL restarts, requests
answered 500 INTERNAL_ERROR; a database outage is not a bug and answers 503
SERVICE_UNAVAILABLE with Retry-After, while a real bug stays a 500."""

from __future__ import annotations

import asyncpg
import pytest
from litestar import Litestar, get

from api.errors import exception_handlers
from litestar.testing import TestClient


def _app(exc: Exception) -> Litestar:
    @get("/boom")
    async def boom() -> None:
        raise exc

    return Litestar([boom], exception_handlers=exception_handlers)


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "Connection refused"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.InterfaceError("connection is closed"),
])
def test_database_outage_answers_503(exc: Exception) -> None:
    with TestClient(_app(exc)) as client:
        r = client.get("/boom")
    assert r.status_code == 503
    assert r.json()["code"] == "SERVICE_UNAVAILABLE"
    assert r.headers["retry-after"] == "2"


def test_a_bug_still_answers_500() -> None:
    with TestClient(_app(KeyError("x"))) as client:
        r = client.get("/boom")
    assert r.status_code == 500 and r.json()["code"] == "INTERNAL_ERROR"
