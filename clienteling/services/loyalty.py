"""The loyalty programme: points earned with purchases, reversed with returns, redeemed and
adjusted through the loyalty-events webhook, expired after their lifetime; tiers and rewards
derived from the ledger; and the loyalty events announced through the outbox in the same
transaction as the ledger change.

Every change goes through :meth:`LoyaltyService._settle`, which replays the customer's whole
ledger (``domain.loyalty_ledger.derive``) and writes back what is derived: each lot's
unspent points and the customer's cached ``loyalty_points`` and ``loyalty_tier``. The same
function rebuilds them from scratch (:meth:`rebuild`)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import msgspec

from clienteling import db
from clienteling.repositories import loyalty as repo
from clienteling.services.outbox import emit
from domain.errors import NotFound
from domain.loyalty import next_tier
from domain.loyalty_ledger import (
    InsufficientPoints,
    LedgerEntry,
    LoyaltyEventIn,
    LoyaltyRules,
    NotAMember,
    Standing,
    derive,
    points_for_purchase,
    reversal_points,
    rewards_newly_reached,
)

if TYPE_CHECKING:
    from clienteling.services.audit import AuditTrail

__all__ = ["LoyaltyService", "LoyaltySummary", "JobReport"]

log = logging.getLogger("clienteling.loyalty")

class LoyaltySummary(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    points: int
    tier: str
    qualifying_points: int
    next_tier: str | None
    points_to_next_tier: int | None
    expiring_points: int
    next_expiry_at: dt.datetime | None


class JobReport(msgspec.Struct, frozen=True, kw_only=True):
    expired_customers: int = 0
    expiring_notices: int = 0
    birthday_notices: int = 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _ledger(rows: list[dict[str, Any]]) -> list[LedgerEntry]:
    out = []
    for r in rows:
        ref = r["source_ref"] or ""
        lot = UUID(ref[7:]) if r["kind"] == "expire" and ref.startswith("expire:") else None
        out.append(LedgerEntry(
            id=r["id"], kind=r["kind"], points=r["points"], occurred_at=r["occurred_at"], created_at=r["created_at"],
            expires_at=r["expires_at"], lot_id=lot,
        ))
    return out


class LoyaltyService:
    def __init__(self, rules: LoyaltyRules | None = None, audit: "AuditTrail | None" = None) -> None:
        self.rules = rules or LoyaltyRules()
        self.audit = audit

    # --- changes, inside the caller's transaction -------------------------------------------

    async def earn_for_purchase(self, customer_id: UUID, *, purchase_id: UUID, amount_eur: Decimal, at: dt.datetime) -> int:
        """Points for a purchase, written with the purchase (call inside its transaction,
        with the customer row locked). Customers without a loyalty card earn nothing."""
        customer = await repo.member_customer(customer_id)
        if customer is None or customer["loyalty_number"] is None:
            return 0
        await self._open_ledger(customer)
        points = points_for_purchase(amount_eur, customer["loyalty_tier"], self.rules)
        if points <= 0:
            return 0
        entry_id = uuid4()
        await repo.insert_entry({
            "id": entry_id, "customer": customer_id, "kind": "earn", "points": points, "remaining": points,
            "occurred_at": at, "expires_at": self.rules.expires_at(at), "source_ref": f"purchase:{purchase_id}",
            "details": {"purchaseId": str(purchase_id), "amountEur": str(amount_eur), "multiplier": str(self.rules.multiplier(customer["loyalty_tier"]))},
        })
        standing = await self._settle(customer, cause=entry_id)
        await emit(
            "points_earned", dedup_key=f"points_earned:{entry_id}", occurred_at=at, customer=customer_id,
            data={"points": points, "balance": standing.balance, "purchaseId": str(purchase_id)},
        )
        return points

    async def reverse_for_return(self, customer_id: UUID, *, return_id: UUID, purchase_id: UUID | None, refund_eur: Decimal, at: dt.datetime) -> int:
        """Take back the points a returned purchase earned (its refunded share). A return not
        tied to a known purchase takes back the base rate for the refund. Returns the points
        taken back."""
        customer = await repo.member_customer(customer_id)
        if customer is None or customer["loyalty_number"] is None:
            return 0
        await self._open_ledger(customer)
        points = 0
        details: dict[str, Any] = {"returnId": str(return_id), "refundEur": str(refund_eur)}
        if purchase_id is not None:
            earned = await repo.entry_by_source(f"purchase:{purchase_id}")
            if earned is not None:
                total = Decimal(earned["details"].get("amountEur", "0"))
                already = await repo.reversed_for_purchase(customer_id, purchase_id)
                points = reversal_points(earned=earned["points"], purchase_total_eur=total, refund_eur=refund_eur, already_reversed=already)
                details["purchaseId"] = str(purchase_id)
        else:
            points = points_for_purchase(refund_eur, "member", self.rules)
        if points <= 0:
            return 0
        entry_id = uuid4()
        await repo.insert_entry({
            "id": entry_id, "customer": customer_id, "kind": "reversal", "points": -points, "remaining": 0,
            "occurred_at": at, "source_ref": f"return:{return_id}", "details": details,
        })
        await self._settle(customer, cause=entry_id)
        return points

    async def apply_event(self, customer_id: UUID, event: LoyaltyEventIn) -> dict[str, Any]:
        """A redemption or an adjustment pushed by the loyalty engine (inside the webhook's
        transaction). A redemption larger than the balance is refused."""
        customer = await repo.member_customer(customer_id)
        if customer is None:
            raise NotFound("No such customer")
        if customer["loyalty_number"] is None:
            raise NotAMember("This customer has no loyalty card")
        await self._open_ledger(customer)
        at = event.occurred_at.astimezone(dt.timezone.utc)
        points = -event.points if event.kind == "redeem" else event.points
        if event.kind == "redeem":
            current = derive(_ledger(await repo.entries(customer_id)), _now(), self.rules)
            if current.balance < event.points:
                raise InsufficientPoints(f"The balance is {current.balance} points; {event.points} cannot be redeemed", extra={"balance": current.balance})
        entry_id = uuid4()
        await repo.insert_entry({
            "id": entry_id, "customer": customer_id, "kind": event.kind, "points": points,
            "remaining": max(points, 0), "occurred_at": at,
            "expires_at": self.rules.expires_at(at) if points > 0 else None,
            "source_ref": f"loyalty_event:{event.external_id}", "reason": event.reason,
        })
        standing = await self._settle(customer, cause=entry_id)
        return {"entryId": str(entry_id), "customerId": str(customer_id), "points": points, "balance": standing.balance, "tier": standing.tier}

    async def _open_ledger(self, customer: dict[str, Any]) -> None:
        """A customer whose balance predates the ledger (imported, or loaded before it
        existed) gets it as an ``opening`` entry first, so derivation starts from it."""
        if customer["loyalty_points"] and not await repo.entries(customer["id"]):
            now = _now()
            points = int(customer["loyalty_points"])
            await repo.insert_entry({
                "id": uuid4(), "customer": customer["id"], "kind": "opening", "points": points,
                "remaining": max(points, 0), "occurred_at": now,
                "expires_at": self.rules.expires_at(now) if points > 0 else None,
                "source_ref": f"opening:{customer['id']}",
            })
            # Rewards the opening balance already reached are not news.
            for reward in rewards_newly_reached(points, await repo.unlocked_rewards(customer["id"]), self.rules):
                await repo.insert_reward({
                    "id": uuid4(), "key": f"{customer['id']}:{reward.code}", "customer": customer["id"], "code": reward.code,
                    "threshold": reward.threshold, "unlocked_at": now,
                })

    async def _settle(self, customer: dict[str, Any], *, cause: UUID, now: dt.datetime | None = None) -> Standing:
        """Derive the standing from the ledger and write back what is derived; announce a
        tier change and newly reached rewards in the outbox."""
        now = now or _now()
        rows = await repo.entries(customer["id"])
        standing = derive(_ledger(rows), now, self.rules)
        stored = {r["id"]: r["remaining"] for r in rows}
        await repo.set_remaining({lot.id: lot.remaining for lot in standing.lots if stored.get(lot.id) != lot.remaining})
        if standing.balance != customer["loyalty_points"] or standing.tier != customer["loyalty_tier"]:
            await repo.set_standing(customer["id"], points=standing.balance, tier=standing.tier)
        if customer["loyalty_tier"] and standing.tier != customer["loyalty_tier"]:
            await emit(
                "tier_changed", dedup_key=f"tier_changed:{customer['id']}:{cause}", occurred_at=now, customer=customer["id"],
                data={"tier": standing.tier, "previousTier": customer["loyalty_tier"]},
            )
        for reward in rewards_newly_reached(standing.balance, await repo.unlocked_rewards(customer["id"]), self.rules):
            await repo.insert_reward({
                "id": uuid4(), "key": f"{customer['id']}:{reward.code}", "customer": customer["id"], "code": reward.code,
                "threshold": reward.threshold, "unlocked_at": now,
            })
            await emit(
                "reward_unlocked", dedup_key=f"reward_unlocked:{customer['id']}:{reward.code}", occurred_at=now,
                customer=customer["id"], data={"reward": reward.code, "threshold": reward.threshold},
            )
        return standing

    # --- reads and maintenance --------------------------------------------------------------

    async def summary(self, customer_id: UUID, now: dt.datetime | None = None) -> LoyaltySummary:
        now = now or _now()
        customer = await repo.member_customer(customer_id)
        if customer is None:
            raise NotFound("No such customer")
        rows = await repo.entries(customer_id)
        if rows:
            standing = derive(_ledger(rows), now, self.rules)
            points, tier, qualifying = standing.balance, standing.tier, standing.qualifying_points
            expiring = standing.expiring(now, dt.timedelta(days=self.rules.expiry_notice_days))
        else:
            points, tier, qualifying, expiring = customer["loyalty_points"], customer["loyalty_tier"], customer["loyalty_points"], []
        step = next_tier(qualifying, above=tier)
        return LoyaltySummary(
            points=points, tier=tier, qualifying_points=qualifying,
            next_tier=step[0] if step else None, points_to_next_tier=step[1] if step else None,
            expiring_points=sum(lot.remaining for lot in expiring),
            next_expiry_at=min((lot.expires_at for lot in expiring if lot.expires_at), default=None),
        )

    async def rebuild(self, customer_id: UUID) -> Standing:
        """Recompute the cached balance, tier and lots from the ledger alone (idempotent)."""
        async with db.transaction():
            customer = await repo.member_customer(customer_id, lock=True)
            if customer is None:
                raise NotFound("No such customer")
            return await self._settle(customer, cause=uuid4())

    async def run_jobs(self, now: dt.datetime | None = None) -> JobReport:
        """The scheduled work: expire lots past their lifetime, announce points expiring
        within the notice period and birthdays. Idempotent (each notice has a dedup key,
        each expiry names its lot); on PostgreSQL one process at a time runs it."""
        now = now or _now()
        async with repo.job_lock() as mine:
            if not mine:
                return JobReport()
            return await self._jobs(now)

    async def _jobs(self, now: dt.datetime) -> JobReport:
        expired = 0
        for customer_id in await repo.customers_with_expired_lots(now):
            expired += await self._expire(customer_id, now)
        notices = 0
        until = now + dt.timedelta(days=self.rules.expiry_notice_days)
        by_customer: dict[tuple[UUID, str], tuple[int, dt.datetime]] = {}
        for lot in await repo.customers_with_lots_expiring(now, until):
            key = (lot["customer"], lot["expires_at"].date().isoformat())
            points, _ = by_customer.get(key, (0, lot["expires_at"]))
            by_customer[key] = (points + lot["remaining"], lot["expires_at"])
        birthdays = 0
        async with db.transaction():
            for (customer_id, day), (points, expires_at) in by_customer.items():
                notices += await emit(
                    "points_expiring", dedup_key=f"points_expiring:{customer_id}:{day}", occurred_at=now, customer=customer_id,
                    data={"points": points, "expiresAt": expires_at.isoformat()},
                )
            for customer_id in await repo.birthday_customers(now.month * 100 + now.day):
                birthdays += await emit(
                    "birthday", dedup_key=f"birthday:{customer_id}:{now.year}", occurred_at=now, customer=customer_id, data={},
                )
        return JobReport(expired_customers=expired, expiring_notices=notices, birthday_notices=birthdays)

    async def _expire(self, customer_id: UUID, now: dt.datetime) -> int:
        async with db.transaction():
            customer = await repo.member_customer(customer_id, lock=True)
            if customer is None:
                return 0
            standing = derive(_ledger(await repo.entries(customer_id)), now, self.rules)
            lots = standing.expired(now)
            for lot in lots:
                await repo.insert_entry({
                    "id": uuid4(), "customer": customer_id, "kind": "expire", "points": -lot.remaining, "remaining": 0,
                    "occurred_at": lot.expires_at, "source_ref": f"expire:{lot.id}",
                })
            await self._settle(customer, cause=uuid4(), now=now)
            if lots and self.audit is not None:
                await self.audit.record(
                    None, action="update", customer_ids=[customer_id], fields=["loyalty_points", "loyalty_tier"],
                    surface="system", operation="loyalty expiry",
                )
        return 1 if lots else 0
