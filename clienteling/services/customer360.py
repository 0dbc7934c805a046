"""The customer 360 beyond the profile: purchases, consent summary and the merged timeline.

Every method takes many customers at once (dataloaders batch a whole GraphQL request into
one call per kind), so the number of statements a 360 costs is fixed, whatever the number
of purchases, notes or consent answers. Each record goes through the policy decision of its
resource, reached through its customer (the customer's row scope first); each batch that
hands out personal data leaves one audit entry naming field names, never values.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any
from uuid import UUID

import msgspec

from clienteling.policy_store import PolicyStore
from clienteling.repositories import purchases as purchase_repo
from clienteling.repositories import timeline as timeline_repo
from clienteling.services.audit import AuditTrail, visible_fields
from clienteling.services import customer_rows
from domain import customer360 as rules
from domain.consent import PURPOSES, ConsentEvent, active_purposes, current_states
from domain.customer360 import ConsentSummary, PurchaseLineView, PurchaseView, TimelineEvent, money
from domain.errors import Forbidden, NotFound, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.staff import Principal
from permissions import Decision, Policy, RecordContext, decide

__all__ = ["Customer360Service", "ReachedCustomer", "PurchaseRequest", "PurchasePage"]

_PURPOSE = "clienteling"

PurchaseRequest = tuple[UUID, int, str | None]  # customer, page size, cursor
PurchasePage = tuple[Page[PurchaseView], list[str]]  # the page and one cursor per item

# The timeline's sources (clienteling.repositories.timeline) by the resource whose access
# they need: purchases, returns and store visits all hang on "purchase".
_TIMELINE_SOURCES: dict[str, tuple[str, ...]] = {
    "purchase": ("purchase", "return", "check_in"),
    "note": ("note",),
    "appointment": ("appointment",),
    "task": ("task",),
    "consent": ("consent",),
}


class ReachedCustomer(msgspec.Struct, frozen=True):
    """A customer the caller reaches, with what the decisions about their records need."""

    id: UUID
    store_id: UUID
    primary_associate_id: UUID | None
    secondary_associate_id: UUID | None
    restricted: bool
    consents: frozenset[str]
    consent_events: tuple[ConsentEvent, ...]

    def context(self, *, store_id: UUID | None = None, **extra: Any) -> RecordContext:
        """The decision context of one of the customer's records (``store_id``: the record's
        own store where it has one, else the customer's home store)."""
        return RecordContext(
            store_id=store_id or self.store_id, primary_associate_id=self.primary_associate_id,
            secondary_associate_id=self.secondary_associate_id, consents=self.consents,
            restricted=self.restricted, **extra,
        )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _decision(policy: Policy, principal: Principal, resource: str, ctx: RecordContext) -> Decision | None:
    try:
        return decide(policy, principal, resource, ctx)
    except Forbidden:
        return None


def _readable(decision: Decision | None, field: str) -> bool:
    return decision is not None and decision.fields.get(field) == "full"


def _purchase_cursor(row: dict[str, Any]) -> str:
    # Position only: an instant and a random id, nothing about the person.
    return encode_cursor([row["occurred_at"].astimezone(dt.timezone.utc).isoformat(), str(row["id"])])


def _parse_purchase_cursor(cursor: str) -> tuple[dt.datetime, UUID]:
    at, last = decode_cursor(cursor, 2)
    try:
        return dt.datetime.fromisoformat(str(at)), UUID(str(last))
    except ValueError:
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None


