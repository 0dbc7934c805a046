"""Fan-out: undispatched outbox events become one delivery per subscription of their
recipient (a member's devices; for a VIP check-in, the devices of the staff working in the
store), and are marked dispatched with how many they became.

Runs inside the caller's transaction. On PostgreSQL the events are taken with ``FOR UPDATE
SKIP LOCKED``, so concurrent workers fan out different events; a delivery's ``key`` (event,
subscription) makes a repeated fan-out harmless."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from uuid import UUID

from clienteling.repositories import outbox as outbox_repo
from clienteling.repositories import push as repo
from domain.push import MEMBER_EVENT_TYPES

__all__ = ["fan_out"]


def _delivery(event: dict[str, Any], sub_id: UUID, *, customer: UUID | None, staff: UUID | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(), "key": f"{event['id']}:{sub_id}", "event": event["id"], "subscription_id": sub_id,
        "customer": customer, "staff": staff, "kind": event["kind"], "status": "pending", "attempts": 0,
        "next_attempt_at": now,
    }


async def fan_out(limit: int, now: dt.datetime) -> int:
    """Fan out up to ``limit`` of the oldest undispatched events (a few statements for all of
    them); returns how many. The deliveries are due at ``now``."""
    events = await outbox_repo.claim_undispatched(limit)
    if not events:
        return 0
    members = await repo.member_targets({e["customer"] for e in events if e["kind"] in MEMBER_EVENT_TYPES and e["customer"] is not None})
    stores: dict[UUID, list[tuple[UUID, UUID]]] = {}
    rows: list[dict[str, Any]] = []
    dispatched: dict[int, list[UUID]] = {}  # recipients -> events
    for event in events:
        before = len(rows)
        if event["kind"] in MEMBER_EVENT_TYPES and event["customer"] is not None:
            for sub_id in members.get(event["customer"], []):
                rows.append(_delivery(event, sub_id, customer=event["customer"], staff=None, now=now))
        elif event["kind"] == "vip_check_in" and event["store"] is not None:
            if event["store"] not in stores:
                stores[event["store"]] = await repo.store_staff_targets(event["store"])
            for sub_id, staff_id in stores[event["store"]]:
                rows.append(_delivery(event, sub_id, customer=None, staff=staff_id, now=now))
        dispatched.setdefault(len(rows) - before, []).append(event["id"])
    await repo.insert_deliveries(rows)
    for recipients, event_ids in dispatched.items():
        await outbox_repo.mark_dispatched(event_ids, recipients, now)
    return len(events)
