"""Web Push end to end: the real ``clienteling serve --demo`` (its in-process push worker)
and real ``clienteling push-worker`` processes, delivering to a real local push receiver
(tests/push_receiver.py) that checks the VAPID JWT and decrypts each message.

The SPEC "Done when": as member@example.com, register a subscription at the receiver,
trigger a purchase through the signed webhook, read the decrypted Spanish notification."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from domain.integrations import sign
from tests.e2e.conftest import DEMO_PASSWORD, PG_ADMIN_URL, Service, _command, _pg, _require, _start, _stop
from tests.push_receiver import PushReceiver

pytestmark = pytest.mark.e2e

WEBHOOK_SECRET = "e2e-push-webhook-secret-" + "q" * 16
MEMBER = "member@example.com"


@pytest.fixture(scope="module")
def receiver() -> Iterator[PushReceiver]:
    r = PushReceiver()
    yield r
    r.close()


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
    env.update({
        "CLIENTELING_DATABASE_URL": url, "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48),
        "CLIENTELING_WEBHOOK_SECRET": WEBHOOK_SECRET, "CLIENTELING_PUSH_ALLOW_HTTP_LOOPBACK": "1",
        "CLIENTELING_PUSH_POLL_INTERVAL_SECONDS": "0.2", "CLIENTELING_PUSH_RETRY_BASE_SECONDS": "0.3",
        "CLIENTELING_PUSH_RETRY_CAP_SECONDS": "2", "CLIENTELING_PUSH_RATE_LIMIT_PER_HOUR": "1000", "PYTHONUNBUFFERED": "1",
    })
    env.update({f"CLIENTELING_{k}": v for k, v in extra.items()})
    return env


def _database(kind: str, workdir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'clienteling.sqlite3'}", None
    name = f"clienteling_push_{uuid.uuid4().hex[:10]}"
    try:
        _pg(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001
        _require(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}: {exc}")
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}", name


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def push_service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``serve --demo`` with its in-process push worker and loopback endpoints allowed."""
    workdir = tmp_path_factory.mktemp(f"push-{request.param}")
    url, pg_name = _database(request.param, workdir)
    proc = None
    try:
        proc, log_path, base = _start(["--demo"], _env(url), workdir, "push-service")
        yield Service(base, log_path, request.param)
    finally:
        if proc is not None:
            _stop(proc)
        if pg_name:
            _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


# --- helpers -------------------------------------------------------------------------------


