"""GraphQL types of the consents area, built from permission-filtered domain views."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import strawberry

from domain import consent as dc
from graphql_schema.customers.types import PageInfo

__all__ = [
    "ConsentNotice",
    "ConsentRecord",
    "ConsentState",
    "ConsentEdge",
    "ConsentConnection",
    "ConsentRecorded",
    "ConsentCaptureInput",
    "ConsentNoticeInput",
]


def _id(value: object) -> Optional[strawberry.ID]:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(description="The exact text shown when consent is asked; published once, never edited.")
class ConsentNotice:
    id: strawberry.ID
    purpose: str
    version: str
    language: str
    sha256: str = strawberry.field(description="SHA-256 (hex) of the exact UTF-8 text.")
    published_at: dt.datetime
    text: str

    @classmethod
    def of(cls, n: dc.NoticeView) -> "ConsentNotice":
        return cls(id=strawberry.ID(str(n.id)), purpose=n.purpose, version=n.version, language=n.language, sha256=n.sha256, published_at=n.published_at, text=n.text)


@strawberry.type(description="One consent ledger entry as the caller may see it; fields the role may not read are null.")
class ConsentRecord:
    id: strawberry.ID
    customer_id: strawberry.ID
    notice_id: Optional[strawberry.ID]
    purpose: Optional[str]
    status: Optional[str]
    occurred_at: Optional[dt.datetime]
    expires_at: Optional[dt.datetime]
    legal_basis: Optional[str]
    channel: Optional[str]
    collected_by: Optional[strawberry.ID]
    store_id: Optional[strawberry.ID]
    device_id: Optional[str]
    policy_version: Optional[str]
    notice_sha256: Optional[str]
    language: Optional[str]
    evidence: Optional[str]
    recorded_at: Optional[dt.datetime]

    @classmethod
    def of(cls, r: dc.ConsentRecordView) -> "ConsentRecord":
        return cls(
            id=strawberry.ID(str(r.id)), customer_id=strawberry.ID(str(r.customer_id)), notice_id=_id(r.notice_id),
            purpose=r.purpose, status=r.status, occurred_at=r.occurred_at, expires_at=r.expires_at,
            legal_basis=r.legal_basis, channel=r.channel, collected_by=_id(r.collected_by), store_id=_id(r.store_id),
            device_id=r.device_id, policy_version=r.policy_version, notice_sha256=r.notice_sha256,
            language=r.language, evidence=r.evidence, recorded_at=r.recorded_at,
        )


@strawberry.type(description="The current state of one purpose, derived from the whole ledger. `granted` is the answer to act on (an expired grant is not granted); `status` is that of the deciding entry, null if never asked.")
class ConsentState:
    purpose: str
    granted: bool
    status: Optional[str]
    since: Optional[dt.datetime]
    expires_at: Optional[dt.datetime]
    notice_version: Optional[str]

    @classmethod
    def of(cls, s: dc.ConsentState) -> "ConsentState":
        return cls(purpose=s.purpose, granted=s.granted, status=s.status, since=s.since, expires_at=s.expires_at, notice_version=s.notice_version)


@strawberry.type
class ConsentEdge:
    cursor: str
    node: ConsentRecord


@strawberry.type(description="A page of a customer's consent ledger, newest first, with the current state per purpose.")
class ConsentConnection:
    edges: list[ConsentEdge]
    page_info: PageInfo
    current: list[ConsentState]


@strawberry.type(description="The recorded entry and the customer's consent states after it.")
class ConsentRecorded:
    record: ConsentRecord
    current: list[ConsentState]

    @classmethod
    def of(cls, r: dc.ConsentRecorded) -> "ConsentRecorded":
        return cls(record=ConsentRecord.of(r.record), current=[ConsentState.of(s) for s in r.current])


@strawberry.input(description="One consent answer as collected. A grant needs noticeId (the text shown).")
class ConsentCaptureInput:
    purpose: str = strawberry.field(description="marketing_email, marketing_sms, push_notifications, personalization, in_store_recognition or third_party_sharing.")
    status: str = strawberry.field(description="granted, denied or withdrawn.")
    occurred_at: dt.datetime = strawberry.field(description="When the customer answered, on the device's clock, with a time zone.")
    channel: str = strawberry.field(description="store_tablet, web, app or import.")
    notice_id: Optional[strawberry.ID] = strawberry.UNSET
    expires_at: Optional[dt.datetime] = strawberry.UNSET
    legal_basis: Optional[str] = strawberry.field(default=strawberry.UNSET, description="consent (default), contract, legal_obligation or legitimate_interest.")
    device_id: Optional[str] = strawberry.UNSET
    evidence: Optional[str] = strawberry.field(default=strawberry.UNSET, description="E.g. a signature reference; at most 500 characters.")


@strawberry.input(description="A new consent notice text.")
class ConsentNoticeInput:
    purpose: str
    version: str
    language: str
    text: str
