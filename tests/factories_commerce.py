"""Small keyword-only factories for commerce and workflow rows (purchases, returns,
check-ins, tasks, appointments, wishlist items) and the derived customer figures, writing
through the real tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from clienteling.tables import Appointment, CheckIn, Customer, Purchase, PurchaseLine, PurchaseReturn, Task, WishlistItem

__all__ = [
    "ago", "make_purchase", "make_return", "make_check_in", "make_task", "make_appointment",
    "make_wishlist_item", "set_customer",
]


def ago(days: float = 0, *, hours: float = 0) -> dt.datetime:
    """An instant ``days`` (and ``hours``) before now, in UTC."""
    return dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days, hours=hours)


async def make_purchase(
    *, customer: UUID, store: UUID | None = None, channel: str = "store", occurred_at: dt.datetime | None = None,
    currency: str = "EUR", lines: list[tuple[str, str, int, str]] | None = None,
) -> UUID:
    """A purchase whose total is the sum of its ``lines`` of (sku, name, quantity, unit price)."""
    lines = lines if lines is not None else [("TOP-001", "Linen shirt", 1, "59.90"), ("ACC-101", "Leather belt", 2, "45.00")]
    purchase_id = uuid4()
    total = sum((Decimal(price) * qty for _, _, qty, price in lines), Decimal("0"))
    await Purchase.insert(Purchase(
        id=purchase_id, external_id=None, customer=customer, store=store if channel == "store" else None, channel=channel,
        occurred_at=occurred_at or ago(1), currency=currency, total=total,
    )).run()
    if lines:
        await PurchaseLine.insert(*[
            PurchaseLine(id=uuid4(), purchase=purchase_id, sku=sku, name=name, quantity=qty, unit_price=Decimal(price))
            for sku, name, qty, price in lines
        ]).run()
    return purchase_id


async def make_return(*, customer: UUID, purchase: UUID | None = None, store: UUID | None = None, occurred_at: dt.datetime | None = None, currency: str = "EUR", total: str = "45.00") -> UUID:
    return_id = uuid4()
    await PurchaseReturn.insert(PurchaseReturn(
        id=return_id, external_id=f"ret-{return_id.hex}", purchase=purchase, customer=customer, store=store,
        occurred_at=occurred_at or ago(1), currency=currency, total=Decimal(total), lines=[],
    )).run()
    return return_id


async def make_check_in(*, customer: UUID, store: UUID, occurred_at: dt.datetime | None = None) -> UUID:
    check_in_id = uuid4()
    await CheckIn.insert(CheckIn(id=check_in_id, external_id=f"chk-{check_in_id.hex}", customer=customer, store=store, occurred_at=occurred_at or ago(1))).run()
    return check_in_id


async def make_task(
    *, store: UUID, assignee: UUID, customer: UUID | None = None, kind: str = "follow_up", title: str = "Call about the new collection",
    due_at: dt.datetime | None = None, completed_at: dt.datetime | None = None, completed_by: UUID | None = None,
    details: str | None = None,
) -> UUID:
    task_id = uuid4()
    await Task.insert(Task(
        id=task_id, customer=customer, store=store, assignee=assignee, created_by=assignee, kind=kind, title=title,
        details=details, due_at=due_at or ago(-1), completed_at=completed_at,
        completed_by=completed_by if completed_by is not None else (assignee if completed_at else None),
    )).run()
    return task_id


async def make_appointment(
    *, customer: UUID, associate: UUID, store: UUID, starts_at: dt.datetime | None = None, status: str = "booked",
    channel: str = "in_store", notes: str | None = None,
) -> UUID:
    appointment_id = uuid4()
    starts_at = starts_at or ago(-2)
    await Appointment.insert(Appointment(
        id=appointment_id, customer=customer, associate=associate, store=store, channel=channel, starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1), status=status, notes=notes, created_by=associate,
    )).run()
    return appointment_id


async def make_wishlist_item(*, customer: UUID, added_by: UUID | None = None, sku: str = "SHO-201", product_name: str = "Suede loafers", fulfilled_at: dt.datetime | None = None, created_at: dt.datetime | None = None) -> UUID:
    item_id = uuid4()
    values: dict[str, Any] = {"id": item_id, "customer": customer, "sku": sku, "product_name": product_name, "added_by": added_by, "fulfilled_at": fulfilled_at}
    if created_at is not None:
        values["created_at"] = created_at
    await WishlistItem.insert(WishlistItem(**values)).run()
    return item_id


async def set_customer(customer: UUID, **values: Any) -> None:
    """Set columns of a customer row directly (derived figures: ``loyalty_points``,
    ``loyalty_tier``, ``lifetime_value``, ``last_purchase_at``, ``birth_mmdd``, ``vip``...)."""
    await Customer.update({getattr(Customer, k): v for k, v in values.items()}).where(Customer.id == customer).run()
