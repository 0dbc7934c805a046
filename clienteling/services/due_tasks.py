"""Automatic tasks: before a customer's birthday and when a client lapses, for their primary
associate. Run by the app's background loop (:mod:`clienteling.services.task_scheduler`)
and by ``clienteling tasks generate``."""

from __future__ import annotations

import asyncio
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

__all__ = ["CHUNK_SIZE", "DueTasksReport", "generate_due_tasks", "task_assigned"]

log = logging.getLogger("clienteling.tasks")

_PURPOSE = "clienteling"

# Tasks written per transaction. The commit stamps each row for offline sync (one update of
# the shared counter row per task) while the chunk's audit entry holds the chain lock, so
# this bounds how long every other audited request can wait on a large first run.
CHUNK_SIZE = 1000


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


async def _candidates(now: dt.datetime, *, birthday_days: int, lapsed_days: int) -> list[dict[str, Any]]:
    """Every automatic task due at ``now``, created or not, ordered by ``source_ref`` (so
    processes racing on the same rows take their locks in the same order)."""
    today = now.astimezone(dt.timezone.utc).date()
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
    candidates.sort(key=lambda r: r["source_ref"])
    return candidates


async def _create_chunk(rows: list[dict[str, Any]], audit: AuditTrail) -> list[dict[str, Any]]:
    """One transaction: insert ``rows`` (those another process created meanwhile are
    skipped) and audit the ones created, the audit entry last so the chain lock is held
    only for the commit. Returns the rows created."""
    async with db.transaction():
        inserted = await repo.insert_automatic(rows)
        created = [r for r in rows if r["source_ref"] in inserted]
        if created:
            await audit.record(
                None, action="task_write", customer_ids=[r["customer"] for r in created],
                fields=["task.kind", "task.title", "task.due_at", "task.assignee_id"], purpose=_PURPOSE,
                surface="system", operation="generate_due_tasks",
            )
    return created


async def generate_due_tasks(
    now: dt.datetime,
    *,
    birthday_days: int = 7,
    lapsed_days: int = 180,
    audit: AuditTrail | None = None,
    events: "EventBus | None" = None,
    chunk_size: int = CHUNK_SIZE,
) -> DueTasksReport:
    """Create the automatic tasks due at ``now``, for each customer's primary associate:

    - ``birthday``: the birthday falls within the next ``birthday_days`` days (across New
      Year too); due at the start of the birthday in the store's time zone; one per
      customer and birthday year (``birthday:<customer>:<year>``);
    - ``lapsed``: no purchase for more than ``lapsed_days`` days; due a week later; one per
      lapse, named by the month of the last purchase (``lapsed:<customer>:<yyyy-mm>``), so a
      client who stays away is not re-raised every month.

    Skips customers without an active primary associate, erased or restricted ones.
    The new tasks are written ``chunk_size`` per transaction, each committed with its own
    ``task_write`` audit entry by the system (actor None) naming that chunk's customers
    before the next begins, so a first run over a large book never holds the audit chain
    lock for long. Idempotent and restart-safe: the unique ``source_ref`` makes a task exist
    at most once, so a run stopped between chunks leaves the rest to the next one, and runs
    from any number of processes create nothing twice (on PostgreSQL one runs at a time, the
    others skip). Each new task is announced to its store as ``task_assigned`` once its
    chunk has committed."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if birthday_days < 0 or lapsed_days < 1:
        raise ValueError("birthday_days must be >= 0 and lapsed_days >= 1")
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    audit = audit or AuditTrail(PolicyStore())
    counts = {"birthday": 0, "lapsed": 0}
    async with repo.generation_turn() as ours:
        if not ours:
            return DueTasksReport(skipped=True)
        candidates = await _candidates(now, birthday_days=birthday_days, lapsed_days=lapsed_days)
        existing = await repo.existing_refs([r["source_ref"] for r in candidates])
        new = [r for r in candidates if r["source_ref"] not in existing]
        for start in range(0, len(new), chunk_size):
            created = await _create_chunk(new[start:start + chunk_size], audit)
            for r in created:
                counts[r["kind"]] += 1
            if events is not None:
                for r in created:
                    await events.publish([store_channel(r["store"])], task_assigned(r, now))
            # Let the serving process answer requests between chunks.
            await asyncio.sleep(0)
    report = DueTasksReport(birthday=counts["birthday"], lapsed=counts["lapsed"])
    if report.birthday or report.lapsed:
        log.info("automatic tasks created: %d birthday, %d lapsed", report.birthday, report.lapsed)
    return report
