"""Reaching a customer before touching one of their records (wishlist items, tasks,
appointments): the customer's own row scope decides first, as for notes; the record's
decision comes after, in the service that owns the record."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec

from clienteling.services import customer_rows
from domain.consent import active_purposes
from domain.errors import Forbidden, NotFound, ProcessingRestricted
from domain.staff import Principal
from permissions import Policy, RecordContext, decide

__all__ = ["ReachedCustomer", "reach_customer", "reach_customers"]


class ReachedCustomer(msgspec.Struct, frozen=True):
    """What a workflow record's decision needs to know about its customer."""

    id: UUID
    store_id: UUID
    primary_associate_id: UUID | None
    secondary_associate_id: UUID | None
    restricted: bool
    consents: frozenset[str] = frozenset()


def _reached(row: dict, consents: frozenset[str]) -> ReachedCustomer:
    return ReachedCustomer(
        id=row["id"], store_id=row["home_store"], primary_associate_id=row["primary_associate"],
        secondary_associate_id=row["secondary_associate"],
        restricted=row.get("restricted_at") is not None, consents=consents,
    )


def _reachable(policy: Policy, principal: Principal, row: dict) -> bool:
    if row.get("erased_at") is not None:
        return False
    ctx = RecordContext(store_id=row["home_store"], primary_associate_id=row["primary_associate"], secondary_associate_id=row["secondary_associate"])
    try:
        decide(policy, principal, "customer", ctx)
    except Forbidden:
        return False
    return True


async def reach_customer(policy: Policy, principal: Principal, customer_id: UUID, *, for_write: bool = False, with_consents: bool = False) -> ReachedCustomer:
    """The customer, if the caller reaches them (404 otherwise: existence is not disclosed);
    for a write, refuses customers whose processing is restricted (GDPR Art. 18)."""
    row = await customer_rows.get(customer_id)
    if row is None or not _reachable(policy, principal, row):
        raise NotFound("No such customer")
    if for_write and row.get("restricted_at") is not None:
        raise ProcessingRestricted()
    consents = frozenset()
    if with_consents:
        events = await customer_rows.consent_events([customer_id])
        consents = active_purposes(events.get(customer_id, []), dt.datetime.now(dt.timezone.utc))
    return _reached(row, consents)


async def reach_customers(policy: Policy, principal: Principal, customer_ids: list[UUID], *, with_consents: bool = False) -> dict[UUID, ReachedCustomer]:
    """The reachable ones among several customers, in one or two queries; the others are
    left out silently (for lists and dataloaders)."""
    ids = list(dict.fromkeys(customer_ids))
    rows = [r for r in await customer_rows.get_many(ids) if _reachable(policy, principal, r)]
    consents: dict[UUID, frozenset[str]] = {}
    if with_consents and rows:
        now = dt.datetime.now(dt.timezone.utc)
        events = await customer_rows.consent_events([r["id"] for r in rows])
        consents = {r["id"]: active_purposes(events.get(r["id"], []), now) for r in rows}
    return {r["id"]: _reached(r, consents.get(r["id"], frozenset())) for r in rows}
