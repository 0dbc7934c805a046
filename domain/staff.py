"""Staff roles and the authenticated principal."""

from __future__ import annotations

import enum
from uuid import UUID

import msgspec

__all__ = ["Role", "Principal", "StaffView"]


class Role(str, enum.Enum):
    """Fixed staff role names (SPEC §4)."""

    ASSOCIATE = "associate"
    STORE_MANAGER = "store_manager"
    HQ_ADMIN = "hq_admin"
    COMPLIANCE_OFFICER = "compliance_officer"
    MARKETING = "marketing"


class Principal(msgspec.Struct, frozen=True):
    """Who is calling: derived from a verified access token, never from request input."""

    staff_id: UUID
    role: Role
    store_ids: frozenset[UUID]
    session_id: UUID
    device_id: str | None = None
    # How the call came in, for the audit trail: "rest", "graphql", "cli", ...
    surface: str = "internal"
    operation: str = ""
    request_id: str | None = None


class StaffView(msgspec.Struct, rename="camel", frozen=True):
    id: UUID
    email: str
    display_name: str
    role: Role
    store_ids: list[UUID]
