"""Tasks and follow-ups: a seller's to-do list about their customers. Manual tasks, and
automatic ones before a birthday and when a client lapses (:func:`generate_due_tasks`,
defined in :mod:`clienteling.services.due_tasks` and re-exported here).

Who may do what, beyond the field policy: the assignee works their own task (complete,
reopen, snooze, edit); anyone in the store may take a task for themselves; only holders of
the ``assign_work`` capability (managers) give a task to someone else, work on other
people's tasks and list them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import msgspec

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import sellers as seller_repo
from clienteling.repositories import tasks as repo
from clienteling.services._keyset import after_instant, instant_cursor
from clienteling.services.audit import AuditTrail, visible_fields
from clienteling.services.customer_reach import ReachedCustomer, reach_customer, reach_customers
from clienteling.services.due_tasks import DueTasksReport, generate_due_tasks, task_assigned
from domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from domain.events import Event, customer_channel, store_channel
from domain.pagination import Page, check_limit
from domain.staff import Principal
from domain.workflows import MAX_SNOOZE, Task, TaskCreate, TaskUpdate, task_status
from permissions import Decision, RecordContext, decide, row_scope
from permissions.decision import check_create

if TYPE_CHECKING:
    from clienteling.events import EventBus

__all__ = ["TaskService", "DueTasksReport", "generate_due_tasks"]

_PURPOSE = "clienteling"
_STATUSES = ("open", "snoozed", "done", "all")
_EDITABLE = ("title", "details", "due_at")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _context(row: dict[str, Any], customer: ReachedCustomer | None) -> RecordContext:
    # The task lives in its own store; its assignee stands where a client book's owner does.
    return RecordContext(store_id=row["store"], primary_associate_id=row["assignee"], restricted=bool(customer and customer.restricted))


def _view(decision: Decision, row: dict[str, Any], now: dt.datetime) -> Task:
    values = {k: row[k] for k in ("kind", "title", "details", "due_at", "snoozed_until", "completed_at", "created_at", "updated_at")}
    values.update(completed_by_id=row["completed_by"], assignee_id=row["assignee"], created_by_id=row["created_by"])
    p = decision.project(values)
    return Task(
        id=row["id"], customer_id=row["customer"], store_id=row["store"], kind=p["kind"],
        status=task_status(row["completed_at"], row["snoozed_until"], now), title=p["title"], details=p["details"],
        due_at=p["due_at"], snoozed_until=p["snoozed_until"], completed_at=p["completed_at"],
        completed_by_id=p["completed_by_id"], assignee_id=p["assignee_id"], created_by_id=p["created_by_id"],
        created_at=p["created_at"], updated_at=p["updated_at"],
    )


class TaskService:
    def __init__(self, policies: PolicyStore, audit: AuditTrail, events: "EventBus | None" = None) -> None:
        self.policies = policies
        self.audit = audit
        self.events = events

    # -- writes ------------------------------------------------------------------------

    async def create(self, principal: Principal, customer_id: UUID, data: TaskCreate, *, record_id: UUID | None = None) -> Task:
        """A manual follow-up about a customer, in the customer's store, for the caller or
        (managers only) for another seller of that store."""
        policy = self.policies.current
        customer = await reach_customer(policy, principal, customer_id, for_write=True)
        assignee = data.assignee_id or principal.staff_id
        self._may_assign(principal, assignee)
        fields = ["title", "due_at", "assignee_id"] + (["details"] if data.details else [])
        check_create(policy, principal, "task", customer.store_id, fields)
        await self._check_assignee(assignee, customer.store_id)
        title = data.title.strip()
        if not title:
            raise ValidationFailed("title must not be blank", extra={"field": "title"})
        now = _now()
        row = {
            "id": record_id or uuid4(), "customer": customer_id, "store": customer.store_id, "assignee": assignee,
            "created_by": principal.staff_id, "kind": "follow_up", "title": title, "details": data.details,
            "due_at": data.due_at.astimezone(dt.timezone.utc), "snoozed_until": None, "completed_at": None, "completed_by": None,
            "source_ref": None, "created_at": now, "updated_at": now, "deleted_at": None,
        }
        async with db.transaction():
            await repo.insert(row)
            await self.audit.record(principal, action="task_write", customer_ids=[customer_id], fields=[f"task.{f}" for f in fields], purpose=_PURPOSE, reference=str(row["id"]))
        await self._publish_assigned(row, now)
        return _view(decide(policy, principal, "task", _context(row, customer)), row, now)

    async def update(self, principal: Principal, task_id: UUID, data: TaskUpdate) -> Task:
        """Apply one action (complete, reopen, snooze, reassign) and/or edits, all or nothing."""
        policy = self.policies.current
        row, customer, decision = await self._open(principal, task_id)
        now = _now()
        is_assignee = row["assignee"] == principal.staff_id
        manages = policy.allows(principal.role, "assign_work")
        if data.action != "snooze" and data.until is not msgspec.UNSET:
            raise ValidationFailed("until goes with the snooze action", extra={"field": "until"})
        if data.action != "reassign" and data.assignee_id is not msgspec.UNSET:
            raise ValidationFailed("assigneeId goes with the reassign action", extra={"field": "assigneeId"})
        done = row["completed_at"] is not None
        values: dict[str, Any] = {}
        fields: list[str] = []
        reassigned = False

        def own_or_manage(what: str) -> None:
            if not (is_assignee or manages):
                raise Forbidden(f"Only the assignee or a manager may {what} this task")

        if data.action == "complete":
            own_or_manage("complete")
            if done:
                raise Conflict("The task is already done")
            values.update(completed_at=now, completed_by=principal.staff_id, snoozed_until=None)
            fields += ["completed_at", "completed_by_id"]
        elif data.action == "reopen":
            own_or_manage("reopen")
            if not done:
                raise Conflict("The task is not done")
            values.update(completed_at=None, completed_by=None)
            fields += ["completed_at", "completed_by_id"]
        elif data.action == "snooze":
            own_or_manage("snooze")
            if done:
                raise Conflict("A task that is done cannot be snoozed")
            until = data.until
            if until is msgspec.UNSET:
                raise ValidationFailed("snooze needs until", extra={"field": "until"})
            if until <= now:
                raise ValidationFailed("until must be in the future", extra={"field": "until"})
            if until - now > MAX_SNOOZE:
                raise ValidationFailed("A task can be snoozed for at most a year", extra={"field": "until"})
            values["snoozed_until"] = until.astimezone(dt.timezone.utc)
            fields.append("snoozed_until")
        elif data.action == "reassign":
            target = data.assignee_id
            if target is msgspec.UNSET:
                raise ValidationFailed("reassign needs assigneeId", extra={"field": "assigneeId"})
            if done:
                raise Conflict("A task that is done cannot be reassigned")
            self._may_assign(principal, target)
            if target != row["assignee"]:
                await self._check_assignee(target, row["store"])
                values["assignee"] = target
                fields.append("assignee_id")
                reassigned = True
        edits = data.edits()
        if edits:
            own_or_manage("edit")
            if "due_at" in edits:
                edits["due_at"] = edits["due_at"].astimezone(dt.timezone.utc)  # type: ignore[attr-defined]
            if "title" in edits:
                edits["title"] = str(edits["title"]).strip()
                if not edits["title"]:
                    raise ValidationFailed("title must not be blank", extra={"field": "title"})
            values.update(edits)
            fields += list(edits)
        if data.action is msgspec.UNSET and not edits:
            raise ValidationFailed("Nothing to change: send an action (complete, reopen, snooze, reassign) or title, details, dueAt")
        decision.check_write(fields)
        if values:
            values["updated_at"] = now
            async with db.transaction():
                await repo.update(task_id, values)
                await self.audit.record(principal, action="task_write", customer_ids=[row["customer"]] if row["customer"] else [], fields=[f"task.{f}" for f in fields], purpose=_PURPOSE, reference=str(task_id))
        else:  # nothing changed (reassigned to the current assignee): still a read
            await self._audit_read(principal, [(row, decision)])
        row = {**row, **values}
        if reassigned:
            await self._publish_assigned(row, now)
        return _view(decision, row, now)

    # -- reads -------------------------------------------------------------------------

    async def get(self, principal: Principal, task_id: UUID) -> Task:
        row, customer, decision = await self._open(principal, task_id, for_write=False)
        await self._audit_read(principal, [(row, decision)])
        return _view(decision, row, _now())

    async def list(
        self,
        principal: Principal,
        *,
        assignee: str | None = None,
        status: str | None = "open",
        due_before: dt.datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        limit_name: str = "limit",
    ) -> Page[Task]:
        page, _ = await self.list_with_cursors(principal, assignee=assignee, status=status, due_before=due_before, limit=limit, cursor=cursor, limit_name=limit_name)
        return page

    async def list_with_cursors(
        self,
        principal: Principal,
        *,
        assignee: str | None = None,
        status: str | None = "open",
        due_before: dt.datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        limit_name: str = "limit",
    ) -> tuple[Page[Task], list[str]]:
        """Tasks by due date: the caller's own (``assignee`` ``me``, the default for
        sellers), another seller's, or every task of the caller's stores (the default for
        managers). Also a resumable cursor per item (GraphQL edges)."""
        policy = self.policies.current
        limit = check_limit(limit, limit_name)
        status = self._status(status)
        after = after_instant(cursor)
        scope = row_scope(policy, principal, "task")
        manages = policy.allows(principal.role, "assign_work")
        who: UUID | None
        if assignee is None:
            who = None if manages else principal.staff_id
        elif assignee == "me":
            who = principal.staff_id
        else:
            try:
                who = UUID(assignee)
            except ValueError:
                raise ValidationFailed("assignee must be me or a staff id", extra={"field": "assignee"}) from None
            if who != principal.staff_id and not manages:
                raise Forbidden("Only managers may list someone else's tasks")
        if scope.kind == "assigned":
            who = principal.staff_id
        stores = None if scope.kind == "all" else sorted(principal.store_ids, key=str)
        if due_before is not None and due_before.tzinfo is None:
            raise ValidationFailed("dueBefore needs a time zone (e.g. 2026-11-23T10:00:00Z)", extra={"field": "dueBefore"})
        now = _now()
        rows = await repo.page(store_ids=stores, assignee=who, customer=None, status=status, now=now, due_before=due_before, after=after, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        visible = await self._visible(principal, rows)
        await self._audit_read(principal, visible)
        cursors = [instant_cursor(r["due_at"], r["id"]) for r, _ in visible]
        next_cursor = instant_cursor(rows[-1]["due_at"], rows[-1]["id"]) if more else None
        return Page(items=[_view(d, r, now) for r, d in visible], next_cursor=next_cursor), cursors

    async def customer_page(self, principal: Principal, customer_id: UUID, *, status: str | None = "all", limit: int | None = None, cursor: str | None = None) -> Page[Task]:
        """One customer's tasks by due date, a page at a time."""
        policy = self.policies.current
        limit = check_limit(limit)
        status = self._status(status)
        after = after_instant(cursor)
        row_scope(policy, principal, "task")
        customer = await reach_customer(policy, principal, customer_id)
        now = _now()
        rows = await repo.page(store_ids=None, assignee=None, customer=customer_id, status=status, now=now, due_before=None, after=after, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        visible = []
        for r in rows:
            try:
                visible.append((r, decide(policy, principal, "task", _context(r, customer))))
            except Forbidden:
                continue
        await self._audit_read(principal, visible)
        next_cursor = instant_cursor(rows[-1]["due_at"], rows[-1]["id"]) if more else None
        return Page(items=[_view(d, r, now) for r, d in visible], next_cursor=next_cursor)

    async def open_for_customers(self, principal: Principal, customer_ids: list[UUID]) -> dict[UUID, list[Task]]:
        """Tasks not done yet (snoozed included), soonest due first, of several customers in
        two queries (for dataloaders). Unreachable customers get an empty list; a role
        without task access gets :class:`Forbidden`."""
        policy = self.policies.current
        row_scope(policy, principal, "task")
        reached = await reach_customers(policy, principal, customer_ids)
        rows = await repo.open_for_customers(list(reached))
        out: dict[UUID, list[Task]] = {cid: [] for cid in customer_ids}
        visible = []
        now = _now()
        for cid, tasks in rows.items():
            for r in tasks:
                try:
                    decision = decide(policy, principal, "task", _context(r, reached[cid]))
                except Forbidden:
                    continue
                visible.append((r, decision))
                out[cid].append(_view(decision, r, now))
        await self._audit_read(principal, visible)
        return out

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _status(status: str | None) -> str:
        status = status or "open"
        if status not in _STATUSES:
            raise ValidationFailed(f"status must be one of: {', '.join(_STATUSES)}", extra={"field": "status"})
        return status

    def _may_assign(self, principal: Principal, assignee: UUID) -> None:
        if assignee != principal.staff_id and not self.policies.current.allows(principal.role, "assign_work"):
            raise Forbidden("Only managers may give a task to someone else; you may take it yourself")

    @staticmethod
    async def _check_assignee(assignee: UUID, store_id: UUID) -> None:
        if not await seller_repo.is_active_seller_in_store(assignee, store_id):
            raise ValidationFailed("The assignee must be an active associate or manager of the task's store", extra={"field": "assigneeId"})

    async def _open(self, principal: Principal, task_id: UUID, *, for_write: bool = True) -> tuple[dict[str, Any], ReachedCustomer | None, Decision]:
        """The task, its customer and the caller's decision; 404 when out of reach."""
        policy = self.policies.current
        row = await repo.get(task_id)
        if row is None:
            raise NotFound("No such task")
        row_scope(policy, principal, "task")
        customer = None
        if row["customer"] is not None:
            try:
                customer = await reach_customer(policy, principal, row["customer"], for_write=for_write)
            except NotFound:
                raise NotFound("No such task") from None
        try:
            decision = decide(policy, principal, "task", _context(row, customer))
        except Forbidden:
            raise NotFound("No such task") from None
        return row, customer, decision

    async def _visible(self, principal: Principal, rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Decision]]:
        """The rows whose customer the caller reaches and whose own decision allows them."""
        policy = self.policies.current
        reached = await reach_customers(policy, principal, [r["customer"] for r in rows if r["customer"] is not None])
        out = []
        for r in rows:
            customer = None
            if r["customer"] is not None:
                customer = reached.get(r["customer"])
                if customer is None:
                    continue
            try:
                out.append((r, decide(policy, principal, "task", _context(r, customer))))
            except Forbidden:
                continue
        return out

    async def _audit_read(self, principal: Principal, visible: list[tuple[dict[str, Any], Decision]]) -> None:
        if not visible:
            return
        fields: set[str] = set()
        for _, decision in visible:
            fields.update(f"task.{f}" for f in visible_fields(dict(decision.fields)))
        customers = {r["customer"] for r, _ in visible if r["customer"] is not None}
        await self.audit.record(principal, action="task_read", customer_ids=customers, fields=sorted(fields), purpose=_PURPOSE)

    async def _publish_assigned(self, row: dict[str, Any], now: dt.datetime) -> None:
        """Alert the assignee (and the store's managers) through the store channel, after commit."""
        if self.events is not None:
            await self.events.publish([store_channel(row["store"])], task_assigned(row, now))
            if row["customer"] is not None:
                changed = Event(kind="customer_updated", occurred_at=now, customer_id=row["customer"], store_id=row["store"], fields=["tasks"])
                await self.events.publish([customer_channel(row["customer"])], changed)
