"""Consent purposes, the ledger's wire shapes and the rule that derives the current state.

The ledger is append-only: every capture (grant, denial, withdrawal) is a new record. What a
customer has consented to *now* is derived from the whole history by :func:`current_states`
(and :func:`active_purposes`, its set-of-purposes form), so records may arrive in any order
(tablets sync late) and the answer is the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

__all__ = [
    "PURPOSES",
    "CONSENT_FIELDS",
    "ConsentStatus",
    "LegalBasis",
    "ConsentChannel",
    "ConsentEvent",
    "ConsentState",
    "ConsentCapture",
    "ConsentRecordView",
    "ConsentHistory",
    "ConsentRecorded",
    "NoticeCreate",
    "NoticeView",
    "active_purposes",
    "current_states",
    "notice_sha256",
    "CLOCK_SKEW",
    "EARLIEST_OCCURRED_AT",
]

PURPOSES: tuple[str, ...] = (
    "marketing_email",
    "marketing_sms",
    "push_notifications",
    "personalization",
    "in_store_recognition",
    "third_party_sharing",
)

# Fields of a consent record the permission policy governs (resource ``consent``), in wire
# (snake) form. ``id`` and ``customer_id`` are always visible to whoever reaches the record.
CONSENT_FIELDS: tuple[str, ...] = (
    "purpose",
    "status",
    "occurred_at",
    "expires_at",
    "legal_basis",
    "channel",
    "collected_by",
    "store_id",
    "device_id",
    "policy_version",
    "notice_sha256",
    "language",
    "evidence",
    "recorded_at",
)

ConsentStatus = Literal["granted", "denied", "withdrawn"]
LegalBasis = Literal["consent", "contract", "legal_obligation", "legitimate_interest"]
ConsentChannel = Literal["store_tablet", "web", "app", "import"]
Purpose = Literal[
    "marketing_email",
    "marketing_sms",
    "push_notifications",
    "personalization",
    "in_store_recognition",
    "third_party_sharing",
]

# A tablet's clock may run a little ahead of the server's; beyond this, "future" is refused.
CLOCK_SKEW = dt.timedelta(minutes=5)
EARLIEST_OCCURRED_AT = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)

_RANK = {"granted": 0, "denied": 1, "withdrawn": 2}

AwareDatetime = Annotated[dt.datetime, Meta(tz=True)]
DeviceId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Language = Annotated[str, Meta(pattern=r"^[a-z]{2}$")]
NoticeVersion = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class ConsentEvent(msgspec.Struct, frozen=True):
    """One ledger entry, as the derivation rule needs it."""

    purpose: str
    status: ConsentStatus
    occurred_at: dt.datetime
    expires_at: dt.datetime | None = None
    notice_version: str | None = None


class ConsentState(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """The current state of one purpose. ``status`` is that of the deciding ledger entry
    (``None``: never asked); ``granted`` is the effective answer (a grant past its
    ``expiresAt`` is not granted)."""

    purpose: str
    granted: bool
    status: ConsentStatus | None
    since: dt.datetime | None
    expires_at: dt.datetime | None
    notice_version: str | None


def _wins_key(ev: ConsentEvent) -> tuple:
    """Total order on events of one purpose; the greatest decides.

    Later ``occurred_at`` first (arrival order never matters); at the same instant a
    withdrawal beats a denial beats a grant; between two grants at the same instant the one
    that expires first (the narrower consent) wins; the notice version only makes the order
    total, so every permutation of the same events gives the same answer.
    """
    expiry = (0, 0.0) if ev.expires_at is None else (1, -ev.expires_at.timestamp())
    return (ev.occurred_at, _RANK[ev.status], expiry, ev.notice_version or "")


def _latest(events: Iterable[ConsentEvent]) -> dict[str, ConsentEvent]:
    latest: dict[str, ConsentEvent] = {}
    for ev in events:
        cur = latest.get(ev.purpose)
        if cur is None or _wins_key(ev) > _wins_key(cur):
            latest[ev.purpose] = ev
    return latest


def _is_granted(ev: ConsentEvent, now: dt.datetime) -> bool:
    return ev.status == "granted" and (ev.expires_at is None or ev.expires_at > now)


def current_states(events: Iterable[ConsentEvent], now: dt.datetime) -> dict[str, ConsentState]:
    """The deciding ledger entry of every purpose that has one, as a :class:`ConsentState`.

    The latest event by the time it happened wins, not by arrival (tablets sync late); at the
    same instant a withdrawal or denial beats a grant. An expired grant counts as not given.
    """
    return {
        purpose: ConsentState(
            purpose=purpose,
            granted=_is_granted(ev, now),
            status=ev.status,
            since=ev.occurred_at,
            expires_at=ev.expires_at,
            notice_version=ev.notice_version,
        )
        for purpose, ev in _latest(events).items()
    }


def active_purposes(events: Iterable[ConsentEvent], now: dt.datetime) -> frozenset[str]:
    """Purposes currently granted: those whose :func:`current_states` entry is granted."""
    return frozenset(p for p, ev in _latest(events).items() if _is_granted(ev, now))


def notice_sha256(text: str) -> str:
    """The fingerprint of a notice: SHA-256 over the exact UTF-8 bytes of its text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- wire shapes --------------------------------------------------------------------------


class ConsentCapture(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """One consent answer as the tablet (or web, app, import) collected it.

    ``occurredAt`` is when the customer answered, on the collecting device's clock; it may be
    long before the record reaches the server. ``noticeId`` names the exact notice text shown
    and is required for a grant."""

    purpose: Purpose
    status: ConsentStatus
    occurred_at: AwareDatetime
    channel: ConsentChannel
    notice_id: UUID | None = None
    expires_at: AwareDatetime | None = None
    legal_basis: LegalBasis = "consent"
    device_id: DeviceId | None = None
    evidence: Annotated[str, Meta(min_length=1, max_length=500)] | None = None


class ConsentRecordView(msgspec.Struct, rename="camel", kw_only=True):
    """A ledger entry as the caller may see it: fields the role may not read are ``null``."""

    id: UUID
    customer_id: UUID
    notice_id: UUID | None = None
    purpose: str | None = None
    status: ConsentStatus | None = None
    occurred_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    legal_basis: str | None = None
    channel: str | None = None
    collected_by: UUID | None = None
    store_id: UUID | None = None
    device_id: str | None = None
    policy_version: str | None = None
    notice_sha256: str | None = None
    language: str | None = None
    evidence: str | None = None
    recorded_at: dt.datetime | None = None


class ConsentHistory(msgspec.Struct, rename="camel", kw_only=True):
    """A page of a customer's ledger, newest first, with the current state per purpose."""

    items: list[ConsentRecordView]
    next_cursor: str | None
    current: list[ConsentState]


class ConsentRecorded(msgspec.Struct, rename="camel", kw_only=True):
    """The answer to a capture: the new record and the customer's states after it."""

    record: ConsentRecordView
    current: list[ConsentState]


class NoticeCreate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A new notice text. Published once, never edited: a changed text is a new version."""

    purpose: Purpose
    version: NoticeVersion
    language: Language
    text: Annotated[str, Meta(min_length=1, max_length=20000)]


class NoticeView(msgspec.Struct, rename="camel", kw_only=True):
    id: UUID
    purpose: str
    version: str
    language: str
    sha256: str
    published_at: dt.datetime
    text: str
