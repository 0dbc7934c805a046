"""Fuzzing fixtures: the real ``clienteling serve --demo`` process (uvicorn, demo data, signed
webhooks) on a free port, one on SQLite and one on PostgreSQL, with a bearer token for every
staff role and a few real ids so generated requests reach past the 404s.

Budget: ``CLIENTELING_FUZZ_EXAMPLES`` examples per REST operation and GraphQL area on SQLite
(default 6) and a third of that on PostgreSQL (at least 2). A longer run, for example before a
release: ``CLIENTELING_FUZZ_EXAMPLES=200 pytest tests/fuzz -m fuzz`` (see docs/security.md).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

PG_ADMIN_URL = os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEMO_PASSWORD = "clienteling-demo"
WEBHOOK_SECRET = "fuzz-webhook-secret-" + "f" * 16
ROLE_LOGINS = {
    "associate": "associate.madrid@example.com",
    "associate_other_store": "associate.bucharest@example.com",
    "store_manager": "manager.madrid@example.com",
    "hq_admin": "hq@example.com",
    "compliance_officer": "compliance@example.com",
    "marketing": "marketing@example.com",
}
EXAMPLES = int(os.environ.get("CLIENTELING_FUZZ_EXAMPLES", "6"))
PG_EXAMPLES = max(2, EXAMPLES // 3)


@dataclass
class FuzzService:
    kind: str
    base_url: str
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}

    def fresh_token(self, role: str) -> str:
        """A new session of its own, for operations that end the session (logout)."""
        r = httpx.post(f"{self.base_url}/api/v1/auth/login", json={"email": ROLE_LOGINS[role], "password": DEMO_PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["accessToken"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _command() -> list[str]:
    script = Path(sys.executable).with_name("clienteling")
    return [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]


def _collect(svc: FuzzService) -> None:
    """Log in every role and pick real ids of both stores (demo data has a fixed seed)."""
    with httpx.Client(base_url=svc.base_url, timeout=30) as c:
        for role, email in ROLE_LOGINS.items():
            r = c.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            svc.tokens[role] = r.json()["accessToken"]
        ids: dict[str, list[str]] = {"customer_id": [], "store_id": [], "task_id": [], "appointment_id": [], "item_id": [], "notice_id": []}
        for role in ("associate", "associate_other_store"):
            h = svc.headers(role)
            ids["store_id"] += c.get("/api/v1/me", headers=h).json()["storeIds"]
            ids["customer_id"] += [x["id"] for x in c.get("/api/v1/customers", params={"limit": 3}, headers=h).json()["items"]]
        h = svc.headers("store_manager")
        ids["task_id"] += [x["id"] for x in c.get("/api/v1/tasks", params={"limit": 3}, headers=h).json().get("items", [])]
        ids["appointment_id"] += [x["id"] for x in c.get("/api/v1/appointments", params={"limit": 3}, headers=h).json().get("items", [])]
        ids["notice_id"] += [x["id"] for x in c.get("/api/v1/consent-notices", params={"limit": 3}, headers=h).json().get("items", [])]
        for cid in ids["customer_id"]:
            ids["item_id"] += [x["id"] for x in c.get(f"/api/v1/customers/{cid}/wishlist", headers=svc.headers("hq_admin")).json().get("items", [])]
        svc.ids = {k: v for k, v in ids.items() if v}


def _start(kind: str, workdir: Path) -> Iterator[FuzzService]:
    pg_name = None
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'fuzz.sqlite3'}"
    else:
        pg_name = f"clienteling_fuzz_{uuid.uuid4().hex[:10]}"
        try:
            _pg(f'CREATE DATABASE "{pg_name}"')
        except Exception as exc:  # noqa: BLE001
            reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
            if os.environ.get("CLIENTELING_TEST_REQUIRE_SERVICES"):
                pytest.fail(reason)
            pytest.skip(reason)
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{pg_name}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
    env.update({
        "CLIENTELING_DATABASE_URL": url,
        "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48),
        "CLIENTELING_WEBHOOK_SECRET": WEBHOOK_SECRET,
        # Generated sign-ins fail by the hundred from one address: keep the per-address
        # throttle out of the way (its own tests are in tests/integration).
        "CLIENTELING_LOGIN_MAX_FAILURES_IP": "100000",
        "CLIENTELING_LOGIN_MAX_FAILURES_ACCOUNT": "1000",
        "PYTHONUNBUFFERED": "1",
    })
    log_path = workdir / "service.log"
    log = log_path.open("w")
    proc = subprocess.Popen([*_command(), "serve", "--demo", "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the service exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the service did not become ready:\n{log_path.read_text()}")
            time.sleep(0.3)
        svc = FuzzService(kind, base, log_path)
        _collect(svc)
        yield svc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if pg_name:
            _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    yield from _start("sqlite", tmp_path_factory.mktemp("fuzz-sqlite"))


@pytest.fixture(scope="session")
def postgres_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    yield from _start("postgresql", tmp_path_factory.mktemp("fuzz-postgresql"))