class Customer360Service:
    def __init__(self, policies: PolicyStore, audit: AuditTrail) -> None:
        self.policies = policies
        self.audit = audit

    # -- reaching customers ------------------------------------------------------------------

    async def reach(self, principal: Principal, customer_ids: list[UUID]) -> dict[UUID, ReachedCustomer]:
        """The customers among ``customer_ids`` the caller reaches now (two statements: the
        rows and their consent ledgers; inside a GraphQL query on PostgreSQL one, see
        :mod:`clienteling.services.customer_rows`); absent, erased and out-of-scope ones are
        left out."""
        policy = self.policies.current
        rows = []
        for row in await customer_rows.get_many(list(dict.fromkeys(customer_ids))):
            if row.get("erased_at") is not None:
                continue
            ctx = RecordContext(store_id=row["home_store"], primary_associate_id=row["primary_associate"], secondary_associate_id=row["secondary_associate"])
            if _decision(policy, principal, "customer", ctx) is not None:
                rows.append(row)
        events = await customer_rows.consent_events([r["id"] for r in rows]) if rows else {}
        now = _utcnow()
        return {
            r["id"]: ReachedCustomer(
                id=r["id"], store_id=r["home_store"], primary_associate_id=r["primary_associate"],
                secondary_associate_id=r["secondary_associate"], restricted=r.get("restricted_at") is not None,
                consents=active_purposes(events.get(r["id"], []), now), consent_events=tuple(events.get(r["id"], [])),
            )
            for r in rows
        }

    def _require(self, principal: Principal, resource: str) -> Policy:
        policy = self.policies.current
        if policy.resource(principal.role, resource) is None:
            raise Forbidden(f"Your role has no access to {resource} records")
        return policy

    # -- purchases ---------------------------------------------------------------------------

    async def purchase_page(self, principal: Principal, customer_id: UUID, *, limit: int | None, cursor: str | None) -> Page[PurchaseView]:
        """One page of a customer's purchases, newest first (REST)."""
        limit = check_limit(limit)
        self._require(principal, "purchase")
        reached = await self.reach(principal, [customer_id])
        if customer_id not in reached:
            raise NotFound("No such customer")
        pages = await self.purchases(principal, reached, [(customer_id, limit, cursor)])
        return pages[(customer_id, limit, cursor)][0]

    async def purchases(self, principal: Principal, reached: dict[UUID, ReachedCustomer], requests: list[PurchaseRequest]) -> dict[PurchaseRequest, PurchasePage]:
        """Pages of purchases for several customers: one statement per distinct (page size,
        cursor) asked for, which on PostgreSQL brings the lines too (SQLite: one more for all
        their lines). Lines are read only where the caller may see them. Customers not
        reached get an empty page; fields the caller may not read are null (``lines`` too)."""
        policy = self._require(principal, "purchase")
        groups: dict[tuple[int, str | None], list[UUID]] = defaultdict(list)
        for cid, limit, cursor in requests:
            check_limit(limit, "first")
            if cid in reached:
                groups[(limit, cursor)].append(cid)
        decisions = {cid: _decision(policy, principal, "purchase", c.context()) for cid, c in reached.items()}
        fetched: dict[tuple[UUID, int, str | None], list[dict[str, Any]]] = {}
        lines: dict[UUID, list[dict[str, Any]]] = {}
        lines_read = True  # PostgreSQL reads each page's lines with it; SQLite after
        for (limit, cursor), ids in groups.items():
            before = _parse_purchase_cursor(cursor) if cursor else None
            ids = [i for i in ids if decisions.get(i) is not None]
            lines_of = [i for i in ids if _readable(decisions[i], "lines")]
            both = await purchase_repo.newest_with_lines(ids, limit=limit + 1, before=before, lines_of=lines_of, lines_limit=limit)
            if both is None:
                lines_read = False
                found = await purchase_repo.newest_for_customers(ids, limit=limit + 1, before=before)
            else:
                found, page_lines = both
                lines.update(page_lines)
            for cid in ids:
                fetched[(cid, limit, cursor)] = found.get(cid, [])
        if not lines_read:
            with_lines = [
                row["id"] for (cid, limit, _), rows in fetched.items() if _readable(decisions[cid], "lines") for row in rows[:limit]
            ]
            lines = await purchase_repo.lines_for(with_lines) if with_lines else {}
        out: dict[PurchaseRequest, PurchasePage] = {}
        read: set[UUID] = set()
        fields: set[str] = set()
        for key in requests:
            cid, limit, _ = key
            rows = fetched.get(key, [])
            more, rows = len(rows) > limit, rows[:limit]
            decision = decisions.get(cid)
            items = [self._purchase_view(decision, row, lines.get(row["id"], [])) for row in rows] if decision else []
            cursors = [_purchase_cursor(r) for r in rows]
            out[key] = (Page(items=items, next_cursor=cursors[-1] if more and cursors else None), cursors)
            if items and decision is not None:
                read.add(cid)
                fields.update(f"purchase.{f}" for f in visible_fields(dict(decision.fields)))
        if read:
            await self.audit.record(principal, action="purchase_read", customer_ids=read, fields=fields, purpose=_PURPOSE)
        return out

    @staticmethod
    def _purchase_view(decision: Decision, row: dict[str, Any], lines: list[dict[str, Any]]) -> PurchaseView:
        values = {
            "occurred_at": row["occurred_at"], "channel": row["channel"], "store_id": row["store"],
            "currency": row["currency"], "total": money(row["total"]),
            "lines": [
                PurchaseLineView(sku=ln["sku"], name=ln["name"], quantity=ln["quantity"], unit_price=money(ln["unit_price"]) or "0.00")
                for ln in lines
            ],
        }
        projected = decision.project(values)
        if decision.fields.get("lines") != "full":
            projected["lines"] = None
        return PurchaseView(id=row["id"], customer_id=row["customer"], **projected)

    # -- consent summary ---------------------------------------------------------------------

    async def consent_summaries(self, principal: Principal, reached: dict[UUID, ReachedCustomer], customer_ids: list[UUID]) -> dict[UUID, list[ConsentSummary]]:
        """Where each customer stands on every purpose now, from the ledgers :meth:`reach`
        already read (no statement of its own but the audit entry, ``consent_read``)."""
        policy = self._require(principal, "consent")
        now = _utcnow()
        out: dict[UUID, list[ConsentSummary]] = {cid: [] for cid in customer_ids}
        read: list[UUID] = []
        fields: set[str] = set()
        for cid in customer_ids:
            customer = reached.get(cid)
            decision = _decision(policy, principal, "consent", customer.context()) if customer else None
            if customer is None or decision is None:
                continue
            states = current_states(customer.consent_events, now)
            full = {f for f, a in decision.fields.items() if a == "full"}
            for purpose in PURPOSES:
                state = states.get(purpose)
                out[cid].append(ConsentSummary(
                    purpose=purpose,
                    granted=(state.granted if state else False) if "status" in full else None,
                    since=state.since if state and "occurred_at" in full else None,
                    expires_at=state.expires_at if state and "expires_at" in full else None,
                ))
            read.append(cid)
            fields.update(f for f in ("purpose", "status", "occurred_at", "expires_at") if f in full)
        if read:
            await self.audit.record(principal, action="consent_read", customer_ids=read, fields=fields, purpose=_PURPOSE)
        return out

    # -- timeline ----------------------------------------------------------------------------

    async def timelines(self, principal: Principal, reached: dict[UUID, ReachedCustomer], customer_ids: list[UUID], *, limit: int) -> dict[UUID, list[TimelineEvent]]:
        """The latest ``limit`` events of each customer, newest first, merged across kinds.
        The sources of every kind the caller's role may read at all are read together, each
        bounded per customer (PostgreSQL: one statement; SQLite: one per source); a kind whose
        resource the role has no access to is not read and simply absent."""
        if limit < 1 or limit > rules.MAX_TIMELINE:
            raise ValidationFailed(f"first must be between 1 and {rules.MAX_TIMELINE}", extra={"field": "first"})
        policy = self.policies.current
        ids = [cid for cid in dict.fromkeys(customer_ids) if cid in reached]
        events: dict[UUID, list[TimelineEvent]] = {cid: [] for cid in customer_ids}
        if ids:
            can = {res: policy.resource(principal.role, res) is not None for res in _TIMELINE_SOURCES}
            wanted = [source for res, sources in _TIMELINE_SOURCES.items() if can[res] for source in sources]
            found = await timeline_repo.newest_events(ids, limit, sources=wanted, reader=principal.staff_id, until=_utcnow())
            if can["purchase"]:
                self._commerce(policy, principal, reached, events, found["purchase"], found["return"], found["check_in"])
            if can["note"]:
                self._notes(policy, principal, reached, events, found["note"])
            if can["appointment"]:
                self._appointments(policy, principal, reached, events, found["appointment"])
            if can["task"]:
                self._tasks(policy, principal, reached, events, found["task"])
            if can["consent"]:
                self._consents(policy, principal, reached, events, found["consent"])
        out = {cid: rules.merge_timeline(evs, limit) for cid, evs in events.items()}
        read = [cid for cid, evs in out.items() if evs]
        if read:
            kinds = {f"timeline.{e.kind}" for cid in read for e in out[cid]}
            await self.audit.record(principal, action="timeline_read", customer_ids=read, fields=kinds, purpose=_PURPOSE)
        return out

    @staticmethod
    def _commerce(policy: Policy, principal: Principal, reached: dict[UUID, ReachedCustomer], events: dict[UUID, list[TimelineEvent]], purchases: dict, returns: dict, check_ins: dict) -> None:
        for cid, customer in ((c, reached[c]) for c in purchases):
            d = _decision(policy, principal, "purchase", customer.context())
            if not _readable(d, "occurred_at"):
                continue
            amount = _readable(d, "total") and _readable(d, "currency")
            channel = _readable(d, "channel")
            for r in purchases[cid]:
                summary = rules.purchase_summary(r["channel"] if channel else None, money(r["total"]) if amount else None, r["currency"] if amount else None)
                events[cid].append(TimelineEvent(kind="purchase", occurred_at=r["occurred_at"], summary=summary, ref_id=r["id"]))
            for r in returns.get(cid, []):
                summary = rules.return_summary(money(r["total"]) if amount else None, r["currency"] if amount else None)
                events[cid].append(TimelineEvent(kind="return", occurred_at=r["occurred_at"], summary=summary, ref_id=r["id"]))
            # A store visit is in-store recognition: shown only with that consent.
            if "in_store_recognition" in customer.consents:
                for r in check_ins.get(cid, []):
                    events[cid].append(TimelineEvent(kind="check_in", occurred_at=r["occurred_at"], summary="Visited a store", ref_id=r["id"]))

    @staticmethod
    def _notes(policy: Policy, principal: Principal, reached: dict[UUID, ReachedCustomer], events: dict[UUID, list[TimelineEvent]], notes: dict) -> None:
        for cid, rows in notes.items():
            customer = reached[cid]
            for r in rows:
                private = r["visibility"] == "private"
                d = _decision(policy, principal, "note", RecordContext(store_id=customer.store_id, author_id=r["author"], private=private))
                if not _readable(d, "created_at"):
                    continue
                pinned = r["pinned"] if _readable(d, "pinned") else None
                events[cid].append(TimelineEvent(kind="note", occurred_at=r["created_at"], summary=rules.note_summary(pinned, private), ref_id=r["id"]))

    @staticmethod
    def _appointments(policy: Policy, principal: Principal, reached: dict[UUID, ReachedCustomer], events: dict[UUID, list[TimelineEvent]], rows_by_customer: dict) -> None:
        for cid, rows in rows_by_customer.items():
            customer = reached[cid]
            for r in rows:
                d = _decision(policy, principal, "appointment", customer.context(store_id=r["store"]))
                if not _readable(d, "starts_at"):
                    continue
                summary = rules.appointment_summary(r["status"] if _readable(d, "status") else None, r["channel"] if _readable(d, "channel") else None)
                events[cid].append(TimelineEvent(kind="appointment", occurred_at=r["starts_at"], summary=summary, ref_id=r["id"]))

    @staticmethod
    def _tasks(policy: Policy, principal: Principal, reached: dict[UUID, ReachedCustomer], events: dict[UUID, list[TimelineEvent]], rows_by_customer: dict) -> None:
        for cid, rows in rows_by_customer.items():
            customer = reached[cid]
            for r in rows:
                d = _decision(policy, principal, "task", customer.context(store_id=r["store"]))
                if not _readable(d, "completed_at"):
                    continue
                summary = rules.task_summary(r["kind"] if _readable(d, "kind") else None)
                events[cid].append(TimelineEvent(kind="task_completed", occurred_at=r["completed_at"], summary=summary, ref_id=r["id"]))

    @staticmethod
    def _consents(policy: Policy, principal: Principal, reached: dict[UUID, ReachedCustomer], events: dict[UUID, list[TimelineEvent]], rows_by_customer: dict) -> None:
        for cid, rows in rows_by_customer.items():
            d = _decision(policy, principal, "consent", reached[cid].context())
            if not _readable(d, "occurred_at"):
                continue
            status, purpose = _readable(d, "status"), _readable(d, "purpose")
            for r in rows:
                summary = rules.consent_summary(r["status"] if status else None, r["purpose"] if purpose else None)
                events[cid].append(TimelineEvent(kind="consent", occurred_at=r["occurred_at"], summary=summary, ref_id=r["id"]))
