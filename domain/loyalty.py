"""Loyalty tiers: pure rules from points to tier, and the distance to the next tier.

Thresholds: member from 0, silver from 800, gold from 2,000, platinum from 4,500 — the same
ladder the demo data is generated with. The ledger (``domain.loyalty_ledger``) applies it to
the points earned during the qualification period and stores the result as
``loyalty_tier``; these rules say what a number of points earns and how far the next step is.
"""

from __future__ import annotations

import msgspec

__all__ = ["TIERS", "TIER_NAMES", "LoyaltyStatus", "tier_for_points", "next_tier", "loyalty_status"]

# (tier, points from which it is reached), lowest first.
TIERS: tuple[tuple[str, int], ...] = (("member", 0), ("silver", 800), ("gold", 2000), ("platinum", 4500))
TIER_NAMES: tuple[str, ...] = tuple(name for name, _ in TIERS)


class LoyaltyStatus(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """A customer's standing as the caller may see it: a part the caller may not read is
    ``None``; ``next_tier`` is ``None`` at the top of the ladder."""

    tier: str | None
    points: int | None
    next_tier: str | None
    points_to_next_tier: int | None


def tier_for_points(points: int) -> str:
    """The highest tier whose threshold ``points`` reaches (negative balances are members)."""
    tier = TIERS[0][0]
    for name, threshold in TIERS:
        if points >= threshold:
            tier = name
    return tier


def _rank(tier: str | None) -> int:
    return TIER_NAMES.index(tier) if tier in TIER_NAMES else -1


def next_tier(points: int, *, above: str | None = None) -> tuple[str, int] | None:
    """The next tier up and the points still needed to reach it, or ``None`` at the top.

    ``above``: the tier the customer already holds (it may be higher than the points earn,
    during a grace period); the next step is then counted from there, never a tier below it.
    """
    floor = max(_rank(tier_for_points(points)), _rank(above))
    for name, threshold in TIERS[floor + 1:]:
        return name, max(threshold - points, 0)
    return None


def loyalty_status(tier: str | None, points: int | None) -> LoyaltyStatus | None:
    """The loyalty block of a customer 360 from the caller's view of ``loyalty_tier`` and
    ``loyalty_points`` (``None`` where the caller may not read them). Without either there
    is nothing to show; without the points, the distance to the next tier is unknown."""
    if tier is None and points is None:
        return None
    step = next_tier(points, above=tier) if points is not None else None
    return LoyaltyStatus(
        tier=tier,
        points=points,
        next_tier=step[0] if step else None,
        points_to_next_tier=step[1] if step else None,
    )
