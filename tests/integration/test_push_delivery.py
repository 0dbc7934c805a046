"""Web Push delivery on both databases, against a real local push receiver
(tests/push_receiver.py: VAPID JWT checked, payload decrypted with http_ece): member sign-in
and subscriptions, the worker's answers to 201/410/413/429/5xx, consent, preferences, quiet
hours, the rate limit, dead letters and replay, staff store alerts, and GDPR."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from uuid import UUID

import pytest

from api.settings import load_settings
from clienteling.tables import AuditEntry, Customer, MemberAccount, OutboxEvent, PushDelivery, PushSubscription
from push.setup import build_sender
from push.vapid import generate
from push.worker import PushWorker, WorkerConfig
from tests.factories import grant, make_customer, make_staff, make_store
from tests.integration.conftest import login
from tests.push_factories import WEBHOOK_SECRET, make_member, member_login, post_signed, purchase
from tests.push_receiver import PushReceiver

PURCHASES = "/api/v1/integrations/purchases"
SUBSCRIPTIONS = "/api/v1/members/me/push-subscriptions"
KEYS = generate()


@pytest.fixture(scope="module")
def receiver() -> Iterator[PushReceiver]:
    r = PushReceiver()
    yield r
    r.close()


@pytest.fixture
def settings(clean_db):  # noqa: ANN001, ANN201
    return load_settings({
        "CLIENTELING_DATABASE_URL": clean_db.url,
        "CLIENTELING_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "CLIENTELING_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CLIENTELING_VAPID_PRIVATE_KEY": KEYS.private_key,
        "CLIENTELING_VAPID_SUBJECT": "mailto:push-tests@example.test",
        "CLIENTELING_PUSH_ALLOW_HTTP_LOOPBACK": "1",
        "CLIENTELING_PUSH_TIMEOUT_SECONDS": "3",
    })


_WORKERS: list[PushWorker] = []


@pytest.fixture(autouse=True)
async def _close_workers() -> AsyncIterator[None]:
    """Each worker's sender keeps connections to the receiver open; close them after the test."""
    yield
    while _WORKERS:
        await _WORKERS.pop().aclose()


def _worker(app, **config) -> PushWorker:  # noqa: ANN001
    settings = app.state.settings
    defaults = {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "max_attempts": 3, "lease_seconds": 30.0}
    worker = PushWorker(build_sender(settings), WorkerConfig(**(defaults | config)), audit=app.state.services.audit, worker_id="test-worker")
    _WORKERS.append(worker)
    return worker


