"""GraphQL shapes of data-subject request results."""

from __future__ import annotations

import datetime as dt
from typing import Optional

import strawberry

from domain.data_subject import ErasureResult as ErasureResultValue
from domain.data_subject import RestrictionState as RestrictionStateValue

__all__ = ["ErasureResult", "RestrictionState"]


@strawberry.type(description="The outcome of an erasure request. `status` is `erased` when this request erased the customer, `already_erased` when an earlier one had.")
class ErasureResult:
    customer_id: strawberry.ID
    request_reference: str
    status: str
    erased_at: dt.datetime
    completed_at: dt.datetime
    requested_by: Optional[strawberry.ID]

    @classmethod
    def of(cls, r: ErasureResultValue) -> "ErasureResult":
        return cls(
            customer_id=strawberry.ID(str(r.customer_id)), request_reference=r.request_reference, status=r.status,
            erased_at=r.erased_at, completed_at=r.completed_at,
            requested_by=strawberry.ID(str(r.requested_by)) if r.requested_by else None,
        )


@strawberry.type(description="A customer's restriction of processing (GDPR Art. 18). `changed` is false when it already was as asked.")
class RestrictionState:
    customer_id: strawberry.ID
    restricted: bool
    restricted_at: Optional[dt.datetime]
    request_reference: str
    changed: bool

    @classmethod
    def of(cls, r: RestrictionStateValue) -> "RestrictionState":
        return cls(
            customer_id=strawberry.ID(str(r.customer_id)), restricted=r.restricted, restricted_at=r.restricted_at,
            request_reference=r.request_reference, changed=r.changed,
        )
