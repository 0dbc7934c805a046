"""Appointments: a customer's time with an associate, in store, by video or by phone.

An associate's booked appointments never overlap: the check and the insert run in one
transaction holding that associate's diary lock, so two concurrent bookings cannot both
pass. Anyone in the store may reschedule, cancel or record the outcome of an appointment
(customers call the store, not the seller); only holders of ``assign_work`` (managers)
book for someone else."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import appointments as repo
from clienteling.repositories import sellers as seller_repo
from clienteling.services._keyset import after_instant, instant_cursor
from clienteling.services.audit import AuditTrail, visible_fields
from clienteling.services.customer_reach import ReachedCustomer, reach_customer, reach_customers
from domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from domain.events import Event, customer_channel
from domain.pagination import Page, check_limit
from domain.staff import Principal
from domain.workflows import (
    MAX_SCHEDULE_WINDOW,
    Appointment,
    AppointmentCreate,
    AppointmentOverlap,
    AppointmentUpdate,
    check_appointment_window,
)
from msgspec import UNSET
from permissions import Decision, RecordContext, decide, row_scope
from permissions.decision import check_create

if TYPE_CHECKING:
    from clienteling.events import EventBus

__all__ = ["AppointmentService"]

_PURPOSE = "clienteling"
UTC = dt.timezone.utc
_DEFAULT_WINDOW = dt.timedelta(days=7)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _context(row: dict[str, Any], customer: ReachedCustomer | None) -> RecordContext:
    # The appointment lives in its own store; its associate stands where a book's owner does.
    return RecordContext(store_id=row["store"], primary_associate_id=row["associate"], restricted=bool(customer and customer.restricted))


def _view(decision: Decision, row: dict[str, Any]) -> Appointment:
    values = {k: row[k] for k in ("channel", "starts_at", "ends_at", "status", "notes", "created_at", "updated_at")}
    values.update(associate_id=row["associate"], created_by_id=row["created_by"])
    p = decision.project(values)
    return Appointment(
        id=row["id"], customer_id=row["customer"], associate_id=p["associate_id"], store_id=row["store"],
        channel=p["channel"], starts_at=p["starts_at"], ends_at=p["ends_at"], status=p["status"], notes=p["notes"],
        created_by_id=p["created_by_id"], created_at=p["created_at"], updated_at=p["updated_at"],
    )


class AppointmentService:
    def __init__(self, policies: PolicyStore, audit: AuditTrail, events: "EventBus | None" = None) -> None:
        self.policies = policies
        self.audit = audit
        self.events = events

    # -- writes ------------------------------------------------------------------------

    async def book(self, principal: Principal, customer_id: UUID, data: AppointmentCreate, *, record_id: UUID | None = None) -> Appointment:
        """Book a customer with an associate (the caller unless a manager names another);
        409 ``APPOINTMENT_OVERLAP`` when the associate is already booked at that time."""
        policy = self.policies.current
        customer = await reach_customer(policy, principal, customer_id, for_write=True)
        now = _now()
        starts, ends = data.starts_at.astimezone(UTC), data.ends_at.astimezone(UTC)
        check_appointment_window(starts, ends, now)
        store_id = data.store_id or customer.store_id
        associate = data.associate_id or principal.staff_id
        if associate != principal.staff_id and not policy.allows(principal.role, "assign_work"):
            raise Forbidden("Only managers may book appointments for someone else")
        fields = ["channel", "starts_at", "ends_at", "associate_id"] + (["notes"] if data.notes else [])
        check_create(policy, principal, "appointment", store_id, fields)
        if not await seller_repo.is_active_seller_in_store(associate, store_id):
            raise ValidationFailed("The associate must be an active associate or manager of the appointment's store", extra={"field": "associateId"})
        row = {
            "id": record_id or uuid4(), "customer": customer_id, "associate": associate, "store": store_id, "channel": data.channel,
            "starts_at": starts, "ends_at": ends, "status": "booked", "notes": data.notes,
            "created_by": principal.staff_id, "created_at": now, "updated_at": now,
        }
        async with db.transaction():
            await repo.lock_associate(associate)
            if await repo.overlaps(associate, starts, ends):
                raise AppointmentOverlap("The associate already has an appointment at that time")
            await repo.insert(row)
            await self.audit.record(principal, action="appointment_write", customer_ids=[customer_id], fields=[f"appointment.{f}" for f in fields], purpose=_PURPOSE, reference=str(row["id"]))
        await self._publish(row, now)
        return _view(decide(policy, principal, "appointment", _context(row, customer)), row)

    async def update(self, principal: Principal, appointment_id: UUID, data: AppointmentUpdate) -> Appointment:
        """Reschedule, cancel, or record that it was held or a no-show; channel and notes
        may change too. All or nothing."""
        row, customer, decision = await self._open(principal, appointment_id)
        now = _now()
        values: dict[str, Any] = {}
        fields: list[str] = []
        action = data.action
        if action != "reschedule" and (data.starts_at is not UNSET or data.ends_at is not UNSET):
            raise ValidationFailed("startsAt and endsAt go with the reschedule action", extra={"field": "startsAt"})
        if action == "reschedule":
            if row["status"] != "booked":
                raise Conflict(f"Only a booked appointment can be rescheduled (this one is {row['status']})")
            if data.starts_at is UNSET:
                raise ValidationFailed("reschedule needs startsAt", extra={"field": "startsAt"})
            starts = data.starts_at.astimezone(UTC)
            ends = data.ends_at.astimezone(UTC) if data.ends_at is not UNSET else starts + (row["ends_at"] - row["starts_at"])
            check_appointment_window(starts, ends, now)
            values.update(starts_at=starts, ends_at=ends, reminded_at=None)
            fields += ["starts_at", "ends_at"]
        elif action == "cancel":
            if row["status"] != "booked":
                raise Conflict(f"Only a booked appointment can be cancelled (this one is {row['status']})")
            values["status"] = "cancelled"
            fields.append("status")
        elif action in ("held", "no_show"):
            if row["status"] == "cancelled":
                raise Conflict("The appointment was cancelled")
            if row["starts_at"] > now:
                raise Conflict("The appointment has not started yet")
            values["status"] = action
            fields.append("status")
        for field in ("channel", "notes"):
            value = getattr(data, field)
            if value is not UNSET:
                values[field] = value
                fields.append(field)
        if not fields:
            raise ValidationFailed("Nothing to change: send an action (reschedule, cancel, held, no_show), channel or notes")
        decision.check_write(fields)
        values["updated_at"] = now
        async with db.transaction():
            if action == "reschedule":
                await repo.lock_associate(row["associate"])
                if await repo.overlaps(row["associate"], values["starts_at"], values["ends_at"], exclude=appointment_id):
                    raise AppointmentOverlap("The associate already has an appointment at that time")
            await repo.update(appointment_id, values)
            await self.audit.record(principal, action="appointment_write", customer_ids=[row["customer"]], fields=[f"appointment.{f}" for f in fields], purpose=_PURPOSE, reference=str(appointment_id))
        row = {**row, **values}
        await self._publish(row, now)
        return _view(decision, row)

    # -- reads -------------------------------------------------------------------------

    async def get(self, principal: Principal, appointment_id: UUID) -> Appointment:
        row, _, decision = await self._open(principal, appointment_id, for_write=False)
        await self._audit_read(principal, [(row, decision)])
        return _view(decision, row)

    async def customer_page(self, principal: Principal, customer_id: UUID, *, limit: int | None = None, cursor: str | None = None) -> Page[Appointment]:
        """One customer's appointments, latest first, a page at a time."""
        policy = self.policies.current
        limit = check_limit(limit)
        after = after_instant(cursor)
        row_scope(policy, principal, "appointment")
        customer = await reach_customer(policy, principal, customer_id)
        rows = await repo.customer_page(customer_id, after=after, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        visible = []
        for r in rows:
            try:
                visible.append((r, decide(policy, principal, "appointment", _context(r, customer))))
            except Forbidden:
                continue
        await self._audit_read(principal, visible)
        next_cursor = instant_cursor(rows[-1]["starts_at"], rows[-1]["id"]) if more else None
        return Page(items=[_view(d, r) for r, d in visible], next_cursor=next_cursor)

    async def schedule(
        self,
        principal: Principal,
        *,
        associate: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        limit_name: str = "limit",
    ) -> Page[Appointment]:
        """One associate's diary (``me`` by default) between ``since`` (default: the start of
        today, UTC) and ``until`` (default: a week later; at most 62 days), earliest first,
        every status. Colleagues' diaries are visible within the caller's stores."""
        policy = self.policies.current
        limit = check_limit(limit, limit_name)
        after = after_instant(cursor)
        scope = row_scope(policy, principal, "appointment")
        if associate in (None, "me"):
            who = principal.staff_id
        else:
            try:
                who = UUID(str(associate))
            except ValueError:
                raise ValidationFailed("associate must be me or a staff id", extra={"field": "associate"}) from None
            if scope.kind == "assigned" and who != principal.staff_id:
                raise Forbidden("You may only see your own schedule")
        for name, value in (("from", since), ("to", until)):
            if value is not None and value.tzinfo is None:
                raise ValidationFailed(f"{name} needs a time zone (e.g. 2026-11-23T10:00:00Z)", extra={"field": name})
        now = _now()
        since = since or now.replace(hour=0, minute=0, second=0, microsecond=0)
        until = until or since + _DEFAULT_WINDOW
        if until <= since:
            raise ValidationFailed("to must be after from", extra={"field": "to"})
        if until - since > MAX_SCHEDULE_WINDOW:
            raise ValidationFailed("A schedule covers at most 62 days", extra={"field": "to"})
        stores = None if scope.kind == "all" else sorted(principal.store_ids, key=str)
        rows = await repo.schedule(associate_id=who, store_ids=stores, since=since, until=until, after=after, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        reached = await reach_customers(policy, principal, [r["customer"] for r in rows])
        visible = []
        for r in rows:
            customer = reached.get(r["customer"])
            if customer is None:
                continue
            try:
                visible.append((r, decide(policy, principal, "appointment", _context(r, customer))))
            except Forbidden:
                continue
        await self._audit_read(principal, visible)
        next_cursor = instant_cursor(rows[-1]["starts_at"], rows[-1]["id"]) if more else None
        return Page(items=[_view(d, r) for r, d in visible], next_cursor=next_cursor)

    async def upcoming_for_customers(self, principal: Principal, customer_ids: list[UUID]) -> dict[UUID, list[Appointment]]:
        """Booked appointments not over yet, earliest first, of several customers in two
        queries (for dataloaders). Unreachable customers get an empty list; a role without
        appointment access gets :class:`Forbidden`."""
        policy = self.policies.current
        row_scope(policy, principal, "appointment")
        reached = await reach_customers(policy, principal, customer_ids)
        rows = await repo.upcoming_for_customers(list(reached), _now())
        out: dict[UUID, list[Appointment]] = {cid: [] for cid in customer_ids}
        visible = []
        for cid, items in rows.items():
            for r in items:
                try:
                    decision = decide(policy, principal, "appointment", _context(r, reached[cid]))
                except Forbidden:
                    continue
                visible.append((r, decision))
                out[cid].append(_view(decision, r))
        await self._audit_read(principal, visible)
        return out

    # -- helpers -----------------------------------------------------------------------

    async def _open(self, principal: Principal, appointment_id: UUID, *, for_write: bool = True) -> tuple[dict[str, Any], ReachedCustomer, Decision]:
        """The appointment, its customer and the caller's decision; 404 when out of reach."""
        policy = self.policies.current
        row = await repo.get(appointment_id)
        if row is None:
            raise NotFound("No such appointment")
        row_scope(policy, principal, "appointment")
        try:
            customer = await reach_customer(policy, principal, row["customer"], for_write=for_write)
            decision = decide(policy, principal, "appointment", _context(row, customer))
        except (NotFound, Forbidden) as exc:
            if isinstance(exc, Forbidden) and exc.code != "FORBIDDEN":
                raise  # processing restricted: the caller does see the appointment
            raise NotFound("No such appointment") from None
        return row, customer, decision

    async def _audit_read(self, principal: Principal, visible: list[tuple[dict[str, Any], Decision]]) -> None:
        if not visible:
            return
        fields: set[str] = set()
        for _, decision in visible:
            fields.update(f"appointment.{f}" for f in visible_fields(dict(decision.fields)))
        await self.audit.record(principal, action="appointment_read", customer_ids={r["customer"] for r, _ in visible}, fields=sorted(fields), purpose=_PURPOSE)

    async def _publish(self, row: dict[str, Any], now: dt.datetime) -> None:
        """Tell open 360 screens the customer's appointments changed (after commit)."""
        if self.events is not None:
            event = Event(kind="customer_updated", occurred_at=now, customer_id=row["customer"], store_id=row["store"], fields=["appointments"])
            await self.events.publish([customer_channel(row["customer"])], event)
