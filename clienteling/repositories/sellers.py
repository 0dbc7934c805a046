"""Sellers who can be given work: active associates and store managers of a store."""

from __future__ import annotations

from uuid import UUID

from clienteling.tables import StaffStore

__all__ = ["SELLER_ROLES", "is_active_seller_in_store"]

SELLER_ROLES = ("associate", "store_manager")


async def is_active_seller_in_store(staff_id: UUID, store_id: UUID) -> bool:
    """Whether ``staff_id`` is an active associate or store manager working in ``store_id``."""
    return await (
        StaffStore.exists()
        .where(
            (StaffStore.staff == staff_id)
            & (StaffStore.store == store_id)
            & (StaffStore.staff.active == True)  # noqa: E712 - piccolo column comparison
            & StaffStore.staff.role.is_in(list(SELLER_ROLES))
        )
        .run()
    )
