"""Push subscriptions of members (loyalty notifications) and staff devices (store alerts),
and the operator's view of deliveries: counts by status and event type, dead letters,
replay.

A subscription's endpoint is a capability URL (whoever knows it can push to the device): it
is stored but never listed back in full, nor logged; lists show the push service's origin."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from uuid import UUID

import msgspec

from clienteling import db
from clienteling.repositories import push as repo
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.push import PushDisabled, SubscriptionIn, SubscriptionView, validate_subscription
from domain.staff import Principal

if TYPE_CHECKING:
    from clienteling.services.audit import AuditTrail
    from clienteling.services.members import MemberPrincipal
    from clienteling.policy_store import PolicyStore

__all__ = ["PushService", "PushConfig", "DeliveryStats", "DeadLetter"]


class PushConfig(msgspec.Struct, frozen=True, kw_only=True):
    public_key: str | None  # None: push is not configured
    allow_http_loopback: bool = False


class DeliveryStats(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    by_status: dict[str, int]
    by_event_type: dict[str, dict[str, int]]
    outbox_pending: int
    oldest_outbox_event_age_seconds: float | None


class DeadLetter(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    id: UUID
    event_type: str
    event_id: UUID
    subscription_id: UUID | None
    customer_id: UUID | None
    staff_id: UUID | None
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    failed_at: dt.datetime


def _hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()


def _view(row: dict[str, Any]) -> SubscriptionView:
    parsed = urlparse(row["endpoint"])
    return SubscriptionView(
        id=row["id"], endpoint_origin=f"{parsed.scheme}://{parsed.netloc}", expiration_time=row["expiration_time"],
        created_at=row["created_at"], last_delivered_at=row["last_delivered_at"],
    )


class PushService:
    def __init__(self, config: PushConfig, audit: "AuditTrail", policies: "PolicyStore") -> None:
        self.config = config
        self.audit = audit
        self.policies = policies

    def vapid_public_key(self) -> str:
        if not self.config.public_key:
            raise PushDisabled()
        return self.config.public_key

    def _check(self, data: SubscriptionIn) -> dt.datetime | None:
        if not self.config.public_key:
            raise PushDisabled()
        return validate_subscription(data, allow_http_loopback=self.config.allow_http_loopback)

    # --- members ------------------------------------------------------------------------------

    async def subscribe_member(self, member: "MemberPrincipal", data: SubscriptionIn) -> tuple[SubscriptionView, bool]:
        expires = self._check(data)
        async with db.transaction():
            sub_id, created = await repo.upsert_subscription(
                endpoint=data.endpoint, endpoint_hash=_hash(data.endpoint), p256dh=data.keys.p256dh, auth=data.keys.auth,
                expiration_time=expires, customer=member.customer_id, staff=None,
            )
            await self._audit_member(member, "create" if created else "update", "POST /api/v1/members/me/push-subscriptions")
        row = await repo.subscription(sub_id)
        assert row is not None
        return _view(row), created

    async def member_subscriptions(self, member: "MemberPrincipal") -> list[SubscriptionView]:
        rows = await repo.subscriptions_of(customer=member.customer_id)
        await self._audit_member(member, "read", "GET /api/v1/members/me/push-subscriptions")
        return [_view(r) for r in rows]

    async def unsubscribe_member(self, member: "MemberPrincipal", *, sub_id: UUID | None = None, endpoint: str | None = None) -> None:
        async with db.transaction():
            if sub_id is not None:
                gone = await repo.delete_subscription(sub_id, customer=member.customer_id)
            elif endpoint:
                gone = await repo.delete_subscription_by_endpoint(_hash(endpoint), customer=member.customer_id)
            else:
                raise ValidationFailed("Name the subscription by id or by ?endpoint=", extra={"field": "endpoint"})
            if not gone:
                raise NotFound("No such push subscription")
            await self._audit_member(member, "delete", "DELETE /api/v1/members/me/push-subscriptions")

    async def _audit_member(self, member: "MemberPrincipal", action: str, operation: str) -> None:
        await self.audit.record(
            None, action=action, customer_ids=[member.customer_id], fields=["push_subscription"], surface="member",
            operation=operation, purpose="member_self_service", reference=f"member:{member.member_id}",
        )

    # --- staff devices (store alerts) ---------------------------------------------------------

    async def subscribe_staff(self, principal: Principal, data: SubscriptionIn) -> tuple[SubscriptionView, bool]:
        expires = self._check(data)
        async with db.transaction():
            sub_id, created = await repo.upsert_subscription(
                endpoint=data.endpoint, endpoint_hash=_hash(data.endpoint), p256dh=data.keys.p256dh, auth=data.keys.auth,
                expiration_time=expires, customer=None, staff=principal.staff_id,
            )
        row = await repo.subscription(sub_id)
        assert row is not None
        return _view(row), created

    async def staff_subscriptions(self, principal: Principal) -> list[SubscriptionView]:
        return [_view(r) for r in await repo.subscriptions_of(staff=principal.staff_id)]

    async def unsubscribe_staff(self, principal: Principal, sub_id: UUID) -> None:
        if not await repo.delete_subscription(sub_id, staff=principal.staff_id):
            raise NotFound("No such push subscription")

    # --- operators ----------------------------------------------------------------------------

    def _require_operator(self, principal: Principal) -> None:
        if not self.policies.current.allows(principal.role, "operate_push"):
            raise Forbidden("Your role may not operate push delivery")

    async def stats(self, principal: Principal) -> DeliveryStats:
        from clienteling.repositories import outbox as outbox_repo

        self._require_operator(principal)
        by_status: dict[str, int] = {}
        by_type: dict[str, dict[str, int]] = {}
        for r in await repo.stats():
            by_status[r["status"]] = by_status.get(r["status"], 0) + int(r["n"])
            by_type.setdefault(r["kind"], {})[r["status"]] = int(r["n"])
        oldest = await outbox_repo.oldest_undispatched()
        age = (dt.datetime.now(dt.timezone.utc) - oldest).total_seconds() if oldest else None
        return DeliveryStats(by_status=by_status, by_event_type=by_type, outbox_pending=await outbox_repo.count_undispatched(), oldest_outbox_event_age_seconds=age)

    async def dead_letters(self, principal: Principal, *, limit: int | None, cursor: str | None) -> Page[DeadLetter]:
        self._require_operator(principal)
        limit = check_limit(limit)
        after = None
        if cursor:
            at, delivery_id = decode_cursor(cursor, 2)
            try:
                after = (dt.datetime.fromisoformat(str(at)), UUID(str(delivery_id)))
            except ValueError:
                raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None
        rows = await repo.dead_letters(after=after, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            DeadLetter(
                id=r["id"], event_type=r["kind"], event_id=r["event"], subscription_id=r["subscription_id"], customer_id=r["customer"],
                staff_id=r["staff"], attempts=r["attempts"], last_status_code=r["last_status_code"], last_error=r["last_error"],
                created_at=r["created_at"], failed_at=r["updated_at"],
            )
            for r in rows
        ]
        next_cursor = encode_cursor([rows[-1]["updated_at"].isoformat(), str(rows[-1]["id"])]) if more else None
        return Page(items=items, next_cursor=next_cursor)

    async def replay(self, principal: Principal, delivery_id: UUID) -> None:
        """Put a dead letter back in the queue; consent and preferences are checked again
        when it is sent."""
        self._require_operator(principal)
        if not await repo.replay(delivery_id, dt.datetime.now(dt.timezone.utc)):
            raise NotFound("No dead letter with this id")
