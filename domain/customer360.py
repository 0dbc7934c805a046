"""The customer 360 on the wire: purchases, the consent summary and the merged timeline,
with the pure rules that build the timeline's wording.

Amounts travel as decimal strings with their currency (never floats). A timeline event
carries a fixed-vocabulary ``summary`` built from fields the caller may read, never free text
typed by a person (note bodies, task titles, appointment notes): the ``refId`` lets the app
open the record itself, through its own permission check.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal
from uuid import UUID

import msgspec

__all__ = [
    "PurchaseLineView",
    "PurchaseView",
    "ConsentSummary",
    "TimelineKind",
    "TIMELINE_KINDS",
    "TimelineEvent",
    "MAX_TIMELINE",
    "money",
    "merge_timeline",
    "purchase_summary",
    "return_summary",
    "note_summary",
    "appointment_summary",
    "task_summary",
    "consent_summary",
]

MAX_TIMELINE = 100

TimelineKind = Literal["purchase", "return", "note", "check_in", "appointment", "task_completed", "consent"]
TIMELINE_KINDS: tuple[str, ...] = ("purchase", "return", "note", "check_in", "appointment", "task_completed", "consent")

_CENT = Decimal("0.01")


def money(amount: Decimal | float | int | str | None) -> str | None:
    """An amount as a decimal string with two places (``"129.90"``); ``None`` stays ``None``.
    Floats (SQLite sums) go through their shortest text form, so no binary noise leaks in."""
    if amount is None:
        return None
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    return str(value.quantize(_CENT))


class PurchaseLineView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    sku: str
    name: str
    quantity: int
    unit_price: str


class PurchaseView(msgspec.Struct, rename="camel", kw_only=True):
    """A store or online purchase as the caller may see it; unreadable fields are null."""

    id: UUID
    customer_id: UUID
    occurred_at: dt.datetime | None = None
    channel: str | None = None
    store_id: UUID | None = None
    currency: str | None = None
    total: str | None = None
    lines: list[PurchaseLineView] | None = None


class ConsentSummary(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Where a customer stands on one purpose now. ``granted`` is what to act on (an expired
    grant is not granted); ``since`` is when the deciding answer was given. Null where the
    caller may not read the ledger field behind it; ``since`` null and ``granted`` false for
    a purpose never asked."""

    purpose: str
    granted: bool | None
    since: dt.datetime | None
    expires_at: dt.datetime | None


class TimelineEvent(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    kind: TimelineKind
    occurred_at: dt.datetime
    summary: str
    ref_id: UUID


def merge_timeline(events: list[TimelineEvent], limit: int) -> list[TimelineEvent]:
    """Newest first, ``limit`` at most; ties broken by kind then id so the order is stable."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.kind, str(e.ref_id)), reverse=True)
    return ordered[:limit]


_CHANNEL = {"store": "In-store purchase", "online": "Online purchase"}


def purchase_summary(channel: str | None, total: str | None, currency: str | None) -> str:
    head = _CHANNEL.get(channel or "", "Purchase")
    return f"{head}, {total} {currency}" if total is not None and currency is not None else head


def return_summary(total: str | None, currency: str | None) -> str:
    return f"Return, {total} {currency}" if total is not None and currency is not None else "Return"


def note_summary(pinned: bool | None, private: bool) -> str:
    if private:
        return "Private note added"
    return "Pinned note added" if pinned else "Note added"


_APPOINTMENT_STATUS = {"held": "held", "no_show": "missed (no show)", "cancelled": "cancelled", "booked": "booked"}
_APPOINTMENT_CHANNEL = {"in_store": "in store", "video": "video", "phone": "phone"}


def appointment_summary(status: str | None, channel: str | None) -> str:
    text = "Appointment"
    if status in _APPOINTMENT_STATUS:
        text += f" {_APPOINTMENT_STATUS[status]}"
    if channel in _APPOINTMENT_CHANNEL:
        text += f" ({_APPOINTMENT_CHANNEL[channel]})"
    return text


_TASK_KIND = {
    "follow_up": "Follow-up completed",
    "post_purchase": "Post-purchase follow-up completed",
    "birthday": "Birthday follow-up completed",
    "lapsed": "Win-back follow-up completed",
}


def task_summary(kind: str | None) -> str:
    return _TASK_KIND.get(kind or "", "Task completed")


_CONSENT_STATUS = {"granted": "Consent granted", "denied": "Consent denied", "withdrawn": "Consent withdrawn"}


def consent_summary(status: str | None, purpose: str | None) -> str:
    head = _CONSENT_STATUS.get(status or "", "Consent answer recorded")
    return f"{head}: {purpose}" if purpose else head
