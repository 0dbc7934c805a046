"""Seller workflows on the wire: wishlist items, tasks (follow-ups) and appointments, with
their pure rules (task status, appointment windows, birthday windows)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.errors import Conflict, ValidationFailed

__all__ = [
    "WishlistItem",
    "WishlistItemCreate",
    "WishlistItemUpdate",
    "Task",
    "TaskCreate",
    "TaskUpdate",
    "TaskAction",
    "TaskKind",
    "TaskStatus",
    "TaskStatusFilter",
    "Appointment",
    "AppointmentCreate",
    "AppointmentUpdate",
    "AppointmentAction",
    "AppointmentChannel",
    "AppointmentStatus",
    "AppointmentOverlap",
    "MAX_APPOINTMENT",
    "MAX_SCHEDULE_WINDOW",
    "MAX_SNOOZE",
    "task_status",
    "check_appointment_window",
    "upcoming_birthday",
    "birthday_mmdd_window",
]

Sku = Annotated[str, Meta(min_length=1, max_length=64)]
ProductName = Annotated[str, Meta(min_length=1, max_length=200)]
Size = Annotated[str, Meta(min_length=1, max_length=20)]
Colour = Annotated[str, Meta(min_length=1, max_length=40)]
FreeText = Annotated[str, Meta(max_length=2000)]
Title = Annotated[str, Meta(min_length=1, max_length=200)]
Details = Annotated[str, Meta(max_length=5000)]
# Instants must carry their offset: a tablet's local wall-clock time is ambiguous.
Instant = Annotated[dt.datetime, Meta(tz=True)]

MAX_APPOINTMENT = dt.timedelta(hours=8)
MAX_SCHEDULE_WINDOW = dt.timedelta(days=62)
MAX_SNOOZE = dt.timedelta(days=365)


# --- Wishlist --------------------------------------------------------------------------


class WishlistItem(msgspec.Struct, rename="camel", kw_only=True):
    """A product the customer would like. Fields the caller may not read are null."""

    id: UUID
    customer_id: UUID
    sku: str | None
    product_name: str | None
    size: str | None
    colour: str | None
    notes: str | None
    fulfilled: bool | None
    fulfilled_at: dt.datetime | None
    added_by_id: UUID | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


class WishlistItemCreate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    sku: Sku
    product_name: ProductName
    size: Size | None = None
    colour: Colour | None = None
    notes: FreeText | None = None


class WishlistItemUpdate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Partial update: a field left out is untouched, ``null`` clears it."""

    fulfilled: bool | UnsetType = UNSET
    notes: FreeText | None | UnsetType = UNSET
    size: Size | None | UnsetType = UNSET
    colour: Colour | None | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__struct_fields__ if getattr(self, name) is not UNSET}


# --- Tasks -----------------------------------------------------------------------------

TaskKind = Literal["follow_up", "post_purchase", "birthday", "lapsed"]
TaskStatus = Literal["open", "snoozed", "done"]
TaskStatusFilter = Literal["open", "snoozed", "done", "all"]
TaskAction = Literal["complete", "reopen", "snooze", "reassign"]


class Task(msgspec.Struct, rename="camel", kw_only=True):
    """A follow-up for a seller. ``status`` is ``snoozed`` while ``snoozedUntil`` is ahead."""

    id: UUID
    customer_id: UUID | None
    store_id: UUID
    kind: str | None
    status: TaskStatus
    title: str | None
    details: str | None
    due_at: dt.datetime | None
    snoozed_until: dt.datetime | None
    completed_at: dt.datetime | None
    completed_by_id: UUID | None
    assignee_id: UUID | None
    created_by_id: UUID | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


