"""Break-glass access records on the wire."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

__all__ = ["BreakGlassRequest", "BreakGlassGrant"]


class BreakGlassRequest(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    reason: Annotated[str, Meta(min_length=1, max_length=1000)]


class BreakGlassGrant(msgspec.Struct, rename="camel", frozen=True):
    id: UUID
    staff_id: UUID
    customer_id: UUID
    store_id: UUID
    reason: str
    created_at: dt.datetime
    expires_at: dt.datetime
    active: bool
