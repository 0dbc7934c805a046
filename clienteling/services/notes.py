"""Notes: sellers' memory of a customer. Private notes are visible to their author only."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from uuid import UUID, uuid4

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import notes as repo
from clienteling.services import customer_rows
from clienteling.services.audit import AuditTrail
from domain.errors import Forbidden, NotFound, ProcessingRestricted, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.events import Event, customer_channel
from domain.notes import Note, NoteCreate
from domain.staff import Principal
from permissions import RecordContext, decide, row_scope
from permissions.decision import check_create

if TYPE_CHECKING:
    from clienteling.events import EventBus

__all__ = ["NoteService"]


class _NoteEdit(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)] = ""
    pinned: bool = False
    visibility: Literal["shared", "private"] = "shared"


def _to_note(row: dict[str, Any], projected: dict[str, Any]) -> Note:
    return Note(
        id=row["id"], customer_id=row["customer"], author_id=projected["author_id"],
        body=projected["body"], pinned=projected["pinned"], visibility=projected["visibility"],
        created_at=projected["created_at"], updated_at=projected["updated_at"],
    )


class NoteService:
    def __init__(self, policies: PolicyStore, audit: AuditTrail, events: "EventBus | None" = None) -> None:
        self.policies = policies
        self.audit = audit
        self.events = events

    async def _customer_store(self, principal: Principal, customer_id: UUID, *, for_write: bool = False) -> UUID:
        """The customer's store, if the caller can reach the customer at all; for a write,
        also refuses customers whose processing is restricted (GDPR Art. 18)."""
        row = await customer_rows.get(customer_id)
        if row is None:
            raise NotFound("No such customer")
        ctx = RecordContext(store_id=row["home_store"], primary_associate_id=row["primary_associate"], secondary_associate_id=row["secondary_associate"])
        try:
            decide(self.policies.current, principal, "customer", ctx)
        except Forbidden:
            raise NotFound("No such customer") from None
        if for_write and row.get("restricted_at") is not None:
            raise ProcessingRestricted()
        return row["home_store"]

    async def add(self, principal: Principal, customer_id: UUID, data: NoteCreate, *, record_id: UUID | None = None) -> Note:
        store_id = await self._customer_store(principal, customer_id, for_write=True)
        fields = ["body"] + (["pinned"] if data.pinned else []) + (["visibility"] if data.visibility != "shared" else [])
        check_create(self.policies.current, principal, "note", store_id, fields)
        now = dt.datetime.now(dt.timezone.utc)
        note_id = record_id or uuid4()
        values = {
            "id": note_id, "customer": customer_id, "author": principal.staff_id, "body": data.body,
            "pinned": data.pinned, "visibility": data.visibility, "created_at": now, "updated_at": now,
        }
        async with db.transaction():
            await repo.insert(values)
            await self.audit.record(principal, action="note_create", customer_ids=[customer_id], fields=[f"note.{f}" for f in fields], purpose="clienteling")
        row = await repo.get(note_id)
        assert row is not None
        if self.events is not None and data.visibility == "shared":
            event = Event(kind="customer_updated", occurred_at=now, customer_id=customer_id, store_id=store_id, fields=["notes"], ref_id=note_id)
            await self.events.publish([customer_channel(customer_id)], event)
        return self._view(principal, store_id, row)

    async def list_for(self, principal: Principal, customer_ids: list[UUID], *, limit_each: int | None = None) -> dict[UUID, list[Note]]:
        """Visible notes of several customers in two queries (for dataloaders). Customers the
        caller cannot reach get an empty list; notes the caller may not see are left out."""
        policy = self.policies.current
        row_scope(policy, principal, "note")
        reachable: dict[UUID, UUID] = {}
        for row in await customer_rows.get_many(customer_ids):
            ctx = RecordContext(store_id=row["home_store"], primary_associate_id=row["primary_associate"], secondary_associate_id=row["secondary_associate"])
            try:
                decide(policy, principal, "customer", ctx)
            except Forbidden:
                continue
            reachable[row["id"]] = row["home_store"]
        rows = await repo.for_customers(list(reachable))
        out: dict[UUID, list[Note]] = {cid: [] for cid in customer_ids}
        for cid, notes in rows.items():
            for row in notes:
                try:
                    out[cid].append(self._view(principal, reachable[cid], row))
                except Forbidden:
                    continue
                if limit_each is not None and len(out[cid]) >= limit_each:
                    break
        read = [cid for cid, notes in out.items() if notes]
        if read:
            await self.audit.record(principal, action="note_read", customer_ids=read, fields=["note.body"], purpose="clienteling")
        return out

    async def page(self, principal: Principal, customer_id: UUID, *, limit: int | None, cursor: str | None) -> Page[Note]:
        """Visible notes of one customer, pinned first then newest, a page at a time. The
        cursor is the id of the last note of the previous page."""
        limit = check_limit(limit)
        after: UUID | None = None
        if cursor:
            (raw,) = decode_cursor(cursor, 1)
            try:
                after = UUID(str(raw))
            except ValueError:
                raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None
        row_scope(self.policies.current, principal, "note")
        await self._customer_store(principal, customer_id)
        notes = (await self.list_for(principal, [customer_id]))[customer_id]
        if after is not None:
            ids = [n.id for n in notes]
            if after not in ids:
                raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"})
            notes = notes[ids.index(after) + 1:]
        more = len(notes) > limit
        notes = notes[:limit]
        return Page(items=notes, next_cursor=encode_cursor([str(notes[-1].id)]) if more else None)

    async def edit(self, principal: Principal, note_id: UUID, changes: dict[str, Any]) -> Note:
        """Change a note's ``body``, ``pinned`` or ``visibility`` (snake-case keys). Only its
        author may: a note is a seller's own words."""
        row = await repo.get(note_id)
        if row is None:
            raise NotFound("No such note")
        store_id = await self._customer_store(principal, row["customer"], for_write=True)
        ctx = RecordContext(store_id=store_id, author_id=row["author"], private=row["visibility"] == "private")
        decision = decide(self.policies.current, principal, "note", ctx)
        if row["author"] != principal.staff_id:
            raise Forbidden("Only the author may change a note")
        data = msgspec.convert({k: v for k, v in changes.items()}, _NoteEdit)
        values = {k: getattr(data, k) for k in changes}
        if not values:
            return self._view(principal, store_id, row)
        decision.check_write(values)
        values["updated_at"] = dt.datetime.now(dt.timezone.utc)
        async with db.transaction():
            await repo.update(note_id, values)
            await self.audit.record(principal, action="note_write", customer_ids=[row["customer"]], fields=[f"note.{f}" for f in changes], purpose="clienteling")
        return self._view(principal, store_id, {**row, **values})

    async def delete(self, principal: Principal, note_id: UUID) -> None:
        """Soft-delete a note (its author only); tablets receive a tombstone."""
        row = await repo.get(note_id)
        if row is None:
            return  # already gone: deleting is idempotent
        await self._customer_store(principal, row["customer"], for_write=True)
        if row["author"] != principal.staff_id:
            raise Forbidden("Only the author may delete a note")
        now = dt.datetime.now(dt.timezone.utc)
        async with db.transaction():
            await repo.update(note_id, {"deleted_at": now, "updated_at": now})
            await self.audit.record(principal, action="note_delete", customer_ids=[row["customer"]], fields=["note.body"], purpose="clienteling")

    def _view(self, principal: Principal, store_id: UUID, row: dict[str, Any]) -> Note:
        ctx = RecordContext(store_id=store_id, author_id=row["author"], private=row["visibility"] == "private")
        decision = decide(self.policies.current, principal, "note", ctx)
        values = {k: row[k] for k in ("body", "pinned", "visibility", "created_at", "updated_at")}
        values["author_id"] = row["author"]
        return _to_note(row, decision.project(values))
