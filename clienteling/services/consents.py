"""The consent ledger: capture answers, read histories, publish the notice texts.

Who reaches a customer's ledger is decided exactly as for the customer (scope, 404 when out
of scope); which fields of each record the caller sees, and whether they may capture, is the
policy's ``consent`` resource. Every capture and every history read is audited (field
names, never values).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import consents as repo
from clienteling.services.audit import AuditTrail, visible_fields
from domain.consent import (
    CLOCK_SKEW,
    EARLIEST_OCCURRED_AT,
    PURPOSES,
    ConsentCapture,
    ConsentEvent,
    ConsentHistory,
    ConsentRecorded,
    ConsentRecordView,
    ConsentState,
    NoticeCreate,
    NoticeView,
    current_states,
    notice_sha256,
)
from domain.errors import Conflict, Forbidden, NotFound, ProcessingRestricted, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.staff import Principal
from permissions import Decision, RecordContext, decide
from permissions.decision import check_create

__all__ = ["ConsentLedger"]

# Why the audit trail says these accesses happened.
_AUDIT_PURPOSE = "consent_management"
# Column -> wire field name, where they differ.
_WIRE = {"store": "store_id", "notice": "notice_id"}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _no_nul(value: str | None, field: str) -> None:
    # PostgreSQL text cannot hold NUL; refuse it on both databases alike.
    if value is not None and "\x00" in value:
        raise ValidationFailed(f"{field} contains a NUL character", extra={"field": field})


def _event(row: dict[str, Any]) -> ConsentEvent:
    return ConsentEvent(
        purpose=row["purpose"], status=row["status"], occurred_at=row["occurred_at"],
        expires_at=row["expires_at"], notice_version=row["policy_version"],
    )


def _record_view(decision: Decision, row: dict[str, Any]) -> ConsentRecordView:
    values = {
        "purpose": row["purpose"], "status": row["status"], "occurred_at": row["occurred_at"],
        "expires_at": row["expires_at"], "legal_basis": row["legal_basis"], "channel": row["channel"],
        "collected_by": row["collected_by"], "store_id": row["store"], "device_id": row["device_id"],
        "policy_version": row["policy_version"], "notice_sha256": row["notice_sha256"],
        "language": row["language"], "evidence": row["evidence"], "recorded_at": row["recorded_at"],
    }
    # The notice id identifies the same text as its fingerprint: visible with it.
    notice_id = row["notice"] if decision.fields.get("notice_sha256") == "full" else None
    return ConsentRecordView(id=row["id"], customer_id=row["customer"], notice_id=notice_id, **decision.project(values))


def _state_view(decision: Decision, purpose: str, state: ConsentState | None) -> ConsentState:
    """The state of one purpose through the caller's field view (a role that may not read
    ``status`` learns nothing about it)."""
    full = {f for f, a in decision.fields.items() if a == "full"}
    if state is None or "status" not in full:
        return ConsentState(purpose=purpose, granted=False, status=None, since=None, expires_at=None, notice_version=None)
    return ConsentState(
        purpose=purpose,
        granted=state.granted,
        status=state.status,
        since=state.since if "occurred_at" in full else None,
        expires_at=state.expires_at if "expires_at" in full else None,
        notice_version=state.notice_version if "policy_version" in full else None,
    )


def _states(decision: Decision, rows: list[dict[str, Any]], purposes: tuple[str, ...], now: dt.datetime) -> list[ConsentState]:
    derived = current_states((_event(r) for r in rows), now)
    return [_state_view(decision, p, derived.get(p)) for p in purposes]


def _order_key(row: dict[str, Any]) -> tuple[dt.datetime, dt.datetime, UUID]:
    return (row["occurred_at"], row["recorded_at"], row["id"])


def _cursor_of(row: dict[str, Any]) -> str:
    return encode_cursor([row["occurred_at"].isoformat(), row["recorded_at"].isoformat(), str(row["id"])])


def _parse_history_cursor(cursor: str) -> tuple[dt.datetime, dt.datetime, UUID]:
    occurred, recorded, last = decode_cursor(cursor, 3)
    try:
        return dt.datetime.fromisoformat(str(occurred)), dt.datetime.fromisoformat(str(recorded)), UUID(str(last))
    except ValueError:
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None


def _notice_view(row: dict[str, Any]) -> NoticeView:
    return NoticeView(
        id=row["id"], purpose=row["purpose"], version=row["version"], language=row["language"],
        sha256=row["sha256"], published_at=row["published_at"], text=row["text"],
    )


class ConsentLedger:
    def __init__(self, policies: PolicyStore, audit: AuditTrail) -> None:
        self.policies = policies
        self.audit = audit

    # -- reachability ------------------------------------------------------------------------

    def _decide(self, principal: Principal, row: dict[str, Any] | None) -> Decision:
        """The caller's view of this customer's consent records: 404 when the customer is
        absent, erased or out of the caller's customer scope (existence is not disclosed),
        403 when the caller reaches the customer but their role has no consent access."""
        if row is None or row["erased_at"] is not None:
            raise NotFound("No such customer")
        policy = self.policies.current
        record = RecordContext(
            store_id=row["home_store"],
            primary_associate_id=row["primary_associate"],
            secondary_associate_id=row["secondary_associate"],
        )
        try:
            decide(policy, principal, "customer", record)
        except Forbidden:
            raise NotFound("No such customer") from None
        return decide(policy, principal, "consent", record)

    # -- the ledger --------------------------------------------------------------------------

    async def record(self, principal: Principal, customer_id: UUID, data: ConsentCapture, *, record_id: UUID | None = None) -> ConsentRecorded:
        """Append one consent answer to the customer's ledger and return it with the
        customer's derived states. A grant needs the notice that was shown; for a customer
        whose processing is restricted (Art. 18) only withdrawals and denials are accepted."""
        now = _utcnow()
        given = ["purpose", "status", "occurred_at", "channel", "legal_basis"]
        given += [f for f in ("expires_at", "device_id", "evidence") if getattr(data, f) is not None]
        async with db.transaction():
            row = await repo.customer(customer_id, lock=True)
            decision = self._decide(principal, row)
            assert row is not None
            check_create(self.policies.current, principal, "consent", row["home_store"], given)
            occurred_at, expires_at = self._check_capture(data, now)
            if data.status == "granted" and row["restricted_at"] is not None:
                raise ProcessingRestricted(
                    "Processing of this customer's data is restricted (GDPR Art. 18): a new grant "
                    "cannot be recorded; withdrawals and denials still can"
                )
            notice = None
            if data.notice_id is not None:
                notice = await repo.notice(data.notice_id)
                if notice is None:
                    raise ValidationFailed("noticeId does not name a published consent notice", extra={"field": "noticeId"})
                if notice["purpose"] != data.purpose:
                    raise ValidationFailed(
                        f"The notice is for {notice['purpose']}, not {data.purpose}", extra={"field": "noticeId"}
                    )
            values = {
                "id": record_id or uuid4(),
                "customer": customer_id,
                "purpose": data.purpose,
                "status": data.status,
                "occurred_at": occurred_at,
                "expires_at": expires_at,
                "legal_basis": data.legal_basis,
                "channel": data.channel,
                "collected_by": principal.staff_id,
                # The store only when the collector works at the customer's home store.
                "store": row["home_store"] if row["home_store"] in principal.store_ids else None,
                "device_id": data.device_id or principal.device_id,
                "policy_version": notice["version"] if notice else None,
                "notice_sha256": notice["sha256"] if notice else None,
                "language": notice["language"] if notice else None,
                "evidence": data.evidence,
                "recorded_at": now,
                "notice": notice["id"] if notice else None,
            }
            await repo.insert_record(values)
            rows = await repo.records(customer_id)
            written = {_WIRE.get(k, k) for k, v in values.items() if v is not None and k not in ("id", "customer")}
            await self.audit.record(
                principal, action="consent_record", customer_ids=[customer_id], fields=written, purpose=_AUDIT_PURPOSE,
            )
        return ConsentRecorded(record=_record_view(decision, values), current=_states(decision, rows, PURPOSES, now))

    @staticmethod
    def _check_capture(data: ConsentCapture, now: dt.datetime) -> tuple[dt.datetime, dt.datetime | None]:
        occurred_at = data.occurred_at.astimezone(dt.timezone.utc)
        if occurred_at > now + CLOCK_SKEW:
            raise ValidationFailed("occurredAt is in the future", extra={"field": "occurredAt"})
        if occurred_at < EARLIEST_OCCURRED_AT:
            raise ValidationFailed("occurredAt is before 2000", extra={"field": "occurredAt"})
        expires_at = data.expires_at.astimezone(dt.timezone.utc) if data.expires_at else None
        if expires_at is not None and expires_at <= occurred_at:
            raise ValidationFailed("expiresAt must be after occurredAt", extra={"field": "expiresAt"})
        if data.status == "granted" and data.notice_id is None:
            raise ValidationFailed("A grant needs the noticeId of the notice text shown", extra={"field": "noticeId"})
        _no_nul(data.evidence, "evidence")
        return occurred_at, expires_at

    async def history(self, principal: Principal, customer_id: UUID, *, purpose: str | None = None, limit: int | None = None, cursor: str | None = None) -> ConsentHistory:
        """A page of the customer's ledger, newest first by ``occurredAt`` (then by when it
        was recorded), with the current state of each purpose (only ``purpose`` when given)."""
        history, _ = await self.history_with_cursors(principal, customer_id, purpose=purpose, limit=limit, cursor=cursor)
        return history

    async def history_with_cursors(self, principal: Principal, customer_id: UUID, *, purpose: str | None, limit: int | None, cursor: str | None) -> tuple[ConsentHistory, list[str]]:
        """:meth:`history`, plus a resumable cursor for every item (GraphQL edges)."""
        if purpose is not None and purpose not in PURPOSES:
            raise ValidationFailed(f"purpose must be one of {', '.join(PURPOSES)}", extra={"field": "purpose"})
        limit = check_limit(limit)
        after = _parse_history_cursor(cursor) if cursor else None
        decision = self._decide(principal, await repo.customer(customer_id))
        now = _utcnow()
        rows = await repo.records(customer_id)
        listed = sorted((r for r in rows if purpose is None or r["purpose"] == purpose), key=_order_key, reverse=True)
        if after is not None:
            listed = [r for r in listed if _order_key(r) < after]
        page = listed[: limit + 1]
        more = len(page) > limit
        page = page[:limit]
        await self.audit.record(
            principal, action="consent_read", customer_ids=[customer_id],
            fields=visible_fields(dict(decision.fields)), purpose=_AUDIT_PURPOSE,
        )
        cursors = [_cursor_of(r) for r in page]
        history = ConsentHistory(
            items=[_record_view(decision, r) for r in page],
            next_cursor=cursors[-1] if more else None,
            current=_states(decision, rows, (purpose,) if purpose else PURPOSES, now),
        )
        return history, cursors

    # -- notices -----------------------------------------------------------------------------

    async def notices(self, principal: Principal, *, purpose: str | None = None, language: str | None = None, limit: int | None = None, cursor: str | None = None) -> Page[NoticeView]:
        """Published notice texts, newest first: any signed-in staff member may read them
        (the tablet shows the text before asking)."""
        if purpose is not None and purpose not in PURPOSES:
            raise ValidationFailed(f"purpose must be one of {', '.join(PURPOSES)}", extra={"field": "purpose"})
        if language is not None and not (len(language) == 2 and language.isascii() and language.islower() and language.isalpha()):
            raise ValidationFailed("language must be a two-letter lower-case code", extra={"field": "language"})
        limit = check_limit(limit)
        after = None
        if cursor:
            at, last = decode_cursor(cursor, 2)
            try:
                after = (dt.datetime.fromisoformat(str(at)), UUID(str(last)))
            except ValueError:
                raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None
        rows = await repo.notices(purpose=purpose, language=language, after=after, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1]["published_at"].isoformat(), str(rows[-1]["id"])]) if more else None
        return Page(items=[_notice_view(r) for r in rows], next_cursor=next_cursor)

    async def notice(self, principal: Principal, notice_id: UUID) -> NoticeView:
        row = await repo.notice(notice_id)
        if row is None:
            raise NotFound("No such consent notice")
        return _notice_view(row)

    async def publish_notice(self, principal: Principal, data: NoticeCreate) -> NoticeView:
        """Publish a notice text. Its SHA-256 is computed here over the exact UTF-8 text; a
        (purpose, version, language) that already exists is a 409: published texts are never
        replaced, a changed text is a new version."""
        if not self.policies.current.allows(principal.role, "publish_consent_notice"):
            raise Forbidden("Your role may not publish consent notices")
        if not data.text.strip():
            raise ValidationFailed("text must not be blank", extra={"field": "text"})
        _no_nul(data.text, "text")
        now = _utcnow()
        values = {
            "id": uuid4(), "purpose": data.purpose, "version": data.version, "language": data.language,
            "text": data.text, "sha256": notice_sha256(data.text), "published_at": now, "published_by": principal.staff_id,
        }
        async with db.transaction():
            await repo.lock_notice_key(data.purpose, data.version, data.language)
            if await repo.notice_exists(data.purpose, data.version, data.language):
                raise Conflict(
                    f"Notice {data.version} for {data.purpose} in {data.language} is already published; publish a new version",
                    extra={"field": "version"},
                )
            await repo.insert_notice(values)
        return _notice_view(values)
