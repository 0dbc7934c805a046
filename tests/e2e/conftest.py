"""End-to-end fixtures: the real ``clienteling serve --demo`` process on a free port, once on
SQLite and once on PostgreSQL (a database created for the run and dropped after)."""

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
from pathlib import Path

import httpx
import pytest

PG_ADMIN_URL = os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEMO_PASSWORD = "clienteling-demo"
WEBHOOK_SECRET = "e2e-webhook-secret-" + "w" * 16


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


class Service:
    def __init__(self, base_url: str, log_path: Path, kind: str, *, env: dict[str, str] | None = None, workdir: Path | None = None) -> None:
        self.base_url = base_url
        self.log_path = log_path
        self.kind = kind
        # The environment and folder the process runs with (to start companions: push workers).
        self.env = env or {}
        self.workdir = workdir

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    def login(self, email: str) -> dict[str, str]:
        with self.client() as c:
            r = c.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['accessToken']}"}


REDIS_URL = os.environ.get("CLIENTELING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _start(args: list[str], env: dict[str, str], workdir: Path, name: str) -> tuple[subprocess.Popen, Path, str]:
    port = _free_port()
    log_path = workdir / f"{name}.log"
    proc = subprocess.Popen([*_command(), "serve", *args, "--port", str(port)], cwd=workdir, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return proc, log_path, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{name} did not become ready:\n{log_path.read_text()}")
        time.sleep(0.3)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _require(reason: str) -> None:
    if os.environ.get("CLIENTELING_TEST_REQUIRE_SERVICES"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def scaled_out(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Service]]:
    """Two app processes on one PostgreSQL database and one Redis (SPEC §2 scale-out)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        _require(f"Redis not reachable at {REDIS_URL}: {type(exc).__name__}: {exc}")
    name = f"clienteling_scale_{uuid.uuid4().hex[:10]}"
    try:
        _pg(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        _require(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}")
    workdir = tmp_path_factory.mktemp("scale-out")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
    from push.vapid import generate

    env.update({
        "CLIENTELING_DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}",
        "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48),
        "CLIENTELING_REDIS_URL": REDIS_URL,
        "PYTHONUNBUFFERED": "1",
        # Web Push by dedicated push-worker processes (the tests start them), to a local receiver.
        "CLIENTELING_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CLIENTELING_PUSH_WORKER_IN_SERVE": "0",
        "CLIENTELING_PUSH_ALLOW_HTTP_LOOPBACK": "1",
        "CLIENTELING_PUSH_POLL_INTERVAL_SECONDS": "0.2",
        "CLIENTELING_VAPID_PRIVATE_KEY": generate().private_key,
        "CLIENTELING_VAPID_SUBJECT": "mailto:scale-out@example.test",
    })
    procs = []
    try:
        a, log_a, base_a = _start(["--demo"], env, workdir, "app-a")
        procs.append(a)
        b, log_b, base_b = _start([], env, workdir, "app-b")
        procs.append(b)
        yield Service(base_a, log_a, "postgresql", env=env, workdir=workdir), Service(base_b, log_b, "postgresql", env=env, workdir=workdir)
    finally:
        for proc in procs:
            _stop(proc)
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    workdir = tmp_path_factory.mktemp(f"e2e-{request.param}")
    pg_name = None
    if request.param == "sqlite":
        url = f"sqlite:///{workdir / 'clienteling.sqlite3'}"
    else:
        pg_name = f"clienteling_e2e_{uuid.uuid4().hex[:10]}"
        try:
            _pg(f'CREATE DATABASE "{pg_name}"')
        except Exception as exc:  # noqa: BLE001
            reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}"
            if os.environ.get("CLIENTELING_TEST_REQUIRE_SERVICES"):
                pytest.fail(reason)  # CI provides every service: a skip would hide a gap
            pytest.skip(reason)
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{pg_name}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
    env.update({
        "CLIENTELING_DATABASE_URL": url, "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48),
        "CLIENTELING_WEBHOOK_SECRET": WEBHOOK_SECRET, "PYTHONUNBUFFERED": "1",
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
        yield Service(base, log_path, request.param)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if pg_name:
            _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
