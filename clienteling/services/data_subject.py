"""Data-subject rights: export (Art. 15/20), erasure (Art. 17), restriction (Art. 18), and
the retention run that anonymises customers nobody has dealt with for too long.

These are compliance-officer actions (capabilities ``export_customer``, ``erase_customer``,
``restrict_customer``) and every one of them lands in the audit trail. They read the
customer's rows whatever their state (soft-deleted, erased), because a request concerns
whatever is still stored, not what staff screens show."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from uuid import UUID

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import data_subject as repo
from clienteling.repositories import idempotency as idempotency_repo
from clienteling.repositories import members as members_repo
from clienteling.repositories import push as push_repo
from clienteling.services.export_sections import EXPORT_SECTIONS
from domain.data_subject import (
    ERASED_NAME,
    ERASED_TEXT,
    EXPORT_FORMAT_VERSION,
    CustomerErased,
    CustomerExport,
    ErasureResult,
    ReferenceInUse,
    RestrictionState,
    RetentionReport,
    retention_cutoff,
    retention_reference,
)
from domain.errors import Conflict, Forbidden, NotFound
from domain.staff import Principal
from domain.text import name_key

if TYPE_CHECKING:
    from clienteling.services.audit import AuditTrail

__all__ = ["DataSubjectService", "ERASED_CUSTOMER_FIELDS"]

# The purpose recorded in the audit trail for these actions.
_DSR = "data_subject_request"
_RETENTION = "retention"


def _uuid(value: Any) -> UUID | None:
    return None if value is None else value if isinstance(value, UUID) else UUID(str(value))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# Customer columns an erasure overwrites (audit field names; values never reach the trail).
ERASED_CUSTOMER_FIELDS: tuple[str, ...] = (
    "first_name", "last_name", "email", "phone", "birthdate", "language", "primary_associate_id",
    "secondary_associate_id", "sizes", "preferences", "tags", "vip", "loyalty_number",
)
_ERASED_RELATED = (
    "note.*", "wishlist.*", "task.*", "appointment.*", "check_in.*", "consent.evidence", "consent.device_id",
    "break_glass.reason", "member_account.*", "push_subscription.*",
)


def _anonymised(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    return {
        "first_name": ERASED_NAME,
        "last_name": ERASED_NAME,
        "email": None,
        "phone": None,
        "birthdate": None,
        "language": "en",
        "primary_associate": None,
        "secondary_associate": None,
        "sizes": {},
        "preferences": {},
        "tags": [],
        "vip": False,
        "loyalty_number": None,
        # Keys derived from the erased values: the search keys, and the birthday (month and
        # day) kept for "birthday in the next N days", which with the rest could single the
        # person out again.
        "name_key": name_key(ERASED_NAME, ERASED_NAME),
        "email_key": None,
        "phone_key": None,
        "birth_mmdd": None,
        "erased_at": now,
        "deleted_at": row["deleted_at"] or now,
        "updated_at": now,
    }


class DataSubjectService:
    def __init__(self, policies: PolicyStore, audit: "AuditTrail") -> None:
        self.policies = policies
        self.audit = audit

    def _require(self, principal: Principal, capability: str, what: str) -> None:
        if not self.policies.current.allows(principal.role, capability):
            raise Forbidden(f"Your role may not {what}")

    async def export(self, principal: Principal, customer_id: UUID, *, request_reference: str | None = None) -> CustomerExport:
        """Everything held about the customer (Art. 15 access, Art. 20 portability), as one
        document of sections (``services.export_sections``): the full values whatever the field policy says, because it is
        the data subject's own data served under their request. Erased customers export
        what remains (pseudonymised rows kept by law). Reads only, so repeating it is
        harmless; each export is audited (action ``export``) before it is returned."""
        self._require(principal, "export_customer", "export customer data")
        row = await repo.customer(customer_id)
        if row is None:
            raise NotFound("No such customer")
        sections = {name: await build(row) for name, build in EXPORT_SECTIONS}
        document = CustomerExport(
            format_version=EXPORT_FORMAT_VERSION, exported_at=_now(), customer_id=customer_id, sections=sections,
        )
        await self.audit.record(
            principal, action="export", customer_ids=[customer_id], fields=[f"export.{name}" for name in sections],
            purpose=_DSR, reference=request_reference,
        )
        return document

    async def erase(self, principal: Principal, customer_id: UUID, request_reference: str) -> ErasureResult:
        """Art. 17 erasure, in one transaction, recorded under ``request_reference``.

        Removed: the customer's names (replaced by a fixed placeholder), email, phone,
        birthdate, language, sizes, preferences, tags, VIP flag, loyalty card number, their
        associates and the keys derived from them (the search keys and ``birth_mmdd``, the
        birthday the birthday filters and tasks use); every note (hard-deleted, private
        ones too: free text about a person cannot be pseudonymised); wishlist items, tasks,
        appointments and store check-ins (clienteling activity no law asks us to keep, much
        of it free text); stored Idempotency-Key answers that mention the customer; the
        evidence and capture device of consent records; the reasons staff typed for
        break-glass access (replaced by ``[erased]``); the member account (sign-in and
        notification preferences) and every push subscription, and queued notifications
        are cancelled.

        Kept, pseudonymised under the customer's opaque id: purchases with their lines and
        returns, and the loyalty tier, points and ledger (bookkeeping and tax law require sales
        records for years, and the loyalty balance backs issued rewards); the history of
        notifications sent (types, statuses and times, no content); integration
        webhook receipts (ids only); consent records' purpose, status, times,
        channel, notice and its hash (Art. 7(1): the controller must be able to prove consent
        was given or withdrawn); the break-glass grants without their reasons and the whole
        audit trail (ids and field names only, never values; Art. 5(2) accountability, and
        append-only by design); the erasure request itself, as proof of erasure.

        The customer row is marked erased and deleted and its version bumped, so it
        disappears for staff on every surface and tablets receive the change as a tombstone
        carrying no personal values.

        Idempotent: the same reference again answers the first result and writes nothing; a
        new reference for an already erased customer is recorded as its own request and
        answers ``already_erased``. A reference used for another customer is refused."""
        self._require(principal, "erase_customer", "erase customers")
        result = await self._erase(principal, customer_id, request_reference, action="erase", purpose=_DSR)
        assert result is not None
        return result

    async def _erase(
        self, actor: Principal | None, customer_id: UUID, reference: str, *, action: str, purpose: str,
        inactive_before: dt.datetime | None = None,
    ) -> ErasureResult | None:
        """The erasure (see :meth:`erase`). With ``inactive_before`` (retention), a customer
        who meanwhile became active, restricted or erased is left alone and None is returned."""
        async with db.transaction():
            row = await repo.customer(customer_id, lock=True)
            if row is None:
                raise NotFound("No such customer")
            existing = await repo.erasure_request(reference)
            if existing is not None:
                if existing["customer"] != customer_id:
                    raise ReferenceInUse("This request reference was used for another customer", extra={"field": "requestReference"})
                return _result(existing, row)
            if inactive_before is not None and (
                row["erased_at"] is not None or row["restricted_at"] is not None
                or row["updated_at"] >= inactive_before or await repo.active_since(customer_id, inactive_before)
            ):
                return None
            now = _now()
            fields: list[str] = []
            if row["erased_at"] is None:
                if not await repo.anonymise_customer(customer_id, _anonymised(row, now), expected_version=row["version"]):
                    raise Conflict("The customer was changed meanwhile; try again")
                await repo.delete_notes(customer_id)
                await repo.delete_activity(customer_id)
                # Stored answers replayed to retried POSTs can quote the customer.
                await idempotency_repo.purge_mentioning(str(customer_id))
                await repo.redact_consent_evidence(customer_id)
                await repo.redact_break_glass_reasons(customer_id, ERASED_TEXT)
                # Web Push: the devices and the sign-in go; queued notifications are cancelled
                # (the delivery history keeps ids, types and times only).
                await push_repo.delete_subscriptions_of_customer(customer_id)
                await push_repo.cancel_pending_of_customer(customer_id)
                await members_repo.delete_for_customer(customer_id)
                fields = [*ERASED_CUSTOMER_FIELDS, *_ERASED_RELATED]
                row = {**row, "erased_at": now}
            request = {
                "customer": customer_id, "reference": reference,
                "requested_by": actor.staff_id if actor else None, "completed_at": now,
            }
            if not await repo.insert_erasure_request(request):
                raise ReferenceInUse("This request reference was just used by another request", extra={"field": "requestReference"})
            await self.audit.record(actor, action=action, customer_ids=[customer_id], fields=fields, purpose=purpose, reference=reference)
        return _result(request, row)

    async def restrict(self, principal: Principal, customer_id: UUID, *, restricted: bool, request_reference: str) -> RestrictionState:
        """Art. 18: set or lift the restriction of processing. While restricted, staff may
        still open the customer but every change is refused (``PROCESSING_RESTRICTED``), and
        no push or profiling may use their data; retention runs leave them alone (the
        subject may need the data kept, Art. 18(1)(b)-(c)). Nothing is removed. Idempotent:
        asking for the state already in force changes and audits nothing. The change bumps
        the version so tablets pick the read-only state up."""
        self._require(principal, "restrict_customer", "restrict processing of customer data")
        async with db.transaction():
            row = await repo.customer(customer_id, lock=True)
            if row is None:
                raise NotFound("No such customer")
            if row["erased_at"] is not None:
                raise CustomerErased("The customer has been erased; nothing is left to restrict")
            if (row["restricted_at"] is not None) == restricted:
                return RestrictionState(
                    customer_id=customer_id, restricted=restricted, restricted_at=row["restricted_at"],
                    request_reference=request_reference, changed=False,
                )
            now = _now()
            at = now if restricted else None
            if not await repo.set_restricted(customer_id, at, now, expected_version=row["version"]):
                raise Conflict("The customer was changed meanwhile; try again")
            await self.audit.record(
                principal, action="restrict" if restricted else "unrestrict", customer_ids=[customer_id],
                fields=["restricted_at"], purpose=_DSR, reference=request_reference,
            )
        return RestrictionState(customer_id=customer_id, restricted=restricted, restricted_at=at, request_reference=request_reference, changed=True)

    async def run_retention(self, *, retention_days: int, dry_run: bool, now: dt.datetime | None = None) -> RetentionReport:
        """Anonymise every customer not yet erased whose last activity (profile change,
        purchase or consent event) is older than ``retention_days``, exactly as an Art. 17
        erasure would (same kept and removed data, see :meth:`erase`), each in its own
        transaction under the reference ``retention-<date>-<customer id>`` and audited as
        ``retention_erase`` by the system. Restricted customers are skipped (Art. 18). With
        ``dry_run`` nothing is written. Idempotent: erased customers are not candidates
        again, and a repeated reference is not erased twice. The report holds counts only."""
        now = now or _now()
        cutoff = retention_cutoff(now, retention_days)
        inactive = await repo.inactive_customers(cutoff)
        due = [r["id"] for r in inactive if r["restricted_at"] is None]
        erased = 0
        if not dry_run:
            for customer_id in due:
                result = await self._erase(
                    None, customer_id, retention_reference(now, customer_id), action="retention_erase",
                    purpose=_RETENTION, inactive_before=cutoff,
                )
                erased += result is not None and result.status == "erased"
        return RetentionReport(
            dry_run=dry_run, retention_days=retention_days, cutoff=cutoff, inactive=len(inactive),
            skipped_restricted=len(inactive) - len(due), erased=erased,
        )


def _result(request: dict[str, Any], row: dict[str, Any]) -> ErasureResult:
    """The answer for a recorded request: ``erased`` if it is the request that erased the
    customer (its completion is the erasure instant), ``already_erased`` otherwise."""
    erased_at = row["erased_at"]
    return ErasureResult(
        customer_id=row["id"], request_reference=request["reference"],
        status="erased" if request["completed_at"] == erased_at else "already_erased",
        erased_at=erased_at, completed_at=request["completed_at"], requested_by=_uuid(request["requested_by"]),
    )
