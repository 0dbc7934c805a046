"""The loyalty ledger's rules: how many points a purchase earns, how a return is reversed,
and how the balance, the lots still to expire and the tier are derived from the entries.

The ledger is the truth. Every positive entry (``opening``, ``earn``, a positive ``adjust``)
is a *lot* that expires ``points_lifetime_days`` after it was earned; every negative entry
(``redeem``, ``reversal``, a negative ``adjust``, ``expire``) consumes lots, oldest expiry
first (an ``expire`` entry consumes exactly the lot it names). Points spent beyond what the
lots hold are a *deficit* that later lots pay off first. :func:`derive` replays the entries
and is the only place the balance comes from, so the cached ``loyalty_points`` and each
lot's ``remaining`` can always be rebuilt.

The tier follows *qualifying* points: points earned (net of return reversals, plus an
``opening`` balance) during the qualification period, on the ladder of ``domain.loyalty``.
Rewards unlock once per customer when the balance first reaches their threshold.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from decimal import ROUND_FLOOR, Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.errors import DomainError
from domain.loyalty import TIER_NAMES, tier_for_points

__all__ = [
    "EntryKind",
    "LoyaltyRules",
    "LedgerEntry",
    "Lot",
    "Standing",
    "Reward",
    "DEFAULT_REWARDS",
    "DEFAULT_MULTIPLIERS",
    "parse_multipliers",
    "points_for_purchase",
    "reversal_points",
    "derive",
    "rewards_newly_reached",
    "LoyaltyEventIn",
    "InsufficientPoints",
    "NotAMember",
]

EntryKind = Literal["opening", "earn", "redeem", "adjust", "reversal", "expire"]
# Kinds counted towards the tier (within the qualification period).
_QUALIFYING: frozenset[str] = frozenset({"opening", "earn", "reversal"})

DEFAULT_MULTIPLIERS: dict[str, Decimal] = {
    "member": Decimal("1"), "silver": Decimal("1.25"), "gold": Decimal("1.5"), "platinum": Decimal("2"),
}


class Reward(msgspec.Struct, frozen=True):
    code: str
    threshold: int


DEFAULT_REWARDS: tuple[Reward, ...] = (
    Reward("voucher_5", 500), Reward("voucher_10", 1000), Reward("voucher_25", 2500), Reward("voucher_50", 5000),
)


class LoyaltyRules(msgspec.Struct, frozen=True, kw_only=True):
    """The programme's configuration (``CLIENTELING_LOYALTY_*`` settings)."""

    points_per_unit: Decimal = Decimal("1")  # points per EUR spent (other currencies converted)
    multipliers: dict[str, Decimal] = msgspec.field(default_factory=lambda: dict(DEFAULT_MULTIPLIERS))
    points_lifetime_days: int = 730
    qualification_days: int = 365
    expiry_notice_days: int = 14
    rewards: tuple[Reward, ...] = DEFAULT_REWARDS

    def multiplier(self, tier: str | None) -> Decimal:
        return self.multipliers.get(tier or "member", Decimal("1"))

    def expires_at(self, earned_at: dt.datetime) -> dt.datetime:
        return earned_at + dt.timedelta(days=self.points_lifetime_days)


def parse_multipliers(text: str) -> dict[str, Decimal]:
    """``"member=1,silver=1.25,gold=1.5,platinum=2"`` -> multipliers; every tier must be named
    and each factor lie between 0 and 10."""
    out: dict[str, Decimal] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in TIER_NAMES:
            raise ValueError(f"expected tier=factor with a tier among {', '.join(TIER_NAMES)}, got {part.strip()!r}")
        try:
            factor = Decimal(value.strip())
        except ArithmeticError:
            raise ValueError(f"{name}: {value.strip()!r} is not a number") from None
        if not Decimal("0") <= factor <= Decimal("10"):
            raise ValueError(f"{name}: the factor must be between 0 and 10")
        out[name] = factor
    missing = [t for t in TIER_NAMES if t not in out]
    if missing:
        raise ValueError(f"missing tiers: {', '.join(missing)}")
    return out


def points_for_purchase(amount_eur: Decimal, tier: str | None, rules: LoyaltyRules) -> int:
    """Whole points for a purchase worth ``amount_eur``: per-unit rate times the tier
    multiplier, rounded down (a fraction of a point is never given)."""
    raw = amount_eur * rules.points_per_unit * rules.multiplier(tier)
    return int(raw.to_integral_value(rounding=ROUND_FLOOR)) if raw > 0 else 0


