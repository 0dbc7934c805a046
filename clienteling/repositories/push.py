"""Push subscriptions and deliveries: registration, fan-out, leased claims, outcomes, and the
operator's counts. Every statement runs inside the calling service's transaction where it
matters; nothing here commits on its own. The worker's reads and writes take a whole round
of deliveries at once (lookups by a set of ids, ``finish`` of many deliveries), so
a round costs a few statements rather than a few per notification."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from typing import Any
from uuid import UUID, uuid4

from piccolo.columns import Column
from piccolo.columns.combination import WhereRaw
from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import (
    ConsentRecord,
    Customer,
    MemberAccount,
    PushDelivery,
    PushSubscription,
    Staff,
    StaffStore,
    Store,
)

__all__ = [
    "upsert_subscription",
    "subscriptions_of",
    "subscription",
    "delete_subscription",
    "delete_subscription_by_endpoint",
    "delete_subscriptions_of_customer",
    "member_targets",
    "store_staff_targets",
    "insert_deliveries",
    "claim_due",
    "finish",
    "renew_leases",
    "targets",
    "send_contexts",
    "delivered_since",
    "cancel_pending_of_customer",
    "stats",
    "dead_letters",
    "replay",
    "oldest_due",
    "history_of_customer",
    "mark_subscriptions_used",
    "delete_subscriptions",
    "staff_context",
]

_SUB_COLUMNS = (
    PushSubscription.id, PushSubscription.endpoint, PushSubscription.expiration_time, PushSubscription.created_at,
    PushSubscription.last_delivered_at,
)


def _pg() -> bool:
    return isinstance(db.current_engine(), PostgresEngine)


def _among(column: Column, ids: Collection[UUID]) -> WhereRaw:
    """``column IN (ids)`` with the ids as one parameter: an array on PostgreSQL, a JSON
    list on SQLite. piccolo's ``is_in`` binds and converts one parameter per id, which
    cost the worker more than the statements themselves."""
    name = column._meta.get_full_name(with_alias=False)
    if _pg():
        return WhereRaw(f"{name} = ANY({{}})", list(ids))
    return WhereRaw(f"{name} IN (SELECT value FROM json_each({{}}))", json.dumps([str(i) for i in ids]))


# --- subscriptions -------------------------------------------------------------------------


async def upsert_subscription(*, endpoint: str, endpoint_hash: str, p256dh: str, auth: str, expiration_time: dt.datetime | None, customer: UUID | None, staff: UUID | None) -> tuple[UUID, bool]:
    """Register a subscription, or refresh the keys and owner of one already known by its
    endpoint (a browser re-subscribing). Returns its id and whether it is new."""
    now = dt.datetime.now(dt.timezone.utc)
    existing = await PushSubscription.select(PushSubscription.id).where(PushSubscription.endpoint_hash == endpoint_hash).first().run()
    if existing is not None:
        await PushSubscription.update(
            {
                PushSubscription.p256dh: p256dh, PushSubscription.auth: auth, PushSubscription.expiration_time: expiration_time,
                PushSubscription.customer: customer, PushSubscription.staff: staff, PushSubscription.updated_at: now,
            }
        ).where(PushSubscription.id == existing["id"]).run()
        return existing["id"], False
    sub_id = uuid4()
    await PushSubscription.insert(
        PushSubscription(
            id=sub_id, endpoint=endpoint, endpoint_hash=endpoint_hash, p256dh=p256dh, auth=auth,
            expiration_time=expiration_time, customer=customer, staff=staff,
        )
    ).run()
    return sub_id, True


async def subscriptions_of(*, customer: UUID | None = None, staff: UUID | None = None) -> list[dict[str, Any]]:
    where = (PushSubscription.customer == customer) if customer is not None else (PushSubscription.staff == staff)
    return await PushSubscription.select(*_SUB_COLUMNS).where(where).order_by(PushSubscription.created_at).run()


async def subscription(sub_id: UUID) -> dict[str, Any] | None:
    return await PushSubscription.select(*_SUB_COLUMNS, PushSubscription.customer, PushSubscription.staff).where(PushSubscription.id == sub_id).first().run()


async def delete_subscription(sub_id: UUID, *, customer: UUID | None = None, staff: UUID | None = None) -> bool:
    where = PushSubscription.id == sub_id
    if customer is not None:
        where = where & (PushSubscription.customer == customer)
    if staff is not None:
        where = where & (PushSubscription.staff == staff)
    return bool(await PushSubscription.delete().where(where).returning(PushSubscription.id).run())


async def delete_subscription_by_endpoint(endpoint_hash: str, *, customer: UUID | None = None, staff: UUID | None = None) -> bool:
    where = PushSubscription.endpoint_hash == endpoint_hash
    where = where & ((PushSubscription.customer == customer) if customer is not None else (PushSubscription.staff == staff))
    return bool(await PushSubscription.delete().where(where).returning(PushSubscription.id).run())


async def delete_subscriptions_of_customer(customer_id: UUID) -> int:
    return len(await PushSubscription.delete().where(PushSubscription.customer == customer_id).returning(PushSubscription.id).run())


async def member_targets(customer_ids: Collection[UUID]) -> dict[UUID, list[UUID]]:
    """The subscriptions of each of these members (members without one are absent)."""
    if not customer_ids:
        return {}
    rows = (
        await PushSubscription.select(PushSubscription.id, PushSubscription.customer)
        .where(_among(PushSubscription.customer, customer_ids))
        .run()
    )
    targets: dict[UUID, list[UUID]] = {}
    for r in rows:
        targets.setdefault(r["customer"], []).append(r["id"])
    return targets


async def store_staff_targets(store_id: UUID) -> list[tuple[UUID, UUID]]:
    """(subscription, staff) of active staff working in the store."""
    staff_ids = StaffStore.select(StaffStore.staff).where(StaffStore.store == store_id)
    rows = (
        await PushSubscription.select(PushSubscription.id, PushSubscription.staff)
        .where(PushSubscription.staff.is_in(staff_ids) & (PushSubscription.staff.active == True))  # noqa: E712
        .run()
    )
    return [(r["id"], r["staff"]) for r in rows]


# --- deliveries ----------------------------------------------------------------------------


_DELIVERY_COLUMNS = (
    "id", "key", "event", "subscription_id", "customer", "staff", "kind", "status", "attempts", "next_attempt_at", "created_at",
    "updated_at",
)


async def insert_deliveries(rows: list[dict[str, Any]]) -> None:
    """One multi-row insert (a delivery that exists already, by ``key``, is left alone).
    Written as SQL: building a piccolo row object per delivery cost more than the insert."""
    if not rows:
        return
    now = dt.datetime.now(dt.timezone.utc)
    values = ", ".join(["(" + ", ".join(["{}"] * len(_DELIVERY_COLUMNS)) + ")"] * len(rows))
    args = [v for r in rows for v in (*(r[c] for c in _DELIVERY_COLUMNS[:-2]), now, now)]
    await PushDelivery.raw(
        f"INSERT INTO push_delivery ({', '.join(_DELIVERY_COLUMNS)}) VALUES {values} ON CONFLICT (key) DO NOTHING", *args
    ).run()


async def claim_due(*, now: dt.datetime, limit: int, worker: str, lease_until: dt.datetime) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due deliveries to ``worker``: pending, due, and not leased (or
    their lease expired: the worker holding it died). On PostgreSQL ``FOR UPDATE SKIP
    LOCKED`` lets concurrent workers take disjoint rows. The claim gets a fresh token, shared
    by the rows claimed together, that fences the outcome writes: a worker whose lease
    expired and was claimed again can no longer record anything. Call inside a transaction."""
    query = (
        PushDelivery.select(PushDelivery.id)
        .where(
            (PushDelivery.status == "pending") & (PushDelivery.next_attempt_at <= now)
            & (PushDelivery.lease_until.is_null() | (PushDelivery.lease_until < now))
        )
        .order_by(PushDelivery.next_attempt_at)
        .limit(limit)
        .output(as_list=True)
    )
    if _pg():
        query = query.lock_rows("UPDATE", skip_locked=True)
    ids = await query.run()
    if not ids:
        return []
    await PushDelivery.update(
        {PushDelivery.claimed_by: worker[:64], PushDelivery.claim_token: str(uuid4()), PushDelivery.lease_until: lease_until}
    ).where(_among(PushDelivery.id, ids)).run()
    return (
        await PushDelivery.select(
            PushDelivery.id, PushDelivery.event.id.as_alias("event_id"), PushDelivery.event.kind.as_alias("kind"),
            PushDelivery.event.data.as_alias("data"), PushDelivery.event.store.as_alias("store"),
            PushDelivery.event.customer.as_alias("event_customer"), PushDelivery.event.occurred_at.as_alias("occurred_at"),
            PushDelivery.subscription_id, PushDelivery.customer, PushDelivery.staff, PushDelivery.attempts,
            PushDelivery.claim_token, PushDelivery.created_at,
        )
        .where(_among(PushDelivery.id, ids))
        .output(load_json=True)
        .run()
    )


