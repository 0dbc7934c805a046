"""GraphQL types of the workflows area, built from permission-filtered domain views."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Optional

import strawberry

from domain import workflows as dw
from graphql_schema.customers.types import PageInfo

__all__ = [
    "WishlistItem", "Task", "TaskEdge", "TaskConnection", "Appointment",
    "TaskStatus", "TaskStatusFilter", "TaskAction", "AppointmentChannel", "AppointmentStatus", "AppointmentAction",
    "WishlistItemInput", "WishlistItemUpdateInput", "TaskInput", "TaskUpdateInput",
    "AppointmentInput", "AppointmentUpdateInput",
]


def _id(value: Any) -> Optional[strawberry.ID]:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.enum(description="open: to do now; snoozed: hidden until snoozedUntil; done: completed.")
class TaskStatus(enum.Enum):
    OPEN = "open"
    SNOOZED = "snoozed"
    DONE = "done"


@strawberry.enum(description="Which tasks to list.")
class TaskStatusFilter(enum.Enum):
    OPEN = "open"
    SNOOZED = "snoozed"
    DONE = "done"
    ALL = "all"


@strawberry.enum
class TaskAction(enum.Enum):
    COMPLETE = "complete"
    REOPEN = "reopen"
    SNOOZE = "snooze"
    REASSIGN = "reassign"


@strawberry.enum
class AppointmentChannel(enum.Enum):
    IN_STORE = "in_store"
    VIDEO = "video"
    PHONE = "phone"


@strawberry.enum
class AppointmentStatus(enum.Enum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    HELD = "held"
    NO_SHOW = "no_show"


@strawberry.enum(description="reschedule (startsAt, endsAt?), cancel, or record the outcome once started: held, no_show.")
class AppointmentAction(enum.Enum):
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    HELD = "held"
    NO_SHOW = "no_show"


@strawberry.type(description="A product the customer would like. Fields the caller may not read are null.")
class WishlistItem:
    id: strawberry.ID
    customer_id: strawberry.ID
    sku: Optional[str]
    product_name: Optional[str]
    size: Optional[str] = strawberry.field(description="Null without the customer's personalization consent.")
    colour: Optional[str]
    notes: Optional[str]
    fulfilled: Optional[bool]
    fulfilled_at: Optional[dt.datetime]
    added_by_id: Optional[strawberry.ID]
    created_at: Optional[dt.datetime]
    updated_at: Optional[dt.datetime]

    @classmethod
    def of(cls, w: dw.WishlistItem) -> "WishlistItem":
        return cls(
            id=strawberry.ID(str(w.id)), customer_id=strawberry.ID(str(w.customer_id)), sku=w.sku,
            product_name=w.product_name, size=w.size, colour=w.colour, notes=w.notes, fulfilled=w.fulfilled,
            fulfilled_at=w.fulfilled_at, added_by_id=_id(w.added_by_id), created_at=w.created_at, updated_at=w.updated_at,
        )


@strawberry.type(description="A follow-up for a seller: manual, or automatic (post_purchase, birthday, lapsed).")
class Task:
    id: strawberry.ID
    customer_id: Optional[strawberry.ID]
    store_id: strawberry.ID
    kind: Optional[str]
    status: TaskStatus
    title: Optional[str]
    details: Optional[str]
    due_at: Optional[dt.datetime]
    snoozed_until: Optional[dt.datetime]
    completed_at: Optional[dt.datetime]
    completed_by_id: Optional[strawberry.ID]
    assignee_id: Optional[strawberry.ID]
    created_by_id: Optional[strawberry.ID] = strawberry.field(description="Null for automatic tasks.")
    created_at: Optional[dt.datetime]
    updated_at: Optional[dt.datetime]

    @classmethod
    def of(cls, t: dw.Task) -> "Task":
        return cls(
            id=strawberry.ID(str(t.id)), customer_id=_id(t.customer_id), store_id=strawberry.ID(str(t.store_id)),
            kind=t.kind, status=TaskStatus(t.status), title=t.title, details=t.details, due_at=t.due_at,
            snoozed_until=t.snoozed_until, completed_at=t.completed_at, completed_by_id=_id(t.completed_by_id),
            assignee_id=_id(t.assignee_id), created_by_id=_id(t.created_by_id), created_at=t.created_at, updated_at=t.updated_at,
        )


@strawberry.type
class TaskEdge:
    cursor: str
    node: Task


@strawberry.type(description="A page of tasks by due date (Relay-style cursor connection).")
class TaskConnection:
    edges: list[TaskEdge]
    page_info: PageInfo


@strawberry.type(description="A customer's time with an associate: in store, by video or by phone.")
class Appointment:
    id: strawberry.ID
    customer_id: strawberry.ID
    associate_id: Optional[strawberry.ID]
    store_id: strawberry.ID
    channel: Optional[AppointmentChannel]
    starts_at: Optional[dt.datetime]
    ends_at: Optional[dt.datetime]
    status: Optional[AppointmentStatus]
    notes: Optional[str]
    created_by_id: Optional[strawberry.ID]
    created_at: Optional[dt.datetime]
    updated_at: Optional[dt.datetime]

    @classmethod
    def of(cls, a: dw.Appointment) -> "Appointment":
        return cls(
            id=strawberry.ID(str(a.id)), customer_id=strawberry.ID(str(a.customer_id)), associate_id=_id(a.associate_id),
            store_id=strawberry.ID(str(a.store_id)), channel=AppointmentChannel(a.channel) if a.channel else None,
            starts_at=a.starts_at, ends_at=a.ends_at, status=AppointmentStatus(a.status) if a.status else None, notes=a.notes, created_by_id=_id(a.created_by_id), created_at=a.created_at, updated_at=a.updated_at,
        )


@strawberry.input
class WishlistItemInput:
    sku: str
    product_name: str
    size: Optional[str] = None
    colour: Optional[str] = None
    notes: Optional[str] = None


@strawberry.input(description="A partial update: omitted fields stay as they are; null clears a field.")
class WishlistItemUpdateInput:
    fulfilled: Optional[bool] = strawberry.UNSET
    notes: Optional[str] = strawberry.UNSET
    size: Optional[str] = strawberry.UNSET
    colour: Optional[str] = strawberry.UNSET


@strawberry.input(description="A follow-up for yourself; managers may name another assigneeId.")
class TaskInput:
    title: str
    due_at: dt.datetime
    details: Optional[str] = None
    assignee_id: Optional[strawberry.ID] = None


@strawberry.input(description="An action (snooze needs until, reassign needs assigneeId) and/or edits.")
class TaskUpdateInput:
    action: Optional[TaskAction] = strawberry.UNSET
    until: Optional[dt.datetime] = strawberry.UNSET
    assignee_id: Optional[strawberry.ID] = strawberry.UNSET
    title: Optional[str] = strawberry.UNSET
    details: Optional[str] = strawberry.UNSET
    due_at: Optional[dt.datetime] = strawberry.UNSET


@strawberry.input(description="In the future, at most 8 hours; with yourself unless a manager names associateId.")
class AppointmentInput:
    starts_at: dt.datetime
    ends_at: dt.datetime
    channel: AppointmentChannel = AppointmentChannel.IN_STORE
    associate_id: Optional[strawberry.ID] = None
    store_id: Optional[strawberry.ID] = None
    notes: Optional[str] = None


@strawberry.input
class AppointmentUpdateInput:
    action: Optional[AppointmentAction] = strawberry.UNSET
    starts_at: Optional[dt.datetime] = strawberry.UNSET
    ends_at: Optional[dt.datetime] = strawberry.UNSET
    channel: Optional[AppointmentChannel] = strawberry.UNSET
    notes: Optional[str] = strawberry.UNSET