def reversal_points(*, earned: int, purchase_total_eur: Decimal, refund_eur: Decimal, already_reversed: int) -> int:
    """Points to take back for a refund of ``refund_eur`` on a purchase that earned ``earned``:
    the refunded share, rounded up, never more than is left unreversed. Returned positive."""
    if earned <= 0 or purchase_total_eur <= 0 or refund_eur <= 0:
        return 0
    share = Decimal(earned) * min(refund_eur, purchase_total_eur) / purchase_total_eur
    return max(0, min(math.ceil(share), earned - already_reversed))


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One ledger row as the derivation needs it."""

    id: UUID
    kind: str
    points: int
    occurred_at: dt.datetime
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    # For ``expire``: the lot it expires.
    lot_id: UUID | None = None


class Lot(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    points: int
    remaining: int
    expires_at: dt.datetime | None


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    balance: int
    qualifying_points: int
    tier: str
    lots: list[Lot]

    def remaining_of(self, lot_id: UUID) -> int:
        for lot in self.lots:
            if lot.id == lot_id:
                return lot.remaining
        return 0

    def expiring(self, now: dt.datetime, within: dt.timedelta) -> list[Lot]:
        """Lots with points left that expire after ``now`` and within ``within``."""
        return [lot for lot in self.lots if lot.remaining > 0 and lot.expires_at is not None and now < lot.expires_at <= now + within]

    def expired(self, now: dt.datetime) -> list[Lot]:
        """Lots with points left whose expiry has passed (the expiry job turns them into
        ``expire`` entries)."""
        return [lot for lot in self.lots if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now]


def _order(entry: LedgerEntry) -> tuple[dt.datetime, dt.datetime, str]:
    return (entry.occurred_at, entry.created_at, str(entry.id))


def derive(entries: Iterable[LedgerEntry], now: dt.datetime, rules: LoyaltyRules) -> Standing:
    """Replay the ledger: the balance, each lot's unspent points and the tier now.

    The balance is the sum of all entries. Negative entries consume lots in order of expiry
    (the points closest to expiring are spent first, which is what a member would want); an
    ``expire`` entry consumes its own lot. Spending more than the lots hold leaves a deficit
    that the next lots pay off."""
    ordered = sorted(entries, key=_order)
    lots: dict[UUID, list] = {}  # id -> [points, remaining, expires_at]
    deficit = 0
    balance = 0
    qualifying = 0
    since = now - dt.timedelta(days=rules.qualification_days)
    for e in ordered:
        balance += e.points
        if e.kind in _QUALIFYING and e.occurred_at > since:
            qualifying += e.points
        if e.points > 0:
            pay = min(deficit, e.points)
            deficit -= pay
            lots[e.id] = [e.points, e.points - pay, e.expires_at]
            continue
        need = -e.points
        if e.kind == "expire" and e.lot_id in lots:
            lot = lots[e.lot_id]
            take = min(lot[1], need)
            lot[1] -= take
            need -= take
        far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        for lot_id in sorted(lots, key=lambda i: (lots[i][2] or far, str(i))):
            if need == 0:
                break
            lot = lots[lot_id]
            take = min(lot[1], need)
            lot[1] -= take
            need -= take
        deficit += need
    return Standing(
        balance=balance,
        qualifying_points=max(qualifying, 0),
        tier=tier_for_points(max(qualifying, 0)),
        lots=[Lot(id=i, points=v[0], remaining=v[1], expires_at=v[2]) for i, v in lots.items()],
    )


def rewards_newly_reached(balance: int, unlocked: Iterable[str], rules: LoyaltyRules) -> list[Reward]:
    """Rewards whose threshold ``balance`` reaches and that were never unlocked before."""
    have = set(unlocked)
    return [r for r in rules.rewards if balance >= r.threshold and r.code not in have]


# --- the loyalty-events webhook (SPEC §5 /integrations/loyalty-events) ------------------------

AwareDatetime = Annotated[dt.datetime, Meta(tz=True)]


class LoyaltyEventIn(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A loyalty engine or POS redeeming points (``redeem``, ``points`` > 0 taken off) or
    correcting a balance (``adjust``, ``points`` positive or negative)."""

    external_id: Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]
    kind: Literal["redeem", "adjust"]
    points: Annotated[int, Meta(ge=-1_000_000, le=1_000_000)]
    occurred_at: AwareDatetime
    customer_id: UUID | None = None
    loyalty_number: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    reason: Annotated[str, Meta(max_length=200)] | None = None

    def __post_init__(self) -> None:
        if (self.customer_id is None) == (self.loyalty_number is None):
            raise ValueError("give exactly one of customerId or loyaltyNumber")
        if self.points == 0:
            raise ValueError("points must not be zero")
        if self.kind == "redeem" and self.points < 0:
            raise ValueError("a redemption gives the points taken off as a positive number")


class InsufficientPoints(DomainError):
    code = "INSUFFICIENT_POINTS"
    status = 422
    title = "The balance does not cover this redemption"


class NotAMember(DomainError):
    code = "NOT_A_LOYALTY_MEMBER"
    status = 422
    title = "This customer has no loyalty card"
