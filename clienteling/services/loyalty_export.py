"""The loyalty and Web Push sections of the Art. 15/20 export (``services.export_sections``):
the loyalty ledger and rewards, the member account (never its password hash), push
subscriptions (never their auth secret) and the history of notifications sent."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

import msgspec

from clienteling.repositories import loyalty as loyalty_repo
from clienteling.repositories import members as members_repo
from clienteling.repositories import push as push_repo
from clienteling.tables import LoyaltyReward, PushSubscription

__all__ = ["loyalty_ledger", "member_account", "push_subscriptions", "notification_history"]


class LedgerEntryExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    kind: str
    points: int
    remaining: int
    occurred_at: dt.datetime
    expires_at: dt.datetime | None
    reason: str | None
    source_ref: str | None


class RewardExport(msgspec.Struct, rename="camel", kw_only=True):
    code: str
    threshold: int
    unlocked_at: dt.datetime


class LoyaltyExport(msgspec.Struct, rename="camel", kw_only=True):
    entries: list[LedgerEntryExport]
    rewards: list[RewardExport]


class MemberAccountExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    email: str
    active: bool
    language: str | None
    time_zone: str | None
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    event_types: list[str]
    created_at: dt.datetime
    last_login_at: dt.datetime | None


class PushSubscriptionExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    endpoint: str
    expiration_time: dt.datetime | None
    created_at: dt.datetime
    last_delivered_at: dt.datetime | None


class NotificationExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    type: str
    status: str
    attempts: int
    subscription_id: UUID | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None


async def loyalty_ledger(row: dict[str, Any]) -> LoyaltyExport:
    entries = sorted(await loyalty_repo.entries(row["id"]), key=lambda e: (e["occurred_at"], e["created_at"]))
    rewards = await LoyaltyReward.select(LoyaltyReward.code, LoyaltyReward.threshold, LoyaltyReward.unlocked_at).where(LoyaltyReward.customer == row["id"]).run()
    return LoyaltyExport(
        entries=[
            LedgerEntryExport(
                id=e["id"], kind=e["kind"], points=e["points"], remaining=e["remaining"], occurred_at=e["occurred_at"],
                expires_at=e["expires_at"], reason=e["reason"], source_ref=e["source_ref"],
            )
            for e in entries
        ],
        rewards=[RewardExport(code=r["code"], threshold=r["threshold"], unlocked_at=r["unlocked_at"]) for r in rewards],
    )


async def member_account(row: dict[str, Any]) -> MemberAccountExport | None:
    m = await members_repo.by_customer(row["id"])
    if m is None:
        return None
    return MemberAccountExport(
        id=m["id"], email=m["email"], active=m["active"], language=m["language"], time_zone=m["time_zone"],
        quiet_hours_start=m["quiet_start"], quiet_hours_end=m["quiet_end"], event_types=list(m["event_types"] or []),
        created_at=m["created_at"], last_login_at=m["last_login_at"],
    )


async def push_subscriptions(row: dict[str, Any]) -> list[PushSubscriptionExport]:
    rows = await PushSubscription.select(
        PushSubscription.id, PushSubscription.endpoint, PushSubscription.expiration_time, PushSubscription.created_at,
        PushSubscription.last_delivered_at,
    ).where(PushSubscription.customer == row["id"]).run()
    return [PushSubscriptionExport(**r) for r in rows]


async def notification_history(row: dict[str, Any]) -> list[NotificationExport]:
    return [
        NotificationExport(
            id=d["id"], type=d["kind"], status=d["status"], attempts=d["attempts"], subscription_id=d["subscription_id"],
            created_at=d["created_at"], delivered_at=d["delivered_at"],
        )
        for d in await push_repo.history_of_customer(row["id"])
    ]
