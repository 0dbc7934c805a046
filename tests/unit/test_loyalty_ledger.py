"""Pure loyalty ledger rules: earning, reversal, derivation (lots, deficit, expiry), tiers
by qualification period, rewards, and the multipliers setting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.loyalty_ledger import LedgerEntry, LoyaltyRules, derive, parse_multipliers, points_for_purchase, reversal_points, rewards_newly_reached

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)
RULES = LoyaltyRules()


def entry(kind: str, points: int, days_ago: float, *, lifetime: int | None = 730, lot=None) -> LedgerEntry:  # noqa: ANN001
    at = NOW - dt.timedelta(days=days_ago)
    expires = at + dt.timedelta(days=lifetime) if points > 0 and lifetime is not None else None
    return LedgerEntry(id=uuid4(), kind=kind, points=points, occurred_at=at, created_at=at, expires_at=expires, lot_id=lot)


def test_points_are_whole_and_follow_the_tier_multiplier() -> None:
    assert points_for_purchase(Decimal("139.90"), "member", RULES) == 139
    assert points_for_purchase(Decimal("100"), "gold", RULES) == 150
    assert points_for_purchase(Decimal("0.99"), "member", RULES) == 0
    assert points_for_purchase(Decimal("10"), "platinum", LoyaltyRules(points_per_unit=Decimal("2.5"))) == 50


def test_a_reversal_takes_back_the_refunded_share_and_never_more_than_earned() -> None:
    assert reversal_points(earned=150, purchase_total_eur=Decimal("100"), refund_eur=Decimal("40"), already_reversed=0) == 60
    assert reversal_points(earned=150, purchase_total_eur=Decimal("100"), refund_eur=Decimal("100"), already_reversed=60) == 90
    assert reversal_points(earned=150, purchase_total_eur=Decimal("100"), refund_eur=Decimal("500"), already_reversed=150) == 0


def test_spending_consumes_the_lots_closest_to_expiry_first() -> None:
    old, new = entry("earn", 100, 600), entry("earn", 100, 10)
    standing = derive([new, old, entry("redeem", -120, 1)], NOW, RULES)
    assert standing.balance == 80
    assert standing.remaining_of(old.id) == 0 and standing.remaining_of(new.id) == 80


def test_an_overspend_is_a_deficit_the_next_lot_pays_first() -> None:
    first = entry("earn", 50, 30)
    standing = derive([first, entry("reversal", -80, 20), entry("earn", 100, 10)], NOW, RULES)
    assert standing.balance == 70
    assert sum(lot.remaining for lot in standing.lots) == 70


def test_an_expire_entry_empties_its_own_lot_and_the_order_of_rows_does_not_matter() -> None:
    lot = entry("earn", 120, 800)
    other = entry("earn", 30, 1)
    expire = LedgerEntry(id=uuid4(), kind="expire", points=-120, occurred_at=lot.expires_at, created_at=NOW, lot_id=lot.id)
    for order in ([lot, other, expire], [expire, other, lot]):
        standing = derive(order, NOW, RULES)
        assert standing.balance == 30 and standing.remaining_of(lot.id) == 0 and standing.remaining_of(other.id) == 30
    assert derive([lot, other], NOW, RULES).expired(NOW)[0].id == lot.id


def test_the_tier_counts_points_earned_within_the_qualification_period() -> None:
    assert derive([entry("earn", 2500, 400)], NOW, RULES).tier == "member"
    assert derive([entry("earn", 2500, 100)], NOW, RULES).tier == "gold"
    # Redeeming does not cost the tier; a returned purchase does.
    assert derive([entry("earn", 900, 10), entry("redeem", -500, 1)], NOW, RULES).tier == "silver"
    assert derive([entry("earn", 900, 10), entry("reversal", -500, 1)], NOW, RULES).tier == "member"


def test_lots_expiring_within_the_notice_period() -> None:
    soon, later = entry("earn", 40, 725), entry("earn", 60, 100)
    assert [lot.id for lot in derive([soon, later], NOW, RULES).expiring(NOW, dt.timedelta(days=14))] == [soon.id]


def test_rewards_unlock_once_at_their_thresholds() -> None:
    assert [r.code for r in rewards_newly_reached(1200, [], RULES)] == ["voucher_5", "voucher_10"]
    assert [r.code for r in rewards_newly_reached(1200, ["voucher_5", "voucher_10"], RULES)] == []


def test_multipliers_setting_names_every_tier() -> None:
    assert parse_multipliers("member=1,silver=1.1,gold=1.2,platinum=1.5")["gold"] == Decimal("1.2")
    with pytest.raises(ValueError, match="missing tiers"):
        parse_multipliers("member=1,gold=2")
    with pytest.raises(ValueError):
        parse_multipliers("member=1,silver=x,gold=1,platinum=1")
