"""Subscriptions. Each event is turned into the subscriber's own permission-filtered view at
delivery (and that read is audited like any other); a subscriber who loses access stops
receiving, and a revoked session ends the stream. The connection's context outlives its
events, so its dataloaders are dropped at every event: nested fields (notes, purchases,
reach) are read for that event, never answered from an earlier one's cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator
from typing import Optional
from uuid import UUID

import strawberry
from strawberry.types import Info

from clienteling.services import customer_rows
from domain.errors import Forbidden, NotFound
from domain.events import Event, customer_channel, store_channel
from domain.staff import Principal
from graphql_schema.convert import parse_id
from graphql_schema.customers.types import Customer

__all__ = ["AlertSubscriptions", "StoreAlert"]

MANAGER_ROLES = {"store_manager", "hq_admin"}


@strawberry.type(description="Something a store team should know now.")
class StoreAlert:
    kind: str = strawberry.field(description="vip_check_in | task_assigned | appointment_soon")
    occurred_at: dt.datetime
    store_id: strawberry.ID
    customer: Optional[Customer] = strawberry.field(description="As you may see them; null if you may not.")
    task_id: Optional[strawberry.ID] = None
    appointment_id: Optional[strawberry.ID] = None
    check_in_id: Optional[strawberry.ID] = None


async def _still_valid(info: Info) -> Principal:
    """Re-check the session for every delivery: logout or deactivation ends the stream."""
    return await info.context.principal(info, refresh=True)


async def _customer_view(info: Info, principal: Principal, customer_id: UUID | None) -> Customer | None:
    """The customer as this subscriber may see them now (audited like any read); the row
    and consent ledger are read once per event for all of this process's subscribers."""
    if customer_id is None:
        return None
    try:
        return Customer.of(await info.context.services.customers.get(principal, customer_id))
    except (NotFound, Forbidden):
        return None


def _for_me(principal: Principal, event: Event) -> bool:
    """Task and appointment alerts go to the staff member concerned and to managers."""
    if event.kind == "vip_check_in":
        return True
    return event.staff_id == principal.staff_id or principal.role.value in MANAGER_ROLES


@strawberry.type
class AlertSubscriptions:
    @strawberry.subscription(description="The customer as you see them, each time they change. Ends if you lose access.")
    async def customer_updated(self, info: Info, id: strawberry.ID) -> AsyncGenerator[Customer, None]:
        principal = await info.context.principal(info)
        customer_id = parse_id(id)
        services = info.context.services
        await services.customers.ensure_reachable(principal, customer_id)
        async for event in services.events.subscribe([customer_channel(customer_id)]):
            info.context.release()  # each event reads afresh: no rows cached by an earlier one
            with customer_rows.one_read(event=event):
                customer_rows.prefetch(customer_id)  # read while the session is re-checked
                principal = await _still_valid(info)
                view = await _customer_view(info, principal, customer_id)
            if view is None:
                return
            yield view

    @strawberry.subscription(description="VIP check-ins (customers who consented to in-store recognition), tasks assigned, appointments starting soon, for one of your stores.")
    async def store_alerts(self, info: Info, store_id: strawberry.ID) -> AsyncGenerator[StoreAlert, None]:
        principal = await info.context.principal(info)
        sid = parse_id(store_id, "storeId")
        services = info.context.services
        scope = services.policies.current.resource(principal.role, "customer")
        if scope is None or (scope.scope != "all" and sid not in principal.store_ids):
            raise Forbidden("You may only watch your own stores")
        async for event in services.events.subscribe([store_channel(sid)]):
            info.context.release()
            principal = await _still_valid(info)
            if not _for_me(principal, event):
                continue
            with customer_rows.one_read(event=event):
                customer = await _customer_view(info, principal, event.customer_id)
                if event.kind == "vip_check_in":
                    if customer is None or not await services.customers.holds_consent(event.customer_id, "in_store_recognition"):
                        continue
            ref = strawberry.ID(str(event.ref_id)) if event.ref_id else None
            yield StoreAlert(
                kind=event.kind, occurred_at=event.occurred_at, store_id=strawberry.ID(str(sid)), customer=customer,
                task_id=ref if event.kind == "task_assigned" else None,
                appointment_id=ref if event.kind == "appointment_soon" else None,
                check_in_id=ref if event.kind == "vip_check_in" else None,
            )


