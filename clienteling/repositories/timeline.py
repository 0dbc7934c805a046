"""The events of a customer's timeline, one statement per kind for any number of customers,
each bounded per customer. Only the columns the timeline shows are read: free text (note
bodies, task titles and details, appointment notes) never leaves the database here."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from clienteling.repositories.recent import newest_per_customer
from clienteling.tables import Appointment, CheckIn, ConsentRecord, Note, Purchase, PurchaseReturn, Task

__all__ = ["purchases", "returns", "notes", "check_ins", "appointments", "completed_tasks", "consent_answers"]

Rows = dict[UUID, list[dict[str, Any]]]


async def purchases(customer_ids: list[UUID], limit: int) -> Rows:
    return await newest_per_customer(Purchase, customer_ids=customer_ids, columns=("occurred_at", "channel", "currency", "total"), order_by="occurred_at", limit=limit)


async def returns(customer_ids: list[UUID], limit: int) -> Rows:
    return await newest_per_customer(PurchaseReturn, customer_ids=customer_ids, columns=("occurred_at", "currency", "total"), order_by="occurred_at", limit=limit)


async def notes(customer_ids: list[UUID], limit: int, *, reader: UUID) -> Rows:
    """Live notes the ``reader`` may see: shared ones, and private ones they wrote."""
    return await newest_per_customer(
        Note, customer_ids=customer_ids, columns=("created_at", "author", "pinned", "visibility"), order_by="created_at",
        limit=limit, where='"deleted_at" IS NULL AND ("visibility" = {} OR "author" = {})', args=("shared", reader),
    )


async def check_ins(customer_ids: list[UUID], limit: int) -> Rows:
    return await newest_per_customer(CheckIn, customer_ids=customer_ids, columns=("occurred_at", "store"), order_by="occurred_at", limit=limit)


async def appointments(customer_ids: list[UUID], limit: int, *, until: dt.datetime) -> Rows:
    """Appointments that have started by ``until`` (upcoming ones are not history)."""
    return await newest_per_customer(
        Appointment, customer_ids=customer_ids, columns=("starts_at", "store", "status", "channel"), order_by="starts_at",
        limit=limit, where='"starts_at" <= {}', args=(until,),
    )


async def completed_tasks(customer_ids: list[UUID], limit: int) -> Rows:
    return await newest_per_customer(
        Task, customer_ids=customer_ids, columns=("completed_at", "store", "kind"), order_by="completed_at",
        limit=limit, where='"completed_at" IS NOT NULL AND "deleted_at" IS NULL',
    )


async def consent_answers(customer_ids: list[UUID], limit: int) -> Rows:
    return await newest_per_customer(ConsentRecord, customer_ids=customer_ids, columns=("occurred_at", "purpose", "status"), order_by="occurred_at", limit=limit)
