"""Automatic tasks: before a customer's birthday and when a client lapses, for their primary
associate. Run by the app's background loop (:mod:`clienteling.services.task_scheduler`)
and by ``clienteling tasks generate``."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any
from uuid import uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import tasks as repo
from clienteling.services.audit import AuditTrail
from domain.events import Event, store_channel
from domain.workflows import birthday_mmdd_window, upcoming_birthday

if TYPE_CHECKING:
    from clienteling.events import EventBus

__all__ = ["DueTasksReport", "generate_due_tasks", "task_assigned"]

log = logging.getLogger("clienteling.tasks")

_PURPOSE = "clienteling"


def task_assigned(row: dict[str, Any], now: dt.datetime) -> Event:
    """The real-time event for a task row just given to its assignee (ids only)."""
    return Event(kind="task_assigned", occurred_at=now, staff_id=row["assignee"], store_id=row["store"], ref_id=row["id"], customer_id=row["customer"])


class DueTasksReport(msgspec.Struct, rename="camel", frozen=True):
    """What one run created; ``skipped`` when another process was already running it."""

    birthday: int = 0
    lapsed: int = 0
    skipped: bool = False


def _local_midnight(date: dt.date, timezone: str | None) -> dt.datetime:
    try:
        tz: dt.tzinfo = ZoneInfo(timezone) if timezone else dt.timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        tz = dt.timezone.utc
    return dt.datetime.combine(date, dt.time(0, 0), tzinfo=tz).astimezone(dt.timezone.utc)


def _task_row(*, customer: dict[str, Any], kind: str, title: str, due_at: dt.datetime, source_ref: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": uuid4(), "customer": customer["id"], "store": customer["home_store"], "assignee": customer["primary_associate"],
        "created_by": None, "kind": kind, "title": title, "details": None, "due_at": due_at, "snoozed_until": None,
        "completed_at": None, "completed_by": None, "source_ref": source_ref, "created_at": now, "updated_at": now,
        "deleted_at": None,
    }


async def generate_due_tasks(
    now: dt.datetime,
    *,
    birthday_days: int = 7,
    lapsed_days: int = 180,
    audit: AuditTrail | None = None,
    events: "EventBus | None" = None,
) -> DueTasksReport:
    """Create the automatic tasks due at ``now``, for each customer's primary associate:

    - ``birthday``: the birthday falls within the next ``birthday_days`` days (across New
      Year too); due at the start of the birthday in the store's time zone; one per
      customer and birthday year (``birthday:<customer>:<year>``);
    - ``lapsed``: no purchase for more than ``lapsed_days`` days; due a week later; one per
      lapse, named by the month of the last purchase (``lapsed:<customer>:<yyyy-mm>``), so a
      client who stays away is not re-raised every month.

    Skips customers without an active primary associate, erased or restricted ones.
    Idempotent: running it again (from any number of processes; on PostgreSQL one runs at a
    time, the others skip) creates nothing twice. Audited as one ``task_write`` by the
    system (actor None); each new task is announced to its store as ``task_assigned``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if birthday_days < 0 or lapsed_days < 1:
        raise ValueError("birthday_days must be >= 0 and lapsed_days >= 1")
    audit = audit or AuditTrail(PolicyStore())
    today = now.astimezone(dt.timezone.utc).date()
    async with db.transaction():
        if not await repo.try_generation_lock():
            return DueTasksReport(skipped=True)
        candidates: list[dict[str, Any]] = []
        for c in await repo.birthday_customers(birthday_mmdd_window(today, birthday_days)):
            birthday = upcoming_birthday(c["birth_mmdd"], today, birthday_days)
            if birthday is None:
                continue
            candidates.append(_task_row(
                customer=c, kind="birthday", title=f"Birthday on {birthday:%d %b}: send your wishes",
                due_at=_local_midnight(birthday, c["store_timezone"]), source_ref=f"birthday:{c['id']}:{birthday.year}", now=now,
            ))
        for c in await repo.lapsed_customers(now - dt.timedelta(days=lapsed_days)):
            last = c["last_purchase_at"].astimezone(dt.timezone.utc)
            candidates.append(_task_row(
                customer=c, kind="lapsed", title=f"No purchase since {last:%d %b %Y}: get back in touch",
                due_at=now + dt.timedelta(days=7), source_ref=f"lapsed:{c['id']}:{last:%Y-%m}", now=now,
            ))
        existing = await repo.existing_refs([r["source_ref"] for r in candidates])
        new = [r for r in candidates if r["source_ref"] not in existing]
        if new:
            await repo.insert_automatic(new)
            await audit.record(
                None, action="task_write", customer_ids=[r["customer"] for r in new],
                fields=["task.kind", "task.title", "task.due_at", "task.assignee_id"], purpose=_PURPOSE,
                surface="system", operation="generate_due_tasks",
            )
    if events is not None:
        for r in new:
            await events.publish([store_channel(r["store"])], task_assigned(r, now))
    report = DueTasksReport(birthday=sum(r["kind"] == "birthday" for r in new), lapsed=sum(r["kind"] == "lapsed" for r in new))
    if new:
        log.info("automatic tasks created: %d birthday, %d lapsed", report.birthday, report.lapsed)
    return report