async def finish(delivery_ids: Collection[UUID], token: str, values: dict[str, Any]) -> set[UUID]:
    """Record one outcome for these deliveries, for those this worker still holds the claim
    of (``token``), and release their lease. Returns the ids written; one missing lost its
    lease (it expired and another worker claimed the delivery). A deferral (quiet hours,
    the rate limit) is an outcome that sets only ``next_attempt_at``."""
    if not delivery_ids:
        return set()
    values = {**values, "claim_token": None, "claimed_by": None, "lease_until": None, "updated_at": dt.datetime.now(dt.timezone.utc)}
    rows = (
        await PushDelivery.update({getattr(PushDelivery, k): v for k, v in values.items()})
        .where(_among(PushDelivery.id, delivery_ids) & (PushDelivery.claim_token == token))
        .returning(PushDelivery.id)
        .run()
    )
    return {r["id"] for r in rows}


async def renew_leases(delivery_ids: Collection[UUID], token: str, lease_until: dt.datetime) -> set[UUID]:
    """Extend the lease of claims this worker still holds; returns their ids."""
    if not delivery_ids:
        return set()
    rows = (
        await PushDelivery.update({PushDelivery.lease_until: lease_until})
        .where(_among(PushDelivery.id, delivery_ids) & (PushDelivery.claim_token == token))
        .returning(PushDelivery.id)
        .run()
    )
    return {r["id"] for r in rows}


