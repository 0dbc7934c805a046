"""Wishlists: products a customer would like (reference, size, colour, the seller's notes),
marked fulfilled when the customer gets them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import wishlist as repo
from clienteling.services._keyset import after_instant, instant_cursor
from clienteling.services.audit import AuditTrail, visible_fields
from clienteling.services.customer_reach import ReachedCustomer, reach_customer, reach_customers
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.events import Event, customer_channel
from domain.pagination import Page, check_limit
from domain.staff import Principal
from domain.workflows import WishlistItem, WishlistItemCreate, WishlistItemUpdate
from permissions import Decision, RecordContext, decide, row_scope
from permissions.decision import check_create

if TYPE_CHECKING:
    from clienteling.events import EventBus

__all__ = ["WishlistService"]

_PURPOSE = "clienteling"


def _context(customer: ReachedCustomer) -> RecordContext:
    # A wishlist item has no store of its own: it lives in its customer's store and book.
    return RecordContext(
        store_id=customer.store_id, primary_associate_id=customer.primary_associate_id,
        secondary_associate_id=customer.secondary_associate_id, consents=customer.consents,
        restricted=customer.restricted,
    )


def _view(decision: Decision, row: dict[str, Any]) -> WishlistItem:
    values = {k: row[k] for k in ("sku", "product_name", "size", "colour", "notes", "fulfilled_at", "created_at", "updated_at")}
    values["added_by_id"] = row["added_by"]
    p = decision.project(values)
    return WishlistItem(
        id=row["id"], customer_id=row["customer"], sku=p["sku"], product_name=p["product_name"], size=p["size"],
        colour=p["colour"], notes=p["notes"], fulfilled=None if decision.fields["fulfilled_at"] == "none" else p["fulfilled_at"] is not None,
        fulfilled_at=p["fulfilled_at"], added_by_id=p["added_by_id"], created_at=p["created_at"], updated_at=p["updated_at"],
    )


def _read_fields(decision: Decision) -> list[str]:
    return [f"wishlist.{f}" for f in visible_fields(dict(decision.fields))]


class WishlistService:
    def __init__(self, policies: PolicyStore, audit: AuditTrail, events: "EventBus | None" = None) -> None:
        self.policies = policies
        self.audit = audit
        self.events = events

    async def add(self, principal: Principal, customer_id: UUID, data: WishlistItemCreate, *, record_id: UUID | None = None) -> WishlistItem:
        policy = self.policies.current
        customer = await reach_customer(policy, principal, customer_id, for_write=True, with_consents=True)
        fields = ["sku", "product_name"] + [f for f in ("size", "colour", "notes") if getattr(data, f) is not None]
        check_create(policy, principal, "wishlist", customer.store_id, fields, customer.consents)
        now = dt.datetime.now(dt.timezone.utc)
        values = {
            "id": record_id or uuid4(), "customer": customer_id, "sku": data.sku.strip(), "product_name": data.product_name.strip(),
            "size": data.size, "colour": data.colour, "notes": data.notes, "added_by": principal.staff_id,
            "fulfilled_at": None, "created_at": now, "updated_at": now, "deleted_at": None,
        }
        if not values["sku"] or not values["product_name"]:
            raise ValidationFailed("sku and productName must not be blank", extra={"field": "sku" if not values["sku"] else "productName"})
        async with db.transaction():
            await repo.insert(values)
            await self.audit.record(principal, action="wishlist_write", customer_ids=[customer_id], fields=[f"wishlist.{f}" for f in fields], purpose=_PURPOSE, reference=str(values["id"]))
        await self._publish(customer, now)
        return _view(decide(policy, principal, "wishlist", _context(customer)), values)

    async def update(self, principal: Principal, item_id: UUID, data: WishlistItemUpdate, *, customer_id: UUID | None = None) -> WishlistItem:
        """Mark fulfilled (or not) and change notes, size or colour; all or nothing."""
        policy = self.policies.current
        row, customer, decision = await self._open(principal, item_id, customer_id)
        changes = data.changes()
        if not changes:
            raise ValidationFailed("Nothing to change: send fulfilled, notes, size or colour")
        now = dt.datetime.now(dt.timezone.utc)
        fields = ["fulfilled_at" if f == "fulfilled" else f for f in changes]
        decision.check_write(fields)
        values: dict[str, Any] = {}
        for field, value in changes.items():
            if field == "fulfilled":
                if value != (row["fulfilled_at"] is not None):
                    values["fulfilled_at"] = now if value else None
            else:
                values[field] = value
        values["updated_at"] = now
        async with db.transaction():
            await repo.update(item_id, values)
            await self.audit.record(principal, action="wishlist_write", customer_ids=[customer.id], fields=[f"wishlist.{f}" for f in fields], purpose=_PURPOSE, reference=str(item_id))
        await self._publish(customer, now)
        return _view(decide(policy, principal, "wishlist", _context(customer)), {**row, **values})

    async def remove(self, principal: Principal, item_id: UUID, *, customer_id: UUID | None = None) -> None:
        """Take an item off the wishlist (kept, soft-deleted, for the customer's export)."""
        _, customer, decision = await self._open(principal, item_id, customer_id)
        decision.check_write(["sku", "product_name"])
        now = dt.datetime.now(dt.timezone.utc)
        async with db.transaction():
            await repo.update(item_id, {"deleted_at": now, "updated_at": now})
            await self.audit.record(principal, action="wishlist_write", customer_ids=[customer.id], fields=["wishlist.deleted_at"], purpose=_PURPOSE, reference=str(item_id))
        await self._publish(customer, now)

    async def page(self, principal: Principal, customer_id: UUID, *, limit: int | None, cursor: str | None) -> Page[WishlistItem]:
        """One customer's wishlist, newest first, a page at a time."""
        policy = self.policies.current
        limit = check_limit(limit)
        after = after_instant(cursor)
        row_scope(policy, principal, "wishlist")
        customer = await reach_customer(policy, principal, customer_id, with_consents=True)
        decision = decide(policy, principal, "wishlist", _context(customer))
        rows = await repo.page(customer_id, after=after, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        if rows:
            await self.audit.record(principal, action="wishlist_read", customer_ids=[customer_id], fields=_read_fields(decision), purpose=_PURPOSE)
        next_cursor = instant_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
        return Page(items=[_view(decision, r) for r in rows], next_cursor=next_cursor)

    async def for_customers(self, principal: Principal, customer_ids: list[UUID]) -> dict[UUID, list[WishlistItem]]:
        """Visible wishlists of several customers in three queries (for dataloaders).
        Customers the caller cannot reach get an empty list; a role without wishlist access
        gets :class:`Forbidden`."""
        policy = self.policies.current
        row_scope(policy, principal, "wishlist")
        reached = await reach_customers(policy, principal, customer_ids, with_consents=True)
        rows = await repo.for_customers(list(reached))
        out: dict[UUID, list[WishlistItem]] = {cid: [] for cid in customer_ids}
        fields: set[str] = set()
        for cid, items in rows.items():
            if not items:
                continue
            try:
                decision = decide(policy, principal, "wishlist", _context(reached[cid]))
            except Forbidden:
                continue
            out[cid] = [_view(decision, r) for r in items]
            fields.update(_read_fields(decision))
        read = [cid for cid, items in out.items() if items]
        if read:
            await self.audit.record(principal, action="wishlist_read", customer_ids=read, fields=sorted(fields), purpose=_PURPOSE)
        return out

    async def _open(self, principal: Principal, item_id: UUID, customer_id: UUID | None) -> tuple[dict[str, Any], ReachedCustomer, Decision]:
        """The item, its customer (reached for a write) and the caller's decision; 404 when
        the item does not exist, belongs to another customer or is out of reach."""
        policy = self.policies.current
        row = await repo.get(item_id)
        if row is None or (customer_id is not None and row["customer"] != customer_id):
            raise NotFound("No such wishlist item")
        row_scope(policy, principal, "wishlist")
        try:
            customer = await reach_customer(policy, principal, row["customer"], for_write=True, with_consents=True)
        except NotFound:
            raise NotFound("No such wishlist item") from None
        try:
            decision = decide(policy, principal, "wishlist", _context(customer))
        except Forbidden:
            raise NotFound("No such wishlist item") from None
        return row, customer, decision

    async def _publish(self, customer: ReachedCustomer, now: dt.datetime) -> None:
        """Tell open 360 screens the wishlist changed (after commit; names only)."""
        if self.events is not None:
            event = Event(kind="customer_updated", occurred_at=now, customer_id=customer.id, store_id=customer.store_id, fields=["wishlist"])
            await self.events.publish([customer_channel(customer.id)], event)
