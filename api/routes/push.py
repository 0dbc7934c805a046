"""Web Push: the VAPID public key, staff devices' subscriptions (store alerts) and the
operators' view of deliveries (capability ``operate_push``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from api.deps import provide_principal, services_of
from clienteling.services.push import DeadLetter, DeliveryStats
from domain.pagination import Page
from domain.push import SubscriptionIn, SubscriptionView
from domain.staff import Principal

__all__ = ["PushController", "StaffPushController", "VapidKey"]

_STAFF = {"principal": Provide(provide_principal)}


class VapidKey(msgspec.Struct, rename="camel", frozen=True):
    public_key: str


class PushController(Controller):
    path = "/api/v1/push"
    tags = ["push"]

    @get("/vapid-public-key", summary="The VAPID public key to subscribe with")
    async def vapid_public_key(self, request: Request) -> VapidKey:
        """Base64url uncompressed P-256 point: pass it as ``applicationServerKey`` to
        ``pushManager.subscribe``. 503 ``PUSH_DISABLED`` when push is not configured."""
        return VapidKey(public_key=services_of(request).push.vapid_public_key())

    @get("/stats", dependencies=_STAFF, summary="Delivery counts by status and event type (operators)")
    async def stats(self, request: Request, principal: NamedDependency[Principal]) -> DeliveryStats:
        return await services_of(request).push.stats(principal)

    @get("/dead-letters", dependencies=_STAFF, summary="Deliveries that failed after their last attempt (operators)")
    async def dead_letters(
        self, request: Request, principal: NamedDependency[Principal],
        limit: Annotated[int | None, QueryParameter(description="Page size: default 50, at most 200")] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=500, description="nextCursor of the previous page")] = None,
    ) -> Page[DeadLetter]:
        return await services_of(request).push.dead_letters(principal, limit=limit, cursor=cursor)

    @post("/dead-letters/{delivery_id:uuid}/replay", dependencies=_STAFF, status_code=202, summary="Send a dead letter again (operators)")
    async def replay(self, request: Request, principal: NamedDependency[Principal], delivery_id: FromPath[UUID]) -> None:
        """The delivery is queued again with a fresh attempt budget; consent, preferences
        and quiet hours are checked again when it is sent."""
        await services_of(request).push.replay(principal, delivery_id)


class StaffPushController(Controller):
    """A staff member's devices, subscribed to store alerts (a VIP check-in in their stores)."""

    path = "/api/v1/me/push-subscriptions"
    tags = ["push"]

    @post("/", dependencies=_STAFF, summary="Subscribe this device to store alerts")
    async def subscribe(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[SubscriptionIn]) -> Response[SubscriptionView]:
        view, created = await services_of(request).push.subscribe_staff(principal, data)
        return Response(view, status_code=201 if created else 200)

    @get("/", dependencies=_STAFF, summary="This staff member's subscribed devices")
    async def subscriptions(self, request: Request, principal: NamedDependency[Principal]) -> Page[SubscriptionView]:
        return Page(items=await services_of(request).push.staff_subscriptions(principal), next_cursor=None)

    @delete("/{subscription_id:uuid}", dependencies=_STAFF, status_code=204, summary="Unsubscribe a device")
    async def unsubscribe(self, request: Request, principal: NamedDependency[Principal], subscription_id: FromPath[UUID]) -> None:
        await services_of(request).push.unsubscribe_staff(principal, subscription_id)