async def targets(sub_ids: Collection[UUID]) -> dict[UUID, dict[str, Any]]:
    """Endpoint and keys of these subscriptions (deleted ones are absent)."""
    if not sub_ids:
        return {}
    rows = (
        await PushSubscription.select(PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth, PushSubscription.expiration_time)
        .where(_among(PushSubscription.id, sub_ids))
        .run()
    )
    return {r["id"]: r for r in rows}


async def send_contexts(customer_ids: Collection[UUID]) -> dict[UUID, dict[str, Any]]:
    """What the send-time checks need about each member: state, language, store time zone,
    ``member`` (the account's preferences, or None) and ``consents`` (the ledger). A customer
    that does not exist is absent."""
    if not customer_ids:
        return {}
    ids = list(customer_ids)
    rows = (
        await Customer.select(
            Customer.id, Customer.language, Customer.restricted_at, Customer.erased_at, Customer.deleted_at,
            Customer.home_store.timezone.as_alias("store_time_zone"),
        )
        .where(_among(Customer.id, ids))
        .run()
    )
    contexts = {r["id"]: {**r, "member": None, "consents": []} for r in rows}
    members = (
        await MemberAccount.select(
            MemberAccount.customer, MemberAccount.active, MemberAccount.language, MemberAccount.time_zone, MemberAccount.quiet_start,
            MemberAccount.quiet_end, MemberAccount.event_types,
        )
        .where(_among(MemberAccount.customer, ids))
        .output(load_json=True)
        .run()
    )
    for m in members:
        if m["customer"] in contexts:
            contexts[m.pop("customer")]["member"] = m
    consents = (
        await ConsentRecord.select(ConsentRecord.customer, ConsentRecord.purpose, ConsentRecord.status, ConsentRecord.occurred_at, ConsentRecord.expires_at)
        .where(_among(ConsentRecord.customer, ids))
        .run()
    )
    for c in consents:
        if c["customer"] in contexts:
            contexts[c.pop("customer")]["consents"].append(c)
    return contexts


async def staff_context(staff_id: UUID, store_id: UUID | None) -> dict[str, Any] | None:
    row = await Staff.select(Staff.active).where(Staff.id == staff_id).first().run()
    if row is None:
        return None
    store = await Store.select(Store.country, Store.code, Store.timezone).where(Store.id == store_id).first().run() if store_id else None
    return {**row, "store": store}