class TaskCreate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A manual follow-up; ``assigneeId`` defaults to the caller (only managers assign others)."""

    title: Title
    due_at: Instant
    details: Details | None = None
    assignee_id: UUID | None = None


class TaskUpdate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """An optional action (``snooze`` needs ``until``, ``reassign`` needs ``assigneeId``) and/or
    edits of title, details and due date; applied all together or not at all."""

    action: TaskAction | UnsetType = UNSET
    until: Instant | UnsetType = UNSET
    assignee_id: UUID | UnsetType = UNSET
    title: Title | UnsetType = UNSET
    details: Details | None | UnsetType = UNSET
    due_at: Instant | UnsetType = UNSET

    def edits(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in ("title", "details", "due_at") if getattr(self, name) is not UNSET}


def task_status(completed_at: dt.datetime | None, snoozed_until: dt.datetime | None, now: dt.datetime) -> TaskStatus:
    if completed_at is not None:
        return "done"
    if snoozed_until is not None and snoozed_until > now:
        return "snoozed"
    return "open"


# --- Appointments ----------------------------------------------------------------------

AppointmentChannel = Literal["in_store", "video", "phone"]
AppointmentStatus = Literal["booked", "cancelled", "held", "no_show"]
AppointmentAction = Literal["reschedule", "cancel", "held", "no_show"]


class AppointmentOverlap(Conflict):
    code = "APPOINTMENT_OVERLAP"
    title = "The associate already has an appointment at that time"


class Appointment(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    customer_id: UUID
    associate_id: UUID | None
    store_id: UUID
    channel: str | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    status: str | None
    notes: str | None
    created_by_id: UUID | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


class AppointmentCreate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """``associateId`` defaults to the caller; ``storeId`` to the customer's home store."""

    starts_at: Instant
    ends_at: Instant
    channel: AppointmentChannel = "in_store"
    associate_id: UUID | None = None
    store_id: UUID | None = None
    notes: FreeText | None = None


class AppointmentUpdate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """``reschedule`` takes ``startsAt`` (and ``endsAt``, else the duration is kept); ``cancel``,
    ``held`` and ``no_show`` set the status. ``channel`` and ``notes`` may change with or
    without an action."""

    action: AppointmentAction | UnsetType = UNSET
    starts_at: Instant | UnsetType = UNSET
    ends_at: Instant | UnsetType = UNSET
    channel: AppointmentChannel | UnsetType = UNSET
    notes: FreeText | None | UnsetType = UNSET


def check_appointment_window(starts_at: dt.datetime, ends_at: dt.datetime, now: dt.datetime) -> None:
    """An appointment starts in the future, ends after it starts and lasts at most 8 hours."""
    if ends_at <= starts_at:
        raise ValidationFailed("endsAt must be after startsAt", extra={"field": "endsAt"})
    if ends_at - starts_at > MAX_APPOINTMENT:
        raise ValidationFailed("An appointment lasts at most 8 hours", extra={"field": "endsAt"})
    if starts_at <= now:
        raise ValidationFailed("startsAt must be in the future", extra={"field": "startsAt"})


# --- Birthdays -------------------------------------------------------------------------


def _celebrated_on(mmdd: int, year: int) -> dt.date | None:
    month, day = divmod(mmdd, 100)
    if month == 2 and day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)  # 29 February birthdays are celebrated on the 28th
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def upcoming_birthday(mmdd: int, today: dt.date, days: int) -> dt.date | None:
    """The date of the next birthday on or after ``today`` if it falls within ``days`` days
    (crossing into next year when needed), else None."""
    for year in (today.year, today.year + 1):
        date = _celebrated_on(mmdd, year)
        if date is not None and today <= date <= today + dt.timedelta(days=days):
            return date
    return None


def birthday_mmdd_window(today: dt.date, days: int) -> list[int]:
    """Every ``birth_mmdd`` value whose birthday falls in ``today .. today + days``."""
    values: set[int] = set()
    for offset in range(days + 1):
        date = today + dt.timedelta(days=offset)
        values.add(date.month * 100 + date.day)
        if date.month == 2 and date.day == 28 and not calendar.isleap(date.year):
            values.add(229)
    return sorted(values)
