"""Break-glass: open one customer outside your scope by stating why."""

from __future__ import annotations

import datetime as dt
from uuid import UUID, uuid4

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import break_glass as repo
from clienteling.repositories import customers as customer_repo
from clienteling.services.audit import AuditTrail
from domain.break_glass import BreakGlassGrant
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.staff import Principal
from permissions import RecordContext, decide

__all__ = ["BreakGlassService"]


def _grant(row: dict, now: dt.datetime) -> BreakGlassGrant:
    return BreakGlassGrant(
        id=row["id"], staff_id=row["staff"], customer_id=row["customer"], store_id=row["store"],
        reason=row["reason"], created_at=row["created_at"], expires_at=row["expires_at"], active=row["expires_at"] > now,
    )


class BreakGlassService:
    def __init__(self, policies: PolicyStore, audit: AuditTrail) -> None:
        self.policies = policies
        self.audit = audit

    async def open(self, principal: Principal, customer_id: UUID, reason: str) -> BreakGlassGrant | None:
        """Grant the caller read access to one customer outside their scope for the policy's
        number of minutes, recording the reason. ``None`` when the customer is already in
        scope (nothing to record)."""
        policy = self.policies.current
        rules = policy.break_glass
        if principal.role.value not in rules.roles:
            raise Forbidden("Your role may not use break-glass access")
        reason = " ".join(reason.split())
        if len(reason) < rules.min_reason_length:
            raise ValidationFailed(
                f"Give a reason of at least {rules.min_reason_length} characters", extra={"field": "reason"}
            )
        row = await customer_repo.get(customer_id)
        if row is None:
            raise NotFound("No such customer")
        ctx = RecordContext(store_id=row["home_store"], primary_associate_id=row["primary_associate"], secondary_associate_id=row["secondary_associate"])
        try:
            decide(policy, principal, "customer", ctx)
            return None
        except Forbidden:
            pass
        now = dt.datetime.now(dt.timezone.utc)
        values = {
            "id": uuid4(), "staff": principal.staff_id, "customer": customer_id, "store": row["home_store"],
            "reason": reason, "created_at": now, "expires_at": now + dt.timedelta(minutes=rules.minutes),
        }
        async with db.transaction():
            await repo.insert(values)
            # The reason stays in the grant (erasable); the chain references the grant id.
            await self.audit.record(principal, action="break_glass", customer_ids=[customer_id], purpose="break_glass", reference=str(values["id"]))
        return _grant(values, now)

    async def active_grant(self, principal: Principal, customer_id: UUID) -> UUID | None:
        """The id of the caller's live grant for this customer, if any."""
        if principal.role.value not in self.policies.current.break_glass.roles:
            return None
        return await repo.active_grant(principal.staff_id, customer_id, dt.datetime.now(dt.timezone.utc))

    async def log(self, principal: Principal, *, limit: int | None, cursor: str | None) -> Page[BreakGlassGrant]:
        """Grants, newest first. Roles with ``view_break_glass_log`` see those of their
        scope (managers: their stores' customers); everyone else sees only their own."""
        policy = self.policies.current
        limit = check_limit(limit)
        after = None
        if cursor:
            at, last = decode_cursor(cursor, 2)
            try:
                after = (dt.datetime.fromisoformat(str(at)), UUID(str(last)))
            except ValueError:
                raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None
        if policy.allows(principal.role, "view_break_glass_log"):
            scope = policy.resource(principal.role, "customer")
            stores = None if scope is not None and scope.scope == "all" else list(principal.store_ids)
            rows = await repo.page(store_ids=stores, staff_id=None, after=after, limit=limit)
        else:
            rows = await repo.page(store_ids=None, staff_id=principal.staff_id, after=after, limit=limit)
        now = dt.datetime.now(dt.timezone.utc)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1]["created_at"].isoformat(), str(rows[-1]["id"])]) if more else None
        return Page(items=[_grant(r, now) for r in rows], next_cursor=next_cursor)