async def delivered_since(customer_ids: Collection[UUID], since: dt.datetime) -> dict[UUID, dict[UUID, dt.datetime]]:
    """Each member's messages delivered since ``since`` (the rate limit): delivery id ->
    when. Members with none are absent."""
    if not customer_ids:
        return {}
    rows = (
        await PushDelivery.select(PushDelivery.id, PushDelivery.customer, PushDelivery.delivered_at)
        .where(_among(PushDelivery.customer, customer_ids) & (PushDelivery.status == "delivered") & (PushDelivery.delivered_at >= since))
        .run()
    )
    times: dict[UUID, dict[UUID, dt.datetime]] = {}
    for r in rows:
        times.setdefault(r["customer"], {})[r["id"]] = r["delivered_at"]
    return times


async def cancel_pending_of_customer(customer_id: UUID) -> int:
    rows = (
        await PushDelivery.update(
            {PushDelivery.status: "cancelled", PushDelivery.last_error: "erased", PushDelivery.updated_at: dt.datetime.now(dt.timezone.utc)}
        )
        .where((PushDelivery.customer == customer_id) & (PushDelivery.status == "pending"))
        .returning(PushDelivery.id)
        .run()
    )
    return len(rows)


async def stats() -> list[dict[str, Any]]:
    return await PushDelivery.raw(
        "SELECT kind, status, COUNT(*) AS n FROM push_delivery GROUP BY kind, status ORDER BY kind, status"
    ).run()


async def dead_letters(*, after: tuple[dt.datetime, UUID] | None, limit: int) -> list[dict[str, Any]]:
    where = PushDelivery.status == "dead"
    if after is not None:
        at, delivery_id = after
        where = where & ((PushDelivery.updated_at < at) | ((PushDelivery.updated_at == at) & (PushDelivery.id < delivery_id)))
    return (
        await PushDelivery.select(
            PushDelivery.id, PushDelivery.kind, PushDelivery.event, PushDelivery.subscription_id, PushDelivery.customer,
            PushDelivery.staff, PushDelivery.attempts, PushDelivery.last_status_code, PushDelivery.last_error,
            PushDelivery.created_at, PushDelivery.updated_at,
        )
        .where(where)
        .order_by(PushDelivery.updated_at, ascending=False)
        .order_by(PushDelivery.id, ascending=False)
        .limit(limit + 1)
        .run()
    )


async def replay(delivery_id: UUID, now: dt.datetime) -> bool:
    """A dead letter goes back to the queue with a fresh attempt budget."""
    rows = (
        await PushDelivery.update(
            {
                PushDelivery.status: "pending", PushDelivery.attempts: 0, PushDelivery.next_attempt_at: now,
                PushDelivery.last_error: None, PushDelivery.updated_at: now,
            }
        )
        .where((PushDelivery.id == delivery_id) & (PushDelivery.status == "dead"))
        .returning(PushDelivery.id)
        .run()
    )
    return bool(rows)


async def oldest_due(now: dt.datetime) -> dt.datetime | None:
    row = (
        await PushDelivery.select(PushDelivery.next_attempt_at)
        .where((PushDelivery.status == "pending") & (PushDelivery.next_attempt_at <= now))
        .order_by(PushDelivery.next_attempt_at)
        .first()
        .run()
    )
    return row["next_attempt_at"] if row else None


async def history_of_customer(customer_id: UUID) -> list[dict[str, Any]]:
    return (
        await PushDelivery.select(
            PushDelivery.id, PushDelivery.kind, PushDelivery.status, PushDelivery.attempts, PushDelivery.subscription_id,
            PushDelivery.created_at, PushDelivery.delivered_at, PushDelivery.last_status_code,
        )
        .where(PushDelivery.customer == customer_id)
        .order_by(PushDelivery.created_at)
        .run()
    )


async def mark_subscriptions_used(sub_ids: Collection[UUID], at: dt.datetime) -> None:
    if sub_ids:
        await PushSubscription.update({PushSubscription.last_delivered_at: at}).where(_among(PushSubscription.id, sub_ids)).run()


async def delete_subscriptions(sub_ids: Collection[UUID]) -> None:
    """Subscriptions the push service called gone (404/410)."""
    if sub_ids:
        await PushSubscription.delete().where(_among(PushSubscription.id, sub_ids)).run()
