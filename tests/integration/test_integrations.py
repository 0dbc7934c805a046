"""Integration webhooks (SPEC §5): signatures, idempotency, purchases, returns and check-ins,
on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from api.app import create_app
from api.settings import load_settings
from clienteling.tables import AuditEntry, CheckIn, Customer, IntegrationEvent, Purchase, PurchaseLine, PurchaseReturn, Staff, Task
from domain.events import store_channel
from domain.integrations import sign
from tests.factories import FAST_PASSWORDS, grant, make_customer, make_staff, make_store

SECRET = "webhook-test-secret-" + "s" * 24
PURCHASES = "/api/v1/integrations/purchases"
RETURNS = "/api/v1/integrations/returns"
CHECK_INS = "/api/v1/integrations/check-ins"


@pytest.fixture
def settings(clean_db):  # noqa: ANN001, ANN201 - overrides conftest: integrations enabled
    return load_settings(
        {
            "CLIENTELING_DATABASE_URL": clean_db.url,
            "CLIENTELING_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "CLIENTELING_WEBHOOK_SECRET": SECRET,
        }
    )


# --- factories -----------------------------------------------------------------------------


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signed(body: bytes, *, secret: str = SECRET) -> dict[str, str]:
    return {"X-Clienteling-Signature": sign(secret, body), "Content-Type": "application/json"}


async def post_signed(client: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> httpx.Response:
    body = _encode(payload)
    return await client.post(path, content=body, headers=signed(body))


def purchase(*, customer: UUID | None = None, loyalty_number: str | None = None, store: UUID | None, external_id: str | None = None, channel: str = "store", occurred_at: str = "2026-03-10T17:45:00+01:00", currency: str = "EUR", lines: list[dict[str, Any]] | None = None, total: str | None = None) -> dict[str, Any]:
    lines = lines if lines is not None else [
        {"sku": "SKU-DRESS-38", "name": "Vestido lino", "quantity": 1, "unitPrice": "89.90"},
        {"sku": "SKU-SCARF", "name": "Pañuelo seda", "quantity": 2, "unitPrice": "25.00"},
    ]
    payload: dict[str, Any] = {"externalId": external_id or f"pos-{uuid4().hex[:12]}"}
    if customer is not None:
        payload["customerId"] = str(customer)
    if loyalty_number is not None:
        payload["loyaltyNumber"] = loyalty_number
    payload |= {
        "storeId": str(store) if store else None, "channel": channel, "occurredAt": occurred_at, "currency": currency,
        "total": total if total is not None else str(sum(Decimal(li["unitPrice"]) * li["quantity"] for li in lines)),
        "lines": lines,
    }
    return payload


def check_in(*, customer: UUID, store: UUID, external_id: str | None = None, occurred_at: str | None = None) -> dict[str, Any]:
    return {
        "externalId": external_id or f"door-{uuid4().hex[:12]}", "customerId": str(customer), "storeId": str(store),
        "occurredAt": occurred_at or dt.datetime.now(dt.timezone.utc).isoformat(),
    }


async def _shop(*, vip: bool = False, consents: tuple[str, ...] = ("personalization",)) -> tuple[UUID, UUID, dict[str, Any], UUID]:
    """A Madrid and a Barcelona store, a Madrid associate, and their customer."""
    madrid = await make_store(code="MAD")
    barcelona = await make_store(code="BCN", city="Barcelona")
    associate = await make_staff(role="associate", stores=[madrid])
    customer = await make_customer(store=madrid, primary=associate["id"], loyalty_number="LOY-0001", consents=consents)
    if vip:
        await Customer.update({Customer.vip: True}).where(Customer.id == customer).run()
    return madrid, barcelona, associate, customer


async def _counts() -> dict[str, int]:
    tables = {"purchase": Purchase, "line": PurchaseLine, "return": PurchaseReturn, "check_in": CheckIn, "event": IntegrationEvent, "task": Task, "audit": AuditEntry}
    return {name: await table.count().run() for name, table in tables.items()}


async def _customer(customer_id: UUID) -> dict[str, Any]:
    row = await Customer.select(Customer.lifetime_value, Customer.last_purchase_at, Customer.version).where(Customer.id == customer_id).first().run()
    assert row is not None
    return row


# --- purchases -----------------------------------------------------------------------------


async def test_purchase_is_stored_updates_the_customer_and_tasks_the_primary_associate(client) -> None:
    madrid, _, associate, customer = await _shop()
    r = await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["customerId"] == str(customer) and UUID(body["purchaseId"])
    row = await Purchase.select().where(Purchase.id == UUID(body["purchaseId"])).first().run()
    assert row["store"] == madrid and row["channel"] == "store" and row["currency"] == "EUR" and row["total"] == Decimal("139.90")
    assert row["occurred_at"] == dt.datetime(2026, 3, 10, 16, 45, tzinfo=dt.timezone.utc)
    lines = await PurchaseLine.select().where(PurchaseLine.purchase == row["id"]).run()
    assert sorted((li["sku"], li["quantity"], li["unit_price"]) for li in lines) == [("SKU-DRESS-38", 1, Decimal("89.90")), ("SKU-SCARF", 2, Decimal("25.00"))]
    after = await _customer(customer)
    assert after["lifetime_value"] == Decimal("139.90")
    assert after["last_purchase_at"] == dt.datetime(2026, 3, 10, 16, 45, tzinfo=dt.timezone.utc)
    task = await Task.select().where(Task.customer == customer).first().run()
    assert task["assignee"] == associate["id"] and task["store"] == madrid and task["kind"] == "post_purchase"
    assert task["source_ref"] == f"purchase:{body['purchaseId']}"
    assert task["due_at"] == dt.datetime(2026, 3, 13, 16, 45, tzinfo=dt.timezone.utc)


async def test_replayed_purchase_answers_the_original_result_and_changes_nothing(client) -> None:
    madrid, _, _, customer = await _shop()
    payload = purchase(customer=customer, store=madrid, external_id="pos-MAD-0001")
    first = await post_signed(client, PURCHASES, payload)
    before, counts = await _customer(customer), await _counts()
    again = await post_signed(client, PURCHASES, payload)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json()
    assert await _counts() == counts and counts["purchase"] == 1 and counts["task"] == 1
    assert await _customer(customer) == before


async def test_retry_with_reordered_keys_is_the_same_delivery(client) -> None:
    madrid, _, _, customer = await _shop()
    payload = purchase(customer=customer, store=madrid)
    first = await post_signed(client, PURCHASES, payload)
    reordered = dict(reversed(list(payload.items())))
    body = json.dumps(reordered, indent=2).encode()
    again = await client.post(PURCHASES, content=body, headers=signed(body))
    assert again.status_code == 201 and again.json() == first.json()
    assert await Purchase.count().run() == 1


async def test_same_external_id_with_another_payload_is_a_conflict(client) -> None:
    madrid, _, _, customer = await _shop()
    await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid, external_id="pos-1"))
    counts = await _counts()
    changed = purchase(customer=customer, store=madrid, external_id="pos-1", lines=[{"sku": "X", "name": "Other", "quantity": 1, "unitPrice": "5.00"}])
    r = await post_signed(client, PURCHASES, changed)
    assert r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_CONFLICT"
    assert await _counts() == counts


async def test_concurrent_duplicate_deliveries_apply_once(client) -> None:
    madrid, _, _, customer = await _shop()
    payload = purchase(customer=customer, store=madrid, external_id="pos-race")
    responses = await asyncio.gather(*[post_signed(client, PURCHASES, payload) for _ in range(4)])
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    counts = await _counts()
    assert counts["purchase"] == 1 and counts["task"] == 1 and counts["event"] == 1 and counts["audit"] == 1
    assert (await _customer(customer))["lifetime_value"] == Decimal("139.90")


async def test_different_purchases_of_one_customer_at_once_all_count(client) -> None:
    madrid, _, _, customer = await _shop()
    responses = await asyncio.gather(*[post_signed(client, PURCHASES, purchase(customer=customer, store=madrid)) for _ in range(3)])
    assert [r.status_code for r in responses] == [201] * 3
    assert (await _customer(customer))["lifetime_value"] == Decimal("419.70")


async def test_purchase_by_loyalty_number(client) -> None:
    _, _, _, customer = await _shop()
    r = await post_signed(client, PURCHASES, purchase(loyalty_number="LOY-0001", store=None, channel="online"))
    assert r.status_code == 201, r.text
    assert r.json()["customerId"] == str(customer)
    assert (await Purchase.select(Purchase.store).first().run())["store"] is None


async def test_last_purchase_at_never_moves_back(client) -> None:
    madrid, _, _, customer = await _shop()
    await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid, occurred_at="2026-05-01T10:00:00Z"))
    await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid, occurred_at="2026-04-01T10:00:00Z"))
    assert (await _customer(customer))["last_purchase_at"] == dt.datetime(2026, 5, 1, 10, tzinfo=dt.timezone.utc)


async def test_lifetime_value_is_kept_in_eur(client) -> None:
    madrid, _, _, customer = await _shop()
    lines = [{"sku": "SKU-COAT", "name": "Palton", "quantity": 1, "unitPrice": "500.00"}]
    r = await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid, currency="RON", lines=lines))
    assert r.status_code == 201
    assert (await Purchase.select(Purchase.total, Purchase.currency).first().run()) == {"total": Decimal("500.00"), "currency": "RON"}
    assert (await _customer(customer))["lifetime_value"] == Decimal("100.00")


async def test_no_task_without_primary_associate_or_for_a_restricted_customer(client) -> None:
    madrid, _, _, restricted = await _shop()
    await Customer.update({Customer.restricted_at: dt.datetime.now(dt.timezone.utc)}).where(Customer.id == restricted).run()
    unassigned = await make_customer(store=madrid)
    for customer in (restricted, unassigned):
        r = await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid))
        assert r.status_code == 201
    assert await Purchase.count().run() == 2
    assert await Task.count().run() == 0


async def test_no_task_for_an_inactive_primary_associate(client) -> None:
    madrid, _, associate, customer = await _shop()
    await Staff.update({Staff.active: False}).where(Staff.id == associate["id"]).run()
    assert (await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid))).status_code == 201
    assert await Task.count().run() == 0


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("malformed_json", 400, "VALIDATION_FAILED"),
        ("empty_body", 400, "VALIDATION_FAILED"),
        ("unknown_field", 400, "VALIDATION_FAILED"),
        ("three_decimals", 400, "VALIDATION_FAILED"),
        ("negative_amount", 400, "VALIDATION_FAILED"),
        ("number_amount", 400, "VALIDATION_FAILED"),
        ("zero_quantity", 400, "VALIDATION_FAILED"),
        ("no_lines", 400, "VALIDATION_FAILED"),
        ("lowercase_currency", 400, "VALIDATION_FAILED"),
        ("naive_time", 400, "VALIDATION_FAILED"),
        ("future_time", 400, "VALIDATION_FAILED"),
        ("both_ids", 400, "VALIDATION_FAILED"),
        ("no_customer", 400, "VALIDATION_FAILED"),
        ("store_channel_without_store", 400, "VALIDATION_FAILED"),
        ("total_mismatch", 422, "TOTAL_MISMATCH"),
        ("unsupported_currency", 422, "UNSUPPORTED_CURRENCY"),
        ("unknown_customer", 422, "UNKNOWN_CUSTOMER"),
        ("unknown_loyalty_number", 422, "UNKNOWN_CUSTOMER"),
        ("unknown_store", 422, "UNKNOWN_STORE"),
    ],
)
async def test_invalid_purchase_is_refused_with_a_code_and_stores_nothing(client, case: str, status: int, code: str) -> None:
    madrid, _, _, customer = await _shop()
    p = purchase(customer=customer, store=madrid)
    line = p["lines"][0]
    edits = {
        "unknown_field": lambda: p.update(discount="1.00"),
        "three_decimals": lambda: line.update(unitPrice="89.901"),
        "negative_amount": lambda: p.update(total="-139.90"),
        "number_amount": lambda: p.update(total=139.9),
        "zero_quantity": lambda: line.update(quantity=0),
        "no_lines": lambda: p.update(lines=[], total="0"),
        "lowercase_currency": lambda: p.update(currency="eur"),
        "naive_time": lambda: p.update(occurredAt="2026-03-10T17:45:00"),
        "future_time": lambda: p.update(occurredAt=(dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).isoformat()),
        "both_ids": lambda: p.update(loyaltyNumber="LOY-0001"),
        "no_customer": lambda: p.pop("customerId"),
        "store_channel_without_store": lambda: p.update(storeId=None),
        "total_mismatch": lambda: p.update(total="100.00"),
        "unsupported_currency": lambda: p.update(currency="USD"),
        "unknown_customer": lambda: p.update(customerId=str(uuid4())),
        "unknown_loyalty_number": lambda: (p.pop("customerId"), p.update(loyaltyNumber="LOY-9999")),
        "unknown_store": lambda: p.update(storeId=str(uuid4())),
    }
    if case in edits:
        edits[case]()
    raw_bodies = {"malformed_json": b'{"externalId": "pos-1", ', "empty_body": b""}
    body = raw_bodies[case] if case in raw_bodies else _encode(p)
    counts = await _counts()
    r = await client.post(PURCHASES, content=body, headers=signed(body))
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert await _counts() == counts


async def test_erased_customer_is_unknown(client) -> None:
    madrid, _, _, customer = await _shop()
    now = dt.datetime.now(dt.timezone.utc)
    await Customer.update({Customer.erased_at: now, Customer.deleted_at: now}).where(Customer.id == customer).run()
    r = await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid))
    assert r.status_code == 422 and r.json()["code"] == "UNKNOWN_CUSTOMER"
    assert await Purchase.count().run() == 0


# --- signatures ----------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "", "sha256=", "sha256=" + "0" * 64, "not-a-signature", "other-secret"])
async def test_missing_or_wrong_signature_is_401_and_stores_nothing(client, signature: str | None) -> None:
    madrid, _, _, customer = await _shop()
    body = _encode(purchase(customer=customer, store=madrid))
    headers = {"Content-Type": "application/json"}
    if signature == "other-secret":
        headers |= signed(body, secret="another-secret-" + "o" * 24)
    elif signature is not None:
        headers["X-Clienteling-Signature"] = signature
    counts = await _counts()
    for path in (PURCHASES, RETURNS, CHECK_INS):
        r = await client.post(path, content=body, headers=headers)
        assert r.status_code == 401 and r.json()["code"] == "SIGNATURE_INVALID", path
    assert await _counts() == counts


async def test_tampered_body_with_the_original_signature_is_401(client) -> None:
    madrid, _, _, customer = await _shop()
    body = _encode(purchase(customer=customer, store=madrid))
    tampered = body.replace(b'"quantity":2', b'"quantity":3')
    assert tampered != body
    r = await client.post(PURCHASES, content=tampered, headers=signed(body))
    assert r.status_code == 401 and r.json()["code"] == "SIGNATURE_INVALID"
    assert await Purchase.count().run() == 0


async def test_signature_hex_is_case_insensitive(client) -> None:
    madrid, _, _, customer = await _shop()
    body = _encode(purchase(customer=customer, store=madrid))
    header = "SHA256=" + sign(SECRET, body).split("=", 1)[1].upper()
    r = await client.post(PURCHASES, content=body, headers={"X-Clienteling-Signature": header})
    assert r.status_code == 201, r.text


async def test_integrations_are_disabled_without_a_secret(clean_db) -> None:
    settings = load_settings({"CLIENTELING_DATABASE_URL": clean_db.url, "CLIENTELING_SECRET_KEY": "test-secret-key-" + "x" * 32})
    app = create_app(settings, passwords=FAST_PASSWORDS, manage_database=False)
    madrid, _, _, customer = await _shop()
    body = _encode(purchase(customer=customer, store=madrid))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        for path in (PURCHASES, RETURNS, CHECK_INS):
            r = await c.post(path, content=body, headers=signed(body))
            assert r.status_code == 503 and r.json()["code"] == "INTEGRATIONS_DISABLED", path
    assert await Purchase.count().run() == 0


async def test_integration_writes_are_audited_by_name_only(client) -> None:
    madrid, _, _, customer = await _shop()
    r = await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid, external_id="pos-audit"))
    entries = await AuditEntry.select().output(load_json=True).run()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["surface"] == "integration" and entry["action"] == "create" and entry["actor_role"] == "system"
    assert entry["operation"] == "POST /api/v1/integrations/purchases"
    assert entry["customer_ids"] == [str(customer)] and entry["fields"] == ["purchase"]
    assert "pos-audit" not in json.dumps(entry, default=str) and r.json()["purchaseId"] not in json.dumps(entry, default=str)


# --- returns -------------------------------------------------------------------------------


def a_return(*, customer: UUID, store: UUID | None, purchase_external_id: str | None = None, total: str = "25.00", currency: str = "EUR") -> dict[str, Any]:
    payload: dict[str, Any] = {
        "externalId": f"ret-{uuid4().hex[:12]}", "customerId": str(customer), "storeId": str(store) if store else None,
        "occurredAt": "2026-03-12T11:00:00+01:00", "currency": currency, "total": total,
        "lines": [{"sku": "SKU-SCARF", "name": "Pañuelo seda", "quantity": 1, "unitPrice": total}],
    }
    if purchase_external_id:
        payload["purchaseExternalId"] = purchase_external_id
    return payload


async def test_return_is_stored_and_lowers_lifetime_value(client) -> None:
    madrid, _, _, customer = await _shop()
    sale = await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid, external_id="pos-77"))
    r = await post_signed(client, RETURNS, a_return(customer=customer, store=madrid, purchase_external_id="pos-77"))
    assert r.status_code == 201, r.text
    row = await PurchaseReturn.select().where(PurchaseReturn.id == UUID(r.json()["returnId"])).output(load_json=True).first().run()
    assert row["purchase"] == UUID(sale.json()["purchaseId"]) and row["total"] == Decimal("25.00")
    assert row["lines"] == [{"sku": "SKU-SCARF", "name": "Pañuelo seda", "quantity": 1, "unitPrice": "25.00"}]
    assert (await _customer(customer))["lifetime_value"] == Decimal("114.90")
    again = await post_signed(client, RETURNS, a_return(customer=customer, store=madrid, purchase_external_id="pos-77") | {"externalId": row["external_id"]})
    assert again.status_code == 201 and again.json() == r.json()
    assert (await _customer(customer))["lifetime_value"] == Decimal("114.90")


async def test_lifetime_value_never_goes_below_zero(client) -> None:
    _, _, _, customer = await _shop()
    r = await post_signed(client, RETURNS, a_return(customer=customer, store=None, total="40.00"))
    assert r.status_code == 201, r.text
    assert (await _customer(customer))["lifetime_value"] == Decimal("0")


async def test_return_of_another_customers_purchase_is_refused(client) -> None:
    madrid, _, _, customer = await _shop()
    other = await make_customer(store=madrid, first_name="Lucía")
    await post_signed(client, PURCHASES, purchase(customer=other, store=madrid, external_id="pos-other"))
    for ref, code in (("pos-other", "UNKNOWN_PURCHASE"), ("pos-missing", "UNKNOWN_PURCHASE")):
        r = await post_signed(client, RETURNS, a_return(customer=customer, store=madrid, purchase_external_id=ref))
        assert r.status_code == 422 and r.json()["code"] == code
    await post_signed(client, PURCHASES, purchase(customer=customer, store=madrid, external_id="pos-eur"))
    r = await post_signed(client, RETURNS, a_return(customer=customer, store=madrid, purchase_external_id="pos-eur", currency="RON"))
    assert r.status_code == 422 and r.json()["code"] == "CURRENCY_MISMATCH"
    assert await PurchaseReturn.count().run() == 0


# --- check-ins -----------------------------------------------------------------------------


async def _next_event(subscription) -> Any:  # noqa: ANN001
    return await asyncio.wait_for(anext(subscription), timeout=1)


async def test_check_in_of_a_consenting_vip_alerts_that_store_only(client, app) -> None:
    madrid, barcelona, _, customer = await _shop(vip=True, consents=("in_store_recognition",))
    bus = app.state.services.events
    here, there = bus.subscribe([store_channel(madrid)]), bus.subscribe([store_channel(barcelona)])
    waiting_here = asyncio.ensure_future(_next_event(here))
    waiting_there = asyncio.ensure_future(anext(there))
    await asyncio.sleep(0)  # both subscriptions are registered
    r = await post_signed(client, CHECK_INS, check_in(customer=customer, store=madrid))
    assert r.status_code == 201, r.text
    assert r.json()["alerted"] is True
    event = await waiting_here
    assert event.kind == "vip_check_in" and event.customer_id == customer and event.store_id == madrid
    assert event.ref_id == UUID(r.json()["checkInId"])
    await asyncio.sleep(0.05)
    assert not waiting_there.done()
    waiting_there.cancel()
    await here.aclose()
    assert await CheckIn.count().run() == 1


async def test_replayed_check_in_does_not_alert_again(client, app) -> None:
    madrid, _, _, customer = await _shop(vip=True, consents=("in_store_recognition",))
    payload = check_in(customer=customer, store=madrid)
    first = await post_signed(client, CHECK_INS, payload)
    sub = app.state.services.events.subscribe([store_channel(madrid)])
    waiting = asyncio.ensure_future(anext(sub))
    await asyncio.sleep(0)
    again = await post_signed(client, CHECK_INS, payload)
    assert again.status_code == 201 and again.json() == first.json() and first.json()["alerted"] is True
    await asyncio.sleep(0.05)
    assert not waiting.done()
    waiting.cancel()
    assert await CheckIn.count().run() == 1


@pytest.mark.parametrize("situation", ["not_vip", "no_consent", "withdrawn", "expired", "restricted"])
async def test_check_in_without_a_standing_consent_or_vip_status_raises_no_alert(client, app, situation: str) -> None:
    madrid, _, _, customer = await _shop(vip=situation != "not_vip", consents=())
    now = dt.datetime.now(dt.timezone.utc)
    if situation in {"not_vip", "withdrawn", "restricted"}:
        await grant(customer=customer, purpose="in_store_recognition", at=now - dt.timedelta(days=10))
    if situation == "withdrawn":
        await grant(customer=customer, purpose="in_store_recognition", status="withdrawn", at=now - dt.timedelta(days=1))
    if situation == "expired":
        await grant(customer=customer, purpose="in_store_recognition", at=now - dt.timedelta(days=10), expires_at=now - dt.timedelta(days=1))
    if situation == "restricted":
        await Customer.update({Customer.restricted_at: now}).where(Customer.id == customer).run()
    sub = app.state.services.events.subscribe([store_channel(madrid)])
    waiting = asyncio.ensure_future(anext(sub))
    await asyncio.sleep(0)
    r = await post_signed(client, CHECK_INS, check_in(customer=customer, store=madrid))
    assert r.status_code == 201 and r.json()["alerted"] is False
    await asyncio.sleep(0.05)
    assert not waiting.done()
    waiting.cancel()
    assert await CheckIn.count().run() == 1


async def test_check_in_needs_a_known_store(client) -> None:
    _, _, _, customer = await _shop(vip=True, consents=("in_store_recognition",))
    r = await post_signed(client, CHECK_INS, check_in(customer=customer, store=uuid4()))
    assert r.status_code == 422 and r.json()["code"] == "UNKNOWN_STORE"
    payload = check_in(customer=customer, store=uuid4())
    del payload["storeId"]
    r = await post_signed(client, CHECK_INS, payload)
    assert r.status_code == 400 and r.json()["code"] == "VALIDATION_FAILED"
    assert await _counts() == {"purchase": 0, "line": 0, "return": 0, "check_in": 0, "event": 0, "task": 0, "audit": 0}


async def test_the_post_purchase_task_alerts_its_assignee_on_the_store_channel(client, app) -> None:
    madrid, _, associate, customer = await _shop()
    sub = app.state.services.events.subscribe([store_channel(madrid)])
    waiting = asyncio.ensure_future(anext(sub))
    await asyncio.sleep(0)
    r = await post_signed(client, "/api/v1/integrations/purchases", purchase(customer=customer, store=madrid))
    assert r.status_code == 201, r.text
    event = await asyncio.wait_for(waiting, 5)
    assert event.kind == "task_assigned" and event.staff_id == associate["id"] and event.customer_id == customer
    await sub.aclose()


async def test_an_address_sending_bad_signatures_is_throttled_and_others_are_not(client, app) -> None:  # noqa: ANN001
    from clienteling.services.integrations import BAD_SIGNATURE_LIMIT

    madrid, _, _, customer = await _shop()
    body = _encode(purchase(customer=customer, store=madrid))
    bad = {"Content-Type": "application/json", "X-Clienteling-Signature": "sha256=" + "0" * 64}
    for _ in range(BAD_SIGNATURE_LIMIT):
        r = await client.post(PURCHASES, content=body, headers=bad)
        assert r.status_code == 401
    # Blocked now, even with a good signature; the block says when to come back.
    r = await client.post(PURCHASES, content=body, headers=signed(body))
    assert r.status_code == 429 and r.json()["code"] == "TOO_MANY_REQUESTS" and int(r.headers["Retry-After"]) > 0
    assert await Purchase.count().run() == 0
    # Another address is unaffected.
    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        r = await other.post(PURCHASES, content=body, headers=signed(body))
    assert r.status_code == 201, r.text
