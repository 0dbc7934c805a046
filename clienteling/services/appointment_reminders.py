"""The "appointment starting soon" store alert.

A loop in every app process calls :func:`remind_starting_soon` each minute; the conditional
update in the repository hands each appointment to exactly one caller, so with many
processes each alert still goes out once. A rescheduled appointment is reminded again."""

from __future__ import annotations

import datetime as dt

from clienteling import db
from clienteling.events import EventBus
from clienteling.repositories import appointments as repo
from domain.events import Event, store_channel

__all__ = ["REMIND_BEFORE", "remind_starting_soon"]

REMIND_BEFORE = dt.timedelta(minutes=15)


async def remind_starting_soon(now: dt.datetime, *, events: EventBus | None, before: dt.timedelta = REMIND_BEFORE) -> int:
    """Publish ``appointment_soon`` (for the associate and the store's managers) for booked
    appointments starting within ``before``; returns how many. Carries ids only: each
    subscriber's view of the customer is built, and audited, at delivery."""
    async with db.transaction():
        claimed = await repo.claim_starting_soon(now, now + before)
    if events is not None:
        for row in claimed:
            event = Event(
                kind="appointment_soon", occurred_at=now, customer_id=row["customer"], store_id=row["store"],
                staff_id=row["associate"], ref_id=row["id"],
            )
            await events.publish([store_channel(row["store"])], event)
    return len(claimed)
