"""The loyalty ledger on both databases: points earned in the purchase webhook's own
transaction with its outbox event, tier multipliers, return reversals, redemptions,
expiry, tier changes, rewards and rebuilding the derived balance."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import pytest

from api.settings import load_settings
from clienteling.services.loyalty import LoyaltyService
from clienteling.tables import Customer, LoyaltyEntry, LoyaltyReward, OutboxEvent, PushSubscription
from domain.loyalty_ledger import LoyaltyRules
from tests.factories import make_customer, make_store
from tests.push_factories import WEBHOOK_SECRET, a_return, loyalty_event, post_signed, purchase

PURCHASES = "/api/v1/integrations/purchases"
RETURNS = "/api/v1/integrations/returns"
LOYALTY = "/api/v1/integrations/loyalty-events"


@pytest.fixture
def settings(clean_db):  # noqa: ANN001, ANN201
    return load_settings({
        "CLIENTELING_DATABASE_URL": clean_db.url,
        "CLIENTELING_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "CLIENTELING_WEBHOOK_SECRET": WEBHOOK_SECRET,
    })


async def _points(customer: UUID) -> tuple[int, str]:
    row = await Customer.select(Customer.loyalty_points, Customer.loyalty_tier).where(Customer.id == customer).first().run()
    return row["loyalty_points"], row["loyalty_tier"]


async def _events(customer: UUID, kind: str | None = None) -> list[dict]:
    rows = await OutboxEvent.select().where(OutboxEvent.customer == customer).output(load_json=True).run()
    return [r for r in rows if kind is None or r["kind"] == kind]


async def _member(*, points: int = 0, tier: str = "member", number: str = "L-0001") -> tuple[UUID, UUID]:
    store = await make_store()
    customer = await make_customer(store=store, loyalty_number=number, consents=("push_notifications",))
    if points:
        await Customer.update({Customer.loyalty_points: points, Customer.loyalty_tier: tier}).where(Customer.id == customer).run()
    return store, customer


async def test_a_purchase_earns_points_and_writes_a_points_earned_event_with_it(client) -> None:
    store, customer = await _member()
    r = await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="139.90"))
    assert r.status_code == 201, r.text
    entries = await LoyaltyEntry.select().where(LoyaltyEntry.customer == customer).run()
    assert [(e["kind"], e["points"], e["remaining"]) for e in entries] == [("earn", 139, 139)]
    assert await _points(customer) == (139, "member")
    events = await _events(customer, "points_earned")
    assert len(events) == 1 and events[0]["data"]["points"] == 139 and events[0]["data"]["balance"] == 139


async def test_a_refused_purchase_leaves_neither_points_nor_events(client) -> None:
    _, customer = await _member()
    from uuid import uuid4

    r = await post_signed(client, PURCHASES, purchase(customer=customer, store=uuid4(), total="50.00"))
    assert r.status_code == 422 and r.json()["code"] == "UNKNOWN_STORE"
    assert await LoyaltyEntry.count().where(LoyaltyEntry.customer == customer).run() == 0
    assert await _events(customer) == []


async def test_the_tier_multiplier_applies_and_an_existing_balance_opens_the_ledger(client) -> None:
    store, customer = await _member(points=2500, tier="gold")
    r = await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="100.00"))
    assert r.status_code == 201
    kinds = sorted((e["kind"], e["points"]) for e in await LoyaltyEntry.select().where(LoyaltyEntry.customer == customer).run())
    assert kinds == [("earn", 150), ("opening", 2500)]
    assert await _points(customer) == (2650, "gold")


async def test_a_customer_without_a_loyalty_card_earns_nothing(client) -> None:
    store = await make_store()
    customer = await make_customer(store=store, loyalty_number=None)
    assert (await post_signed(client, PURCHASES, purchase(customer=customer, store=store))).status_code == 201
    assert await LoyaltyEntry.count().where(LoyaltyEntry.customer == customer).run() == 0


async def test_a_return_takes_back_the_refunded_share_of_the_points(client) -> None:
    store, customer = await _member()
    sale = purchase(customer=customer, store=store, total="100.00")
    assert (await post_signed(client, PURCHASES, sale)).status_code == 201
    r = await post_signed(client, RETURNS, a_return(customer=customer, purchase_external_id=sale["externalId"], total="40.00"))
    assert r.status_code == 201, r.text
    assert await _points(customer) == (60, "member")
    # A second return of the rest cannot take back more than the purchase earned.
    await post_signed(client, RETURNS, a_return(customer=customer, purchase_external_id=sale["externalId"], total="60.00"))
    assert await _points(customer) == (0, "member")


async def test_redemptions_spend_points_and_cannot_exceed_the_balance(client) -> None:
    store, customer = await _member()
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="300.00"))
    too_much = await post_signed(client, LOYALTY, loyalty_event(customer=customer, kind="redeem", points=301))
    assert too_much.status_code == 422 and too_much.json()["code"] == "INSUFFICIENT_POINTS"
    ok = await post_signed(client, LOYALTY, loyalty_event(customer=customer, kind="redeem", points=200))
    assert ok.status_code == 201 and ok.json()["balance"] == 100
    adjust = await post_signed(client, LOYALTY, loyalty_event(customer=customer, kind="adjust", points=-30))
    assert adjust.status_code == 201 and adjust.json()["balance"] == 70
    assert await _points(customer) == (70, "member")
    lot = await LoyaltyEntry.select(LoyaltyEntry.remaining).where((LoyaltyEntry.customer == customer) & (LoyaltyEntry.kind == "earn")).first().run()
    assert lot["remaining"] == 70


async def test_reaching_a_tier_and_a_reward_threshold_announces_each_once(client) -> None:
    store, customer = await _member()
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="600.00"))
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="250.00"))
    assert await _points(customer) == (850, "silver")
    assert [e["data"] for e in await _events(customer, "tier_changed")] == [{"tier": "silver", "previousTier": "member"}]
    assert [e["data"]["reward"] for e in await _events(customer, "reward_unlocked")] == ["voucher_5"]
    assert await LoyaltyReward.count().where(LoyaltyReward.customer == customer).run() == 1


async def test_points_past_their_lifetime_expire_once_and_the_balance_follows(client, app) -> None:
    store, customer = await _member()
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=800)
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="120.00", occurred_at=old))
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="30.00"))
    assert await _points(customer) == (150, "member")
    loyalty: LoyaltyService = app.state.services.loyalty
    report = await loyalty.run_jobs()
    assert report.expired_customers == 1
    assert await _points(customer) == (30, "member")
    again = await loyalty.run_jobs()
    assert again.expired_customers == 0
    expired = await LoyaltyEntry.select(LoyaltyEntry.points).where((LoyaltyEntry.customer == customer) & (LoyaltyEntry.kind == "expire")).run()
    assert [e["points"] for e in expired] == [-120]


async def test_points_about_to_expire_are_announced_once_to_subscribed_members(client, app) -> None:
    store, customer = await _member()
    soon = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=725)  # lifetime 730 days: 5 left
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="80.00", occurred_at=soon))
    loyalty: LoyaltyService = app.state.services.loyalty
    assert (await loyalty.run_jobs()).expiring_notices == 0  # nobody to tell without a subscription
    await PushSubscription.insert(PushSubscription(customer=customer, endpoint="https://push.example/x", endpoint_hash="h" * 64, p256dh="k", auth="a")).run()
    assert (await loyalty.run_jobs()).expiring_notices == 1
    assert (await loyalty.run_jobs()).expiring_notices == 0
    (event,) = await _events(customer, "points_expiring")
    assert event["data"]["points"] == 80


async def test_the_balance_is_rebuilt_from_the_ledger_alone(client, app) -> None:
    store, customer = await _member()
    await post_signed(client, PURCHASES, purchase(customer=customer, store=store, total="90.00"))
    await Customer.update({Customer.loyalty_points: 9999, Customer.loyalty_tier: "platinum"}).where(Customer.id == customer).run()
    await LoyaltyEntry.update({LoyaltyEntry.remaining: 0}).where(LoyaltyEntry.customer == customer).run()
    standing = await app.state.services.loyalty.rebuild(customer)
    assert standing.balance == 90
    assert await _points(customer) == (90, "member")
    lot = await LoyaltyEntry.select(LoyaltyEntry.remaining).where(LoyaltyEntry.customer == customer).first().run()
    assert lot["remaining"] == 90


def test_rules_default_to_one_point_per_euro() -> None:
    assert LoyaltyRules().points_per_unit == 1
