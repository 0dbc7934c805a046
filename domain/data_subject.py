"""Data-subject rights on the wire (GDPR Art. 15/17/18/20) and the retention rule.

The export is one JSON document: a header (``formatVersion``, ``exportedAt``, the customer
id) and ``sections``, one per kind of data held about the customer. Each section has its own
Struct here; the service assembles them (see ``clienteling.services.data_subject``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.errors import Conflict

__all__ = [
    "EXPORT_FORMAT_VERSION",
    "ERASED_NAME",
    "ERASED_TEXT",
    "RequestReference",
    "CustomerErased",
    "ReferenceInUse",
    "ErasureRequestBody",
    "RestrictionRequestBody",
    "ErasureStatus",
    "ErasureResult",
    "RestrictionState",
    "CustomerExport",
    "ProfileExport",
    "PurchaseExport",
    "PurchaseLineExport",
    "ReturnExport",
    "NoteExport",
    "WishlistItemExport",
    "TaskExport",
    "AppointmentExport",
    "CheckInExport",
    "ConsentNoticeExport",
    "ConsentExport",
    "BreakGlassExport",
    "ErasureRequestExport",
    "AccessLogEntry",
    "RetentionReport",
    "money",
    "retention_cutoff",
    "retention_reference",
]

# Bumped when a section changes shape incompatibly; adding a section does not bump it.
EXPORT_FORMAT_VERSION = "1"

# What an erased customer's names become (a fixed value: it identifies no one).
ERASED_NAME = "Erased"
# What free text written by staff about an erased customer becomes where the row is kept.
ERASED_TEXT = "[erased]"

RequestReference = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]


class CustomerErased(Conflict):
    code = "CUSTOMER_ERASED"
    title = "The customer has been erased"


class ReferenceInUse(Conflict):
    code = "REQUEST_REFERENCE_IN_USE"
    title = "This request reference already belongs to a request about another customer"


class ErasureRequestBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """``POST /customers/{id}/erasure``: the data-subject request's reference (e.g. a ticket
    number), which makes the erasure idempotent and provable."""

    request_reference: RequestReference


class RestrictionRequestBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    restricted: bool
    request_reference: RequestReference


ErasureStatus = Literal["erased", "already_erased"]


class ErasureResult(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """``erased``: this request erased the customer. ``already_erased``: an earlier request
    had; this one is recorded as its own request. Replaying a reference answers the same."""

    customer_id: UUID
    request_reference: str
    status: ErasureStatus
    erased_at: dt.datetime
    completed_at: dt.datetime
    requested_by: UUID | None


class RestrictionState(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The customer's Art. 18 state after the request; ``changed`` is False when it already
    was as asked (nothing written, nothing audited)."""

    customer_id: UUID
    restricted: bool
    restricted_at: dt.datetime | None
    request_reference: str
    changed: bool


# --- Export sections ------------------------------------------------------------------


class ProfileExport(msgspec.Struct, rename="camel", kw_only=True):
    """Every column of the customer row, including the derived search keys."""

    id: UUID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    birthdate: dt.date | None
    language: str
    home_store_id: UUID
    primary_associate_id: UUID | None
    secondary_associate_id: UUID | None
    sizes: dict[str, Any]
    preferences: dict[str, Any]
    tags: list[Any]
    vip: bool
    loyalty_number: str | None
    loyalty_tier: str
    loyalty_points: int
    name_key: str
    email_key: str | None
    phone_key: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None
    erased_at: dt.datetime | None
    restricted_at: dt.datetime | None
    # Derived from the birthdate and the purchases (client-book filters): personal data too.
    birth_mmdd: int | None = None
    last_purchase_at: dt.datetime | None = None
    lifetime_value_eur: str = "0.00"


class PurchaseLineExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    sku: str
    name: str
    quantity: int
    unit_price: str  # decimal string, e.g. "129.90"


class PurchaseExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    external_id: str | None
    store_id: UUID | None
    channel: str
    occurred_at: dt.datetime
    currency: str
    total: str  # decimal string
    created_at: dt.datetime
    lines: list[PurchaseLineExport]


class ReturnExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    external_id: str
    purchase_id: UUID | None
    store_id: UUID | None
    occurred_at: dt.datetime
    currency: str
    total: str  # decimal string
    lines: list[Any]  # as received from the point of sale
    created_at: dt.datetime


class NoteExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    author_id: UUID
    body: str
    pinned: bool
    visibility: str
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class WishlistItemExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    sku: str
    product_name: str
    size: str | None
    colour: str | None
    notes: str | None
    added_by: UUID | None
    fulfilled_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class TaskExport(msgspec.Struct, rename="camel", kw_only=True):
    """A seller's follow-up about the customer."""

    id: UUID
    kind: str
    title: str
    details: str | None
    store_id: UUID
    assignee_id: UUID
    created_by: UUID | None
    due_at: dt.datetime
    snoozed_until: dt.datetime | None
    completed_at: dt.datetime | None
    completed_by: UUID | None
    source_ref: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None


class AppointmentExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    associate_id: UUID
    store_id: UUID
    channel: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    notes: str | None
    created_by: UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime


class CheckInExport(msgspec.Struct, rename="camel", kw_only=True):
    """The customer was recognised in a store."""

    id: UUID
    external_id: str
    store_id: UUID
    occurred_at: dt.datetime
    created_at: dt.datetime


class ConsentNoticeExport(msgspec.Struct, rename="camel", kw_only=True):
    """The exact notice text the customer was shown."""

    id: UUID
    purpose: str
    version: str
    language: str
    sha256: str
    text: str
    published_at: dt.datetime


class ConsentExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    purpose: str
    status: str
    occurred_at: dt.datetime
    expires_at: dt.datetime | None
    legal_basis: str
    channel: str
    collected_by: UUID | None
    store_id: UUID | None
    device_id: str | None
    policy_version: str | None
    notice_sha256: str | None
    language: str | None
    evidence: str | None
    recorded_at: dt.datetime
    notice: ConsentNoticeExport | None


class BreakGlassExport(msgspec.Struct, rename="camel", kw_only=True):
    """A staff member opened the customer outside their scope, and why."""

    id: UUID
    staff_id: UUID
    store_id: UUID
    reason: str
    created_at: dt.datetime
    expires_at: dt.datetime


class ErasureRequestExport(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    reference: str
    requested_by: UUID | None
    completed_at: dt.datetime


class AccessLogEntry(msgspec.Struct, rename="camel", kw_only=True):
    """One audit entry about the customer: who touched which fields, when, how and why.
    Other customers an entry also concerns (a search result page) are not listed."""

    seq: int
    occurred_at: dt.datetime
    actor_id: UUID | None
    actor_role: str
    device_id: str | None
    surface: str
    operation: str
    action: str
    fields: list[str]
    purpose: str | None
    reference: str | None
    request_id: str | None
    hash: str


class CustomerExport(msgspec.Struct, rename="camel", kw_only=True):
    """The Art. 15/20 document. ``sections`` maps a section name to its content."""

    format_version: str
    exported_at: dt.datetime
    customer_id: UUID
    sections: dict[str, Any]


class RetentionReport(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Counts only: a retention run never reports who it erased."""

    dry_run: bool
    retention_days: int
    cutoff: dt.datetime
    inactive: int  # not erased, last activity before the cutoff
    skipped_restricted: int  # of those, held under an Art. 18 restriction
    erased: int  # erased by this run (0 on a dry run)


# --- Pure rules -----------------------------------------------------------------------

_CENTS = Decimal("0.01")


def money(value: Decimal | float | int | str) -> str:
    """An amount as a two-decimal string (the wire never carries floats for money)."""
    return str(Decimal(str(value)).quantize(_CENTS))


def retention_cutoff(now: dt.datetime, retention_days: int) -> dt.datetime:
    """Customers whose last activity is before this instant are due for anonymisation."""
    return now - dt.timedelta(days=retention_days)


def retention_reference(now: dt.datetime, customer_id: UUID) -> str:
    """The erasure request reference a retention run records: ``retention-<date>-<id>``."""
    return f"retention-{now.date().isoformat()}-{customer_id}"