async def _run(worker: PushWorker, *, seconds: float = 3.0, until=None) -> None:  # noqa: ANN001
    """Rounds until ``until()`` holds (or nothing is left and time is up)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await worker.run_once()
        if until is not None and await until():
            return
        await asyncio.sleep(0.05)


async def _subscribed_member(client, receiver: PushReceiver, *, consents=("push_notifications",), language: str = "es", **prefs):  # noqa: ANN001, ANN003, ANN202
    store = await make_store()
    customer = await make_customer(store=store, loyalty_number=f"L-{store.hex[:8]}", language=language, consents=consents, email=None)
    member = await make_member(customer=customer, **prefs)
    headers = await member_login(client, member["email"])
    token, sub = receiver.subscribe()
    r = await client.post(SUBSCRIPTIONS, json=sub, headers=headers)
    assert r.status_code == 201, r.text
    return store, customer, headers, token


async def _statuses(customer: UUID) -> list[str]:
    return sorted(r["status"] for r in await PushDelivery.select(PushDelivery.status).where(PushDelivery.customer == customer).run())


async def test_a_purchase_reaches_the_member_as_a_decrypted_spanish_notification(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver)
    assert (await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="45.50"))).status_code == 201
    await _run(_worker(app), until=lambda: _done(customer))
    (message,) = receiver.wait_for(1, token, timeout=5)
    assert message.payload["type"] == "points_earned"
    assert message.payload["title"] == "¡Has ganado 45 puntos!"
    assert message.payload["body"] == "Tu saldo es ahora de 45 puntos."
    assert set(message.payload) == {"type", "title", "body", "url", "tag", "data"}
    assert message.headers["urgency"] == "normal" and message.headers["topic"] == "points_earned"
    assert int(message.headers["ttl"]) > 0 and message.headers["content-type"] == "application/octet-stream"
    assert message.vapid_key == KEYS.public_key and message.claims["aud"] == receiver.origin
    assert await _statuses(customer) == ["delivered"]


async def _done(customer: UUID) -> bool:
    return "pending" not in await _statuses(customer) and bool(await _statuses(customer))


async def test_a_410_removes_the_subscription(client, app, receiver) -> None:
    store, customer, headers, token = await _subscribed_member(client, receiver)
    receiver.answer(token, (410, {}))
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    await _run(_worker(app), until=lambda: _done(customer))
    assert await _statuses(customer) == ["gone"]
    assert await PushSubscription.count().where(PushSubscription.customer == customer).run() == 0
    assert (await client.get(SUBSCRIPTIONS, headers=headers)).json()["items"] == []


async def test_a_413_is_recorded_and_not_retried(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver)
    receiver.answer(token, (413, {}))
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    before = receiver.attempts.get(token, 0)
    await _run(_worker(app), seconds=1.0)
    assert await _statuses(customer) == ["too_large"]
    assert receiver.attempts[token] == before + 1
    assert receiver.messages(token) == []


async def test_a_429_is_retried_after_retry_after_and_delivered_once(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver)
    receiver.answer(token, (429, {"Retry-After": "1"}))
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    worker = _worker(app)
    await worker.run_once()
    row = await PushDelivery.select(PushDelivery.status, PushDelivery.attempts, PushDelivery.next_attempt_at).where(PushDelivery.customer == customer).first().run()
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["next_attempt_at"] >= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=0.5)
    await _run(worker, seconds=4, until=lambda: _done(customer))
    assert len(receiver.messages(token)) == 1
    assert await _statuses(customer) == ["delivered"]


async def test_server_errors_end_in_a_dead_letter_that_an_operator_replays(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver)
    receiver.answer(token, (500, {}), (503, {}), (500, {}))
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    await _run(_worker(app), seconds=4, until=lambda: _done(customer))
    assert await _statuses(customer) == ["dead"]
    hq = await login(client, (await make_staff(role="hq_admin"))["email"])
    stats = (await client.get("/api/v1/push/stats", headers=hq)).json()
    assert stats["byStatus"]["dead"] == 1 and stats["byEventType"]["points_earned"]["dead"] == 1
    (dead,) = (await client.get("/api/v1/push/dead-letters", headers=hq)).json()["items"]
    assert dead["attempts"] == 3 and dead["lastStatusCode"] == 500 and dead["eventType"] == "points_earned"
    seller = await login(client, (await make_staff(role="associate", stores=[store]))["email"])
    assert (await client.get("/api/v1/push/dead-letters", headers=seller)).status_code == 403
    assert (await client.post(f"/api/v1/push/dead-letters/{dead['id']}/replay", headers=hq)).status_code == 202
    await _run(_worker(app), until=lambda: _done(customer))
    assert await _statuses(customer) == ["delivered"] and len(receiver.messages(token)) == 1


async def test_without_push_consent_nothing_is_sent(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver, consents=())
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    await _run(_worker(app), until=lambda: _done(customer))
    assert await _statuses(customer) == ["suppressed"]
    assert receiver.attempts.get(token, 0) == 0


async def test_a_withdrawal_after_enqueue_stops_the_message(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver)
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    worker = _worker(app)
    await worker.fan_out()
    assert await _statuses(customer) == ["pending"]
    await grant(customer=customer, purpose="push_notifications", status="withdrawn", at=dt.datetime.now(dt.timezone.utc))
    await _run(worker, until=lambda: _done(customer))
    assert await _statuses(customer) == ["suppressed"]
    assert receiver.attempts.get(token, 0) == 0


async def test_an_event_type_the_member_turned_off_is_not_sent(client, app, receiver) -> None:
    store, customer, headers, token = await _subscribed_member(client, receiver)
    r = await client.patch("/api/v1/members/me/notification-preferences", json={"eventTypes": ["tier_changed"]}, headers=headers)
    assert r.status_code == 200 and r.json()["eventTypes"] == ["tier_changed"]
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    await _run(_worker(app), until=lambda: _done(customer))
    assert await _statuses(customer) == ["suppressed"] and receiver.attempts.get(token, 0) == 0


async def test_quiet_hours_defer_the_message_to_their_end(client, app, receiver) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    start, end = (now - dt.timedelta(hours=1)).strftime("%H:%M"), (now + dt.timedelta(hours=2)).strftime("%H:%M")
    store, customer, headers, token = await _subscribed_member(client, receiver)
    r = await client.patch("/api/v1/members/me/notification-preferences", json={"timeZone": "UTC", "quietHoursStart": start, "quietHoursEnd": end}, headers=headers)
    assert r.status_code == 200, r.text
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    await _run(_worker(app), seconds=0.5)
    row = await PushDelivery.select(PushDelivery.status, PushDelivery.attempts, PushDelivery.next_attempt_at).where(PushDelivery.customer == customer).first().run()
    assert row["status"] == "pending" and row["attempts"] == 0
    assert row["next_attempt_at"] > now + dt.timedelta(hours=1, minutes=58)
    assert receiver.attempts.get(token, 0) == 0


async def test_the_per_member_rate_limit_defers_the_surplus(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver)
    for _ in range(3):
        await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="10.00"))
    await _run(_worker(app, rate_limit_per_hour=2), seconds=1.0)
    assert await _statuses(customer) == ["delivered", "delivered", "pending"]
    assert len(receiver.messages(token)) == 2


async def test_subscriptions_are_validated(client, receiver) -> None:
    store = await make_store()
    customer = await make_customer(store=store, loyalty_number="L-VALID", email=None)
    headers = await member_login(client, (await make_member(customer=customer))["email"])
    _, good = receiver.subscribe()
    cases = [
        {**good, "endpoint": "http://push.example.com/x"},
        {**good, "keys": {**good["keys"], "p256dh": good["keys"]["p256dh"][:40]}},
        {**good, "keys": {**good["keys"], "auth": "c2hvcnQ"}},
        {**good, "keys": {**good["keys"], "auth": "not base64!"}},
    ]
    for body in cases:
        r = await client.post(SUBSCRIPTIONS, json=body, headers=headers)
        assert r.status_code == 400 and r.json()["code"] == "PUSH_SUBSCRIPTION_INVALID", body
    assert (await client.post(SUBSCRIPTIONS, json=good)).status_code == 401
    staff = await login(client, (await make_staff(role="associate", stores=[store]))["email"])
    assert (await client.post(SUBSCRIPTIONS, json=good, headers=staff)).status_code == 401  # a staff token is not a member token
    assert (await client.post(SUBSCRIPTIONS, json=good, headers=headers)).status_code == 201
    assert (await client.post(SUBSCRIPTIONS, json=good, headers=headers)).status_code == 200  # the same endpoint again
    (listed,) = (await client.get(SUBSCRIPTIONS, headers=headers)).json()["items"]
    assert listed["endpointOrigin"] == receiver.origin
    assert (await client.delete(f"{SUBSCRIPTIONS}/{listed['id']}", headers=headers)).status_code == 204
    assert (await client.delete(f"{SUBSCRIPTIONS}/{listed['id']}", headers=headers)).status_code == 404


async def test_member_sign_in_me_and_throttling(client) -> None:
    store = await make_store()
    customer = await make_customer(store=store, loyalty_number="L-ME-1", email=None)
    member = await make_member(customer=customer)
    headers = await member_login(client, member["email"])
    me = (await client.get("/api/v1/members/me", headers=headers)).json()
    assert me["customerId"] == str(customer) and me["loyaltyNumber"] == "L-ME-1"
    loyalty = (await client.get("/api/v1/members/me/loyalty", headers=headers)).json()
    assert loyalty["points"] == 0 and loyalty["tier"] == "member"
    for _ in range(5):
        assert (await client.post("/api/v1/members/login", json={"email": member["email"], "password": "wrong"})).status_code == 401
    r = await client.post("/api/v1/members/login", json={"email": member["email"], "password": "wrong"})
    assert r.status_code == 429 and r.json()["code"] == "TOO_MANY_REQUESTS"


async def test_staff_devices_receive_the_vip_check_in_alert(client, app, receiver) -> None:
    store = await make_store()
    seller = await make_staff(role="associate", stores=[store])
    headers = await login(client, seller["email"])
    token, sub = receiver.subscribe()
    assert (await client.post("/api/v1/me/push-subscriptions", json=sub, headers=headers)).status_code == 201
    customer = await make_customer(store=store, consents=("in_store_recognition",), email=None)
    await Customer.update({Customer.vip: True}).where(Customer.id == customer).run()
    body = {"externalId": f"ci-{customer.hex[:10]}", "customerId": str(customer), "storeId": str(store),
            "occurredAt": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)).isoformat()}
    assert (await post_signed(client, "/api/v1/integrations/check-ins", body)).status_code == 201
    await _run(_worker(app), until=lambda: _staff_done())
    (message,) = receiver.wait_for(1, token, timeout=5)
    assert message.payload["type"] == "vip_check_in" and message.payload["data"]["customerId"] == str(customer)
    assert message.headers["urgency"] == "high"


async def _staff_done() -> bool:
    rows = await PushDelivery.select(PushDelivery.status).where(PushDelivery.kind == "vip_check_in").run()
    return bool(rows) and all(r["status"] != "pending" for r in rows)


async def test_erasure_removes_devices_and_account_and_cancels_queued_notifications(client, app, receiver) -> None:
    store, customer, _, token = await _subscribed_member(client, receiver)
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    await _worker(app).fan_out()
    compliance = await login(client, (await make_staff(role="compliance_officer"))["email"])
    export = (await client.get(f"/api/v1/customers/{customer}/export", headers=compliance)).json()["sections"]
    assert export["memberAccount"]["eventTypes"] and len(export["pushSubscriptions"]) == 1
    assert [e["kind"] for e in export["loyaltyLedger"]["entries"]] == ["earn"]
    assert [n["status"] for n in export["notificationHistory"]] == ["pending"]
    r = await client.post(f"/api/v1/customers/{customer}/erasure", json={"requestReference": "DSR-PUSH-1"}, headers=compliance)
    assert r.status_code in (200, 201), r.text
    assert await PushSubscription.count().where(PushSubscription.customer == customer).run() == 0
    assert await MemberAccount.count().where(MemberAccount.customer == customer).run() == 0
    assert await _statuses(customer) == ["cancelled"]
    await _run(_worker(app), seconds=0.5)
    assert receiver.attempts.get(token, 0) == 0
    assert await OutboxEvent.count().where(OutboxEvent.dispatched_at.is_null()).run() == 0


async def test_a_worker_reuses_its_connections_and_its_vapid_token(client, app, receiver) -> None:
    members = [await _subscribed_member(client, receiver) for _ in range(3)]
    worker = _worker(app)
    before = set(receiver.connections)
    for total in ("12.00", "13.00"):
        for store, customer, _, _ in members:
            await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total=total))
        await _run(worker, until=lambda: _all_done([m[1] for m in members]))
    messages = [m for _, _, _, token in members for m in receiver.wait_for(2, token, timeout=5)]
    assert len(messages) == 6
    assert len(receiver.connections - before) <= 3  # one keep-alive connection per lane, not one per message
    assert len({m.headers["authorization"] for m in messages}) == 1  # one JWT for the receiver's origin


async def _all_done(customers: list[UUID]) -> bool:
    return all([await _done(c) for c in customers])


async def test_a_running_worker_delivers_a_backlog_of_many_rounds_once_each_and_audits_them(client, app, receiver) -> None:
    members = [await _subscribed_member(client, receiver) for _ in range(7)]
    for store, customer, _, _ in members:
        await post_signed(client, PURCHASES, purchase(customer=customer, store=store))
    worker = _worker(app, batch_size=3, poll_interval=0.05)  # three rounds and more: claimed ahead, recorded behind
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while not await _all_done([m[1] for m in members]) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=15)
    for _, customer, _, token in members:
        assert await _statuses(customer) == ["delivered"]
        assert len(receiver.wait_for(1, token, timeout=5)) == 1
    audited = await AuditEntry.select(AuditEntry.customer_ids).where(AuditEntry.action == "push").output(load_json=True).run()
    assert sorted(c for row in audited for c in row["customer_ids"]) == sorted(str(m[1]) for m in members)
    assert await PushDelivery.count().where(PushDelivery.claim_token.is_not_null()).run() == 0  # every lease released