def _member(service: Service) -> tuple[dict[str, str], dict]:
    with service.client() as c:
        r = c.post("/api/v1/members/login", json={"email": MEMBER, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        headers = {"Authorization": f"Bearer {r.json()['accessToken']}"}
        me = c.get("/api/v1/members/me", headers=headers).json()
    return headers, me


def _fresh_subscription(service: Service, receiver: PushReceiver, headers: dict[str, str]) -> str:
    """The member's only subscription: a new one at the receiver."""
    with service.client() as c:
        for sub in c.get("/api/v1/members/me/push-subscriptions", headers=headers).json()["items"]:
            assert c.delete(f"/api/v1/members/me/push-subscriptions/{sub['id']}", headers=headers).status_code == 204
        token, body = receiver.subscribe()
        r = c.post("/api/v1/members/me/push-subscriptions", json=body, headers=headers)
        assert r.status_code == 201, r.text
    return token


def _purchase(service: Service, loyalty_number: str, total: str = "64.00") -> dict:
    payload = {
        "externalId": f"web-{uuid.uuid4().hex[:12]}", "loyaltyNumber": loyalty_number, "storeId": None, "channel": "online",
        "occurredAt": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)).isoformat(), "currency": "EUR",
        "total": total, "lines": [{"sku": "SKU-E2E", "name": "Camisa", "quantity": 1, "unitPrice": total}],
    }
    body = json.dumps(payload).encode()
    with service.client() as c:
        r = c.post("/api/v1/integrations/purchases", content=body, headers={"X-Clienteling-Signature": sign(WEBHOOK_SECRET, body), "Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    return payload


def _points_messages(receiver: PushReceiver, token: str) -> list:
    return [m for m in receiver.messages(token) if m.payload["type"] == "points_earned"]


def _wait_points(receiver: PushReceiver, token: str, count: int, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(_points_messages(receiver, token)) < count:
        time.sleep(0.1)
    return _points_messages(receiver, token)


# --- the member's journey --------------------------------------------------------------------


def test_done_when_a_purchase_reaches_the_member_decrypted_in_spanish(push_service: Service, receiver: PushReceiver) -> None:
    headers, me = _member(push_service)
    assert me["customerId"] and me["loyaltyNumber"] and me["language"] == "es"
    with push_service.client() as c:
        public_key = c.get("/api/v1/push/vapid-public-key").json()["publicKey"]
    token = _fresh_subscription(push_service, receiver, headers)
    _purchase(push_service, me["loyaltyNumber"], total="64.00")
    (message,) = _wait_points(receiver, token, 1)
    assert message.payload["title"] == "¡Has ganado 96 puntos!"  # 64 EUR at the gold tier's x1.5
    assert message.payload["body"].startswith("Tu saldo es ahora de ")
    assert message.vapid_key == public_key and message.claims["aud"] == receiver.origin
    assert message.headers["content-encoding"] == "aes128gcm" and message.headers["urgency"] == "normal"
    time.sleep(1.0)
    assert len(_points_messages(receiver, token)) == 1  # once


def test_a_gone_subscription_is_removed(push_service: Service, receiver: PushReceiver) -> None:
    headers, me = _member(push_service)
    token = _fresh_subscription(push_service, receiver, headers)
    receiver.answer(token, (410, {}))
    _purchase(push_service, me["loyaltyNumber"])
    deadline = time.monotonic() + 30
    with push_service.client() as c:
        while time.monotonic() < deadline:
            if c.get("/api/v1/members/me/push-subscriptions", headers=headers).json()["items"] == []:
                break
            time.sleep(0.2)
        assert c.get("/api/v1/members/me/push-subscriptions", headers=headers).json()["items"] == []
    assert _points_messages(receiver, token) == []


def test_a_429_with_retry_after_is_retried_later_and_delivered_once(push_service: Service, receiver: PushReceiver) -> None:
    headers, me = _member(push_service)
    token = _fresh_subscription(push_service, receiver, headers)
    receiver.answer(token, (429, {"Retry-After": "2"}))
    started = time.time()
    _purchase(push_service, me["loyaltyNumber"])
    messages = _wait_points(receiver, token, 1)
    assert len(messages) == 1 and messages[0].at - started >= 1.9  # not before Retry-After
    time.sleep(1.0)
    assert len(_points_messages(receiver, token)) == 1
    assert receiver.attempts[token] >= 2


def _withdraw_push_consent(service: Service, customer_id: str) -> None:
    manager = service.login("manager.madrid@example.com")
    with service.client() as c:
        r = c.post(f"/api/v1/customers/{customer_id}/consents", headers=manager, json={
            "purpose": "push_notifications", "status": "withdrawn", "channel": "store_tablet",
            "occurredAt": dt.datetime.now(dt.timezone.utc).isoformat(),
        })
    assert r.status_code == 201, r.text


def test_a_withdrawal_after_enqueue_stops_the_message(push_service: Service, receiver: PushReceiver) -> None:
    headers, me = _member(push_service)
    token = _fresh_subscription(push_service, receiver, headers)
    receiver.answer(token, (429, {"Retry-After": "3"}))  # the first try is refused: the message waits in the queue
    _purchase(push_service, me["loyaltyNumber"])
    deadline = time.monotonic() + 20
    while receiver.attempts.get(token, 0) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.attempts.get(token, 0) == 1
    _withdraw_push_consent(push_service, me["customerId"])
    time.sleep(5)
    assert receiver.attempts[token] == 1 and _points_messages(receiver, token) == []


def test_without_consent_nothing_is_sent(push_service: Service, receiver: PushReceiver) -> None:
    # Runs after the withdrawal above: the member no longer consents to push.
    headers, me = _member(push_service)
    token = _fresh_subscription(push_service, receiver, headers)
    _purchase(push_service, me["loyaltyNumber"])
    time.sleep(3)
    assert receiver.attempts.get(token, 0) == 0
    hq = push_service.login("hq@example.com")
    with push_service.client() as c:
        stats = c.get("/api/v1/push/stats", headers=hq).json()
    assert stats["byEventType"]["points_earned"].get("suppressed", 0) >= 2


# --- several workers on PostgreSQL --------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, dict[str, str], Path]]:
    """``serve --demo`` on PostgreSQL without its own push worker; tests start
    ``clienteling push-worker`` processes against the same database."""
    workdir = tmp_path_factory.mktemp("push-workers")
    url, pg_name = _database("postgresql", workdir)
    env = _env(url, PUSH_WORKER_IN_SERVE="0", PUSH_LEASE_SECONDS="4", PUSH_TIMEOUT_SECONDS="1.5", PUSH_BATCH_SIZE="5")
    proc = None
    try:
        proc, log_path, base = _start(["--demo"], env, workdir, "push-app")
        key = (workdir / "clienteling-demo-vapid.key").read_text().strip()
        env = {**env, "CLIENTELING_VAPID_PRIVATE_KEY": key, "CLIENTELING_VAPID_SUBJECT": "mailto:e2e@example.test"}
        yield Service(base, log_path, "postgresql"), env, workdir
    finally:
        if proc is not None:
            _stop(proc)
        if pg_name:
            _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _worker(env: dict[str, str], workdir: Path, name: str) -> subprocess.Popen:
    log = (workdir / f"{name}.log").open("w")
    return subprocess.Popen([*_command(), "push-worker"], cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_two_workers_on_postgresql_deliver_each_notification_exactly_once(pg_workers, receiver: PushReceiver) -> None:
    service, env, workdir = pg_workers
    headers, me = _member(service)
    token = _fresh_subscription(service, receiver, headers)
    workers = [_worker(env, workdir, "worker-a"), _worker(env, workdir, "worker-b")]
    try:
        payloads = [_purchase(service, me["loyaltyNumber"], total=f"{10 + n}.00") for n in range(20)]
        messages = _wait_points(receiver, token, len(payloads), timeout=60)
        time.sleep(2)
        messages = _points_messages(receiver, token)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=20)
    points = sorted(m.payload["data"]["purchaseId"] for m in messages)
    assert len(points) == 20 and len(set(points)) == 20, [m.payload["title"] for m in messages]
    assert all(w.returncode == 0 for w in workers)


def test_a_killed_workers_claims_are_redelivered_once(pg_workers, receiver: PushReceiver) -> None:
    service, env, workdir = pg_workers
    headers, me = _member(service)
    token = _fresh_subscription(service, receiver, headers)
    receiver.hang(token, 30)  # the push service stalls: the worker holds its claims
    for n in range(3):
        _purchase(service, me["loyaltyNumber"], total=f"{20 + n}.00")
    victim = _worker(env, workdir, "victim")
    try:
        deadline = time.monotonic() + 30
        while receiver.attempts.get(token, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert receiver.attempts.get(token, 0) >= 1, (workdir / "victim.log").read_text()
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    receiver.hang(token, 0)
    heir = _worker(env, workdir, "heir")
    try:
        messages = _wait_points(receiver, token, 3, timeout=60)
        time.sleep(2)
        messages = _points_messages(receiver, token)
    finally:
        heir.send_signal(signal.SIGTERM)
        heir.wait(timeout=20)
    ids = [m.payload["data"]["purchaseId"] for m in messages]
    assert len(ids) == 3 and len(set(ids)) == 3
