"""Client books: a seller's own clients, a store's clients, the filters sellers work them
with, and a manager moving a book from one seller to another.

Lists are the caller's row scope (from the policy) narrowed by the filters, each customer
shown through the permission decision, and audited like any list. A filter may only use
what the caller's role may read: filtering on a hidden value would reveal it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import client_books as repo
from clienteling.repositories import customers as customer_repo
from clienteling.repositories import staff as staff_repo
from clienteling.services.audit import AuditTrail, visible_fields
from clienteling.services.customers import to_view, listing_position
from domain.client_books import ClientBookFilter, ReassignRequest, ReassignResult, lapsed_before
from domain.consent import active_purposes
from domain.customers import Customer
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.events import Event, customer_channel
from domain.pagination import Page, check_limit, encode_cursor
from domain.staff import Principal, Role
from domain.workflows import birthday_mmdd_window
from permissions import Policy, RecordContext, decide, row_scope

if TYPE_CHECKING:
    from clienteling.events import EventBus

__all__ = ["ClientBookService"]

_PURPOSE = "clienteling"

# filter -> (resource, field) the caller must be able to read for it, and its wire name.
_FILTER_NEEDS: dict[str, tuple[str, str, str]] = {
    "vip": ("customer", "vip", "vip"),
    "birthday_within_days": ("customer", "birthdate", "birthdayWithinDays"),
    "lapsed_days": ("purchase", "occurred_at", "lapsedDays"),
    "min_lifetime_value": ("purchase", "total", "minLifetimeValue"),
    "has_open_wishlist": ("wishlist", "sku", "hasOpenWishlist"),
}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _may_filter_on(policy: Policy, principal: Principal, resource: str, field: str) -> bool:
    """Readable at all by the role (masked counts: a masked birthdate still shows the day and
    month), and not behind a per-customer consent (whether it is would itself leak)."""
    rp = policy.resource(principal.role, resource)
    if rp is None:
        return False
    rule = rp.rule(field)
    if rule.consent or field in policy.consent_gates.get(resource, {}):
        return False
    return rule.access != "none" or (rule.in_book or "none") != "none"


class ClientBookService:
    def __init__(self, policies: PolicyStore, audit: AuditTrail, events: "EventBus | None" = None, *, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.policies = policies
        self.audit = audit
        self.events = events
        self._clock = clock or _utcnow

    # -- lists -------------------------------------------------------------------------------

    async def mine(self, principal: Principal, filters: ClientBookFilter, *, limit: int | None, cursor: str | None, limit_name: str = "limit") -> tuple[Page[Customer], list[str]]:
        """The caller's client book (customers whose primary or secondary associate they
        are), ordered by name, with a resumable cursor per item."""
        return await self._list(principal, repo.BookQuery(associate_id=principal.staff_id), filters, limit=limit, cursor=cursor, limit_name=limit_name)

    async def store_clients(self, principal: Principal, store_id: UUID, filters: ClientBookFilter, *, limit: int | None, cursor: str | None, limit_name: str = "limit") -> tuple[Page[Customer], list[str]]:
        """The clients of one store (its home-store customers), for its sellers and managers
        (and roles whose scope is every store)."""
        scope = row_scope(self.policies.current, principal, "customer")
        if scope.kind != "all" and store_id not in principal.store_ids:
            raise Forbidden("You may only list the clients of your own stores")
        if not await staff_repo.stores_by_ids([store_id]):
            raise NotFound("No such store")
        return await self._list(principal, repo.BookQuery(store_id=store_id), filters, limit=limit, cursor=cursor, limit_name=limit_name)

    async def _list(self, principal: Principal, query: repo.BookQuery, filters: ClientBookFilter, *, limit: int | None, cursor: str | None, limit_name: str) -> tuple[Page[Customer], list[str]]:
        policy = self.policies.current
        limit = check_limit(limit, limit_name)
        scope = row_scope(policy, principal, "customer")
        for name in filters.used():
            resource, field, wire = _FILTER_NEEDS[name]
            if not _may_filter_on(policy, principal, resource, field):
                raise Forbidden(f"Your role may not filter on {wire}", extra={"field": wire})
        now = self._clock()
        query.vip = filters.vip
        query.has_open_wishlist = filters.has_open_wishlist
        query.min_lifetime_value = filters.min_value()
        if filters.lapsed_days is not None:
            query.last_purchase_before = lapsed_before(now, filters.lapsed_days)
        if filters.birthday_within_days is not None:
            query.birthday_mmdd = birthday_mmdd_window(now.date(), filters.birthday_within_days)
        rows = await repo.page(scope, query, after=await self._after(cursor), limit=limit)
        if not rows:
            return Page(items=[], next_cursor=None), []
        more, rows = len(rows) > limit, rows[:limit]
        events = await customer_repo.consent_events([r["id"] for r in rows])
        items, fields = [], set()
        for row in rows:
            ctx = RecordContext(
                store_id=row["home_store"], primary_associate_id=row["primary_associate"],
                secondary_associate_id=row["secondary_associate"],
                consents=active_purposes(events.get(row["id"], []), now), restricted=row.get("restricted_at") is not None,
            )
            decision = decide(policy, principal, "customer", ctx)
            items.append(to_view(decision, row))
            fields.update(visible_fields(dict(decision.fields)))
        await self.audit.record(principal, action="list", customer_ids=[r["id"] for r in rows], fields=fields, purpose=_PURPOSE)
        cursors = [encode_cursor([str(r["id"])]) for r in rows]
        return Page(items=items, next_cursor=cursors[-1] if more else None), cursors

    @staticmethod
    async def _after(cursor: str | None) -> tuple[str, UUID] | None:
        return await listing_position(cursor)

    # -- reassigning a book ------------------------------------------------------------------

    async def reassign(self, principal: Principal, request: ReassignRequest) -> ReassignResult:
        """Move every client of ``storeId`` whose primary or secondary associate is
        ``fromAssociateId`` to ``toAssociateId``, all in one transaction and audited as one
        update. A customer never ends up with the same seller as primary and secondary (the
        secondary is cleared). Customers whose processing is restricted stay as they are."""
        policy = self.policies.current
        if not policy.allows(principal.role, "reassign_client_book"):
            raise Forbidden("Your role may not reassign client books")
        scope = row_scope(policy, principal, "customer")
        if scope.kind != "all" and request.store_id not in principal.store_ids:
            raise Forbidden("You may only reassign client books of your own stores")
        if request.from_associate_id == request.to_associate_id:
            raise ValidationFailed("fromAssociateId and toAssociateId are the same", extra={"field": "toAssociateId"})
        if not await staff_repo.stores_by_ids([request.store_id]):
            raise ValidationFailed("storeId does not name a store", extra={"field": "storeId"})
        target = await repo.seller_of_store(request.to_associate_id, request.store_id)
        if target is None or not target["active"] or target["role"] not in (Role.ASSOCIATE.value, Role.STORE_MANAGER.value):
            raise ValidationFailed("toAssociateId does not name an active seller of this store", extra={"field": "toAssociateId"})
        old, new = request.from_associate_id, request.to_associate_id
        now = self._clock()
        async with db.transaction():
            rows = await repo.book_in_store(scope, request.store_id, old)
            restricted = [r for r in rows if r["restricted_at"] is not None]
            rows = [r for r in rows if r["restricted_at"] is None]
            primary, to_secondary, cleared = [], [], []
            for r in rows:
                was_primary, was_secondary = r["primary_associate"], r["secondary_associate"]
                now_primary = new if was_primary == old else was_primary
                now_secondary = new if was_secondary == old else was_secondary
                if now_secondary == now_primary:
                    now_secondary = None  # never the same seller twice
                changing = []
                if now_primary != was_primary:
                    primary.append(r["id"])
                    changing.append("primary_associate_id")
                if now_secondary != was_secondary:
                    (to_secondary if now_secondary is not None else cleared).append(r["id"])
                    changing.append("secondary_associate_id")
                ctx = RecordContext(store_id=request.store_id, primary_associate_id=was_primary, secondary_associate_id=was_secondary)
                decide(policy, principal, "customer", ctx).check_write(changing)
            await repo.set_primary(primary, new)
            await repo.set_secondary(to_secondary, new)
            await repo.set_secondary(cleared, None)
            moved = sorted(set(primary) | set(to_secondary) | set(cleared), key=str)
            await repo.bump_versions(moved, now)
            fields = (["primary_associate_id"] if primary else []) + (["secondary_associate_id"] if to_secondary or cleared else [])
            if moved:
                await self.audit.record(principal, action="update", customer_ids=moved, fields=fields, purpose=_PURPOSE)
        await self._publish(moved, request.store_id, fields, now)
        return ReassignResult(
            moved=len(moved), primary_moved=len(primary), secondary_moved=len(to_secondary) + len(cleared),
            skipped_restricted=len(restricted), customer_ids=moved,
        )

    async def _publish(self, customer_ids: list[UUID], store_id: UUID, fields: list[str], at: dt.datetime) -> None:
        """Tell open 360 screens (after the commit; names only)."""
        if self.events is None:
            return
        for cid in customer_ids:
            event = Event(kind="customer_updated", occurred_at=at, customer_id=cid, store_id=store_id, fields=sorted(fields))
            await self.events.publish([customer_channel(cid)], event)
