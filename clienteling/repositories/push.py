"""Push subscriptions and deliveries: registration, fan-out, leased claims, outcomes, and the
operator's counts. Every statement runs inside the calling service's transaction where it
matters; nothing here commits on its own."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

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
    "release",
    "target",
    "send_context",
    "delivered_since",
    "cancel_pending_of_customer",
    "stats",
    "dead_letters",
    "replay",
    "oldest_due",
    "history_of_customer",
    "mark_subscription_used",
    "staff_context",
]

_SUB_COLUMNS = (
    PushSubscription.id, PushSubscription.endpoint, PushSubscription.expiration_time, PushSubscription.created_at,
    PushSubscription.last_delivered_at,
)


def _pg() -> bool:
    return isinstance(db.current_engine(), PostgresEngine)


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


async def member_targets(customer_id: UUID) -> list[UUID]:
    return await PushSubscription.select(PushSubscription.id).where(PushSubscription.customer == customer_id).output(as_list=True).run()


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


async def insert_deliveries(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    await PushDelivery.insert(*[PushDelivery(**r) for r in rows]).on_conflict(target=PushDelivery.key, action="DO NOTHING").run()


async def claim_due(*, now: dt.datetime, limit: int, worker: str, lease_until: dt.datetime) -> list[dict[str, Any]]:
    """Lease up to ``limit`` due deliveries to ``worker``: pending, due, and not leased (or
    their lease expired: the worker holding it died). On PostgreSQL ``FOR UPDATE SKIP
    LOCKED`` lets concurrent workers take disjoint rows; each claim gets a fresh token that
    fences the outcome write. Call inside a transaction."""
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
    claimed = []
    for delivery_id in ids:
        token = str(uuid4())
        await PushDelivery.update(
            {PushDelivery.claimed_by: worker[:64], PushDelivery.claim_token: token, PushDelivery.lease_until: lease_until}
        ).where(PushDelivery.id == delivery_id).run()
        claimed.append(token)
    if not ids:
        return []
    rows = (
        await PushDelivery.select(
            PushDelivery.id, PushDelivery.event.id.as_alias("event_id"), PushDelivery.event.kind.as_alias("kind"),
            PushDelivery.event.data.as_alias("data"), PushDelivery.event.store.as_alias("store"),
            PushDelivery.event.customer.as_alias("event_customer"), PushDelivery.event.occurred_at.as_alias("occurred_at"),
            PushDelivery.subscription_id, PushDelivery.customer, PushDelivery.staff, PushDelivery.attempts,
            PushDelivery.claim_token, PushDelivery.created_at,
        )
        .where(PushDelivery.id.is_in(ids))
        .output(load_json=True)
        .run()
    )
    return rows


async def finish(delivery_id: UUID, token: str, values: dict[str, Any]) -> bool:
    """Record an outcome, only if this worker still holds the claim (``token``); the lease
    is released. False when the lease was lost (expired and taken by another worker)."""
    values = {**values, "claim_token": None, "claimed_by": None, "lease_until": None, "updated_at": dt.datetime.now(dt.timezone.utc)}
    rows = (
        await PushDelivery.update({getattr(PushDelivery, k): v for k, v in values.items()})
        .where((PushDelivery.id == delivery_id) & (PushDelivery.claim_token == token))
        .returning(PushDelivery.id)
        .run()
    )
    return bool(rows)


async def release(delivery_id: UUID, token: str, next_attempt_at: dt.datetime) -> bool:
    """Give a claim back without an attempt (quiet hours, rate limit): due again later."""
    return await finish(delivery_id, token, {"next_attempt_at": next_attempt_at})


async def target(sub_id: UUID) -> dict[str, Any] | None:
    return (
        await PushSubscription.select(PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth, PushSubscription.expiration_time)
        .where(PushSubscription.id == sub_id)
        .first()
        .run()
    )


async def send_context(customer_id: UUID) -> dict[str, Any] | None:
    """What the send-time checks need about a member: state, language, store time zone,
    preferences and consent ledger."""
    row = (
        await Customer.select(
            Customer.id, Customer.language, Customer.restricted_at, Customer.erased_at, Customer.deleted_at,
            Customer.home_store.timezone.as_alias("store_time_zone"),
        )
        .where(Customer.id == customer_id)
        .first()
        .run()
    )
    if row is None:
        return None
    row["member"] = (
        await MemberAccount.select(
            MemberAccount.active, MemberAccount.language, MemberAccount.time_zone, MemberAccount.quiet_start,
            MemberAccount.quiet_end, MemberAccount.event_types,
        )
        .where(MemberAccount.customer == customer_id)
        .output(load_json=True)
        .first()
        .run()
    )
    row["consents"] = (
        await ConsentRecord.select(ConsentRecord.purpose, ConsentRecord.status, ConsentRecord.occurred_at, ConsentRecord.expires_at)
        .where(ConsentRecord.customer == customer_id)
        .run()
    )
    return row


async def staff_context(staff_id: UUID, store_id: UUID | None) -> dict[str, Any] | None:
    row = await Staff.select(Staff.active).where(Staff.id == staff_id).first().run()
    if row is None:
        return None
    store = await Store.select(Store.country, Store.code, Store.timezone).where(Store.id == store_id).first().run() if store_id else None
    return {**row, "store": store}


async def delivered_since(customer_id: UUID, since: dt.datetime) -> list[dt.datetime]:
    return (
        await PushDelivery.select(PushDelivery.delivered_at)
        .where((PushDelivery.customer == customer_id) & (PushDelivery.status == "delivered") & (PushDelivery.delivered_at >= since))
        .order_by(PushDelivery.delivered_at)
        .output(as_list=True)
        .run()
    )


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


async def mark_subscription_used(sub_id: UUID, at: dt.datetime) -> None:
    await PushSubscription.update({PushSubscription.last_delivered_at: at}).where(PushSubscription.id == sub_id).run()
