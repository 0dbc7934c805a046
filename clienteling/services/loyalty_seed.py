"""Demo mode only: the loyalty ledger's opening balances for the generated customers (their
points as one ``opening`` lot each, so the ledger and the cached balance agree from the
start) and the demo member's sign-in (``member@example.com``, password ``clienteling-demo``).
Called by ``clienteling.demo_data`` inside its seeding transaction."""

from __future__ import annotations

import datetime as dt
import uuid

from clienteling.tables import Customer, LoyaltyEntry, LoyaltyReward, MemberAccount
from domain.loyalty_ledger import LoyaltyRules
from domain.push import MEMBER_EVENT_TYPES

__all__ = ["seed_loyalty"]

_NAMESPACE = uuid.UUID("0b7e3a52-6a3c-5f0e-8c1d-2f4e6a8b0c1d")


async def seed_loyalty(*, member_email: str, password_hash: str, now: dt.datetime, rules: LoyaltyRules | None = None) -> int:
    """Write the opening lots and the demo member account; returns the lots written."""
    rules = rules or LoyaltyRules()
    rows = await Customer.select(Customer.id, Customer.loyalty_points).where(
        Customer.loyalty_number.is_not_null() & (Customer.loyalty_points > 0)
    ).run()
    entries = [
        LoyaltyEntry(
            id=uuid.uuid5(_NAMESPACE, f"opening:{r['id']}"), customer=r["id"], kind="opening", points=r["loyalty_points"],
            remaining=r["loyalty_points"], occurred_at=now, expires_at=rules.expires_at(now), source_ref=f"opening:{r['id']}",
            details={}, created_at=now,
        )
        for r in rows
    ]
    for start in range(0, len(entries), 400):
        await LoyaltyEntry.insert(*entries[start:start + 400]).run()
    # Rewards the opening balances already reached count as unlocked (they are not news).
    rewards = [
        LoyaltyReward(id=uuid.uuid5(_NAMESPACE, f"reward:{r['id']}:{reward.code}"), key=f"{r['id']}:{reward.code}", customer=r["id"],
                      code=reward.code, threshold=reward.threshold, unlocked_at=now)
        for r in rows for reward in rules.rewards if r["loyalty_points"] >= reward.threshold
    ]
    for start in range(0, len(rewards), 400):
        await LoyaltyReward.insert(*rewards[start:start + 400]).run()
    member = await Customer.select(Customer.id).where(Customer.email_key == member_email).first().run()
    if member is not None:
        await MemberAccount.insert(
            MemberAccount(
                id=uuid.uuid5(_NAMESPACE, f"member:{member_email}"), customer=member["id"], email=member_email,
                password_hash=password_hash, event_types=list(MEMBER_EVENT_TYPES),
            )
        ).run()
    return len(entries)
