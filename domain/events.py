"""Real-time events: what happened, to which customer, in which store, for whom.

Events carry ids only, never personal values: each subscriber's view of the customer is
built at delivery time through the permission decision."""

from __future__ import annotations

import datetime as dt
from typing import Literal
from uuid import UUID

import msgspec

__all__ = ["Event", "EventKind", "customer_channel", "store_channel"]

EventKind = Literal[
    "customer_updated",  # profile, notes, consents, wishlist... changed
    "vip_check_in",  # a customer who consented to in_store_recognition checked in
    "task_assigned",
    "appointment_soon",
]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    kind: EventKind
    occurred_at: dt.datetime
    customer_id: UUID | None = None
    store_id: UUID | None = None
    staff_id: UUID | None = None  # the staff member the event is for (task assignee...)
    ref_id: UUID | None = None  # the task, appointment or check-in concerned
    fields: list[str] = []  # for customer_updated: which fields changed (names only)


def customer_channel(customer_id: UUID) -> str:
    return f"customer:{customer_id}"


def store_channel(store_id: UUID) -> str:
    return f"store:{store_id}"
