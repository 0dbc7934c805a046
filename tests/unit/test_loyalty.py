"""Loyalty tier rules: thresholds, the next tier and the distance to it."""

from __future__ import annotations

import pytest

from clienteling.demo_data import _tier as demo_tier
from domain.loyalty import LoyaltyStatus, loyalty_status, next_tier, tier_for_points


@pytest.mark.parametrize(
    ("points", "tier"),
    [(-5, "member"), (0, "member"), (799, "member"), (800, "silver"), (1999, "silver"), (2000, "gold"), (4499, "gold"), (4500, "platinum"), (10**6, "platinum")],
)
def test_tier_for_points_follows_the_thresholds(points: int, tier: str) -> None:
    assert tier_for_points(points) == tier


@pytest.mark.parametrize("points", [0, 799, 800, 1999, 2000, 2400, 4499, 4500, 9000])
def test_demo_data_uses_the_same_ladder(points: int) -> None:
    assert demo_tier(points) == tier_for_points(points)


def test_next_tier_gives_the_points_still_needed() -> None:
    assert next_tier(0) == ("silver", 800)
    assert next_tier(1500) == ("gold", 500)
    assert next_tier(2000) == ("platinum", 2500)
    assert next_tier(4500) is None


def test_next_tier_counts_from_a_tier_kept_above_the_points() -> None:
    # a gold customer in a grace period with silver points: the next step is platinum
    assert next_tier(1500, above="gold") == ("platinum", 3000)
    assert next_tier(1500, above="unknown") == ("gold", 500)


def test_loyalty_status_respects_what_the_caller_may_read() -> None:
    assert loyalty_status(None, None) is None
    assert loyalty_status("silver", 1500) == LoyaltyStatus(tier="silver", points=1500, next_tier="gold", points_to_next_tier=500)
    assert loyalty_status("gold", None) == LoyaltyStatus(tier="gold", points=None, next_tier=None, points_to_next_tier=None)
    assert loyalty_status("platinum", 5000).next_tier is None
