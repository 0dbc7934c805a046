"""Customer use cases: find, open, create and update, always through the policy decision."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import msgspec

from clienteling import db
from clienteling.policy_store import PolicyStore
from clienteling.repositories import customers as repo
from clienteling.repositories import staff as staff_repo
from clienteling.services import customer_rows
from domain.consent import ConsentEvent, active_purposes
from domain.events import Event, customer_channel
from domain.customers import Customer, CustomerCreate, CustomerUpdate, DuplicateCandidates, validate_contact
from domain.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.staff import Principal, Role
from domain.search import SearchSpec, match_score, names_alike, phone_pattern, words
from domain.text import fold, name_key, normalize_email, phone_digits, search_terms
from clienteling.services.audit import visible_fields
from permissions import Decision, RecordContext, RowScope, decide, row_scope, searchable_fields
from permissions.decision import check_create

if TYPE_CHECKING:
    from clienteling.events import EventBus
    from clienteling.services.audit import AuditTrail
    from clienteling.services.break_glass import BreakGlassService

__all__ = ["CustomerService", "PreconditionFailed", "MAX_QUERY_LENGTH"]

MAX_QUERY_LENGTH = 200
# At most this many possible duplicates are shown when a create is held back.
MAX_DUPLICATE_CANDIDATES = 20

# Wire field -> table column, where they differ.
_COLUMN = {
    "home_store_id": "home_store",
    "primary_associate_id": "primary_associate",
    "secondary_associate_id": "secondary_associate",
}


class PreconditionFailed(DomainError):
    code = "PRECONDITION_FAILED"
    status = 412
    title = "The resource has changed since you read it"


def _record(row: dict[str, Any], consents: frozenset[str]) -> RecordContext:
    return RecordContext(
        store_id=row["home_store"],
        primary_associate_id=row["primary_associate"],
        secondary_associate_id=row["secondary_associate"],
        consents=consents,
        restricted=row.get("restricted_at") is not None,
    )


def _wire_values(row: dict[str, Any]) -> dict[str, Any]:
    values = {wire: row[col] for wire, col in _COLUMN.items()}
    for key in ("first_name", "last_name", "email", "phone", "language", "sizes", "preferences", "tags", "vip",
                "loyalty_number", "loyalty_tier", "loyalty_points", "created_at", "updated_at"):
        values[key] = row[key]
    values["birthdate"] = row["birthdate"].isoformat() if row["birthdate"] else None
    return values


async def listing_position(cursor: str | None) -> tuple[str, UUID] | None:
    """Where a name-ordered listing resumes: the cursor holds only the last customer's id
    (no names in URLs), its sort key is looked up. A forged cursor is a 400."""
    if not cursor:
        return None
    (raw,) = decode_cursor(cursor, 1)
    try:
        last_id = UUID(str(raw))
    except ValueError:
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None
    key = await repo.sort_key(last_id)
    if key is None:
        raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"})
    return key, last_id


def to_view(decision: Decision, row: dict[str, Any]) -> Customer:
    """Build the caller's view of a row from the decision (the only way a Customer is built)."""
    return Customer(id=row["id"], version=row["version"], **decision.project(_wire_values(row)))


class CustomerService:
    def __init__(self, policies: PolicyStore, audit: "AuditTrail", break_glass: "BreakGlassService | None" = None, events: "EventBus | None" = None) -> None:
        self.policies = policies
        self.audit = audit
        self.break_glass = break_glass
        self.events = events

    async def _consents(self, ids: list[UUID]) -> dict[UUID, frozenset[str]]:
        now = dt.datetime.now(dt.timezone.utc)
        events = await customer_rows.consent_events(ids)
        return {cid: active_purposes(events.get(cid, []), now) for cid in ids}

    async def _decide(self, principal: Principal, row: dict[str, Any]) -> Decision:
        consents = (await self._consents([row["id"]]))[row["id"]]
        return decide(self.policies.current, principal, "customer", _record(row, consents))

    async def list(self, principal: Principal, *, query: str | None, limit: int | None, cursor: str | None, limit_name: str = "limit") -> Page[Customer]:
        """A page of reachable customers ordered by name; with ``query``, only those matching
        it on fields the caller may read in full."""
        page, _ = await self.list_with_cursors(principal, query=query, limit=limit, cursor=cursor, limit_name=limit_name)
        return page

    async def list_with_cursors(self, principal: Principal, *, query: str | None, limit: int | None, cursor: str | None, limit_name: str = "limit") -> tuple[Page[Customer], list[str]]:
        """:meth:`list`, plus a resumable cursor for every item (GraphQL edges)."""
        policy = self.policies.current
        limit = check_limit(limit, limit_name)
        scope = row_scope(policy, principal, "customer")
        spec = None
        if query is not None:
            query = query.strip()
            if not query:
                raise ValidationFailed("q must not be empty", extra={"field": "q"})
            if len(query) > MAX_QUERY_LENGTH:
                raise ValidationFailed(f"q is longer than {MAX_QUERY_LENGTH} characters", extra={"field": "q"})
            email = normalize_email(query) if "@" in query else None
            digits = phone_digits(query)
            letters = any(ch.isalpha() for ch in query)
            spec = SearchSpec(
                # A query without letters is a phone or card number, never a name.
                terms=search_terms(query) if letters and not email else [],
                digits=digits if digits and not letters else None,
                email=email,
                card=query.upper() if " " not in query else None,
                allowed=searchable_fields(policy, principal),
            )
            rows, cursors, more, ledgers = await self._ranked(principal, scope, spec, cursor, limit)
        else:
            rows = await repo.page(scope, after=await self._after(cursor), limit=limit)
            more = len(rows) > limit
            rows = rows[:limit]
            # Cursors carry only the id (no names in URLs or logs); the sort key is looked up.
            cursors = [encode_cursor([str(r["id"])]) for r in rows]
            ledgers = None
        if not rows:
            return Page(items=[], next_cursor=None), []
        if ledgers is None:
            consents = await self._consents([r["id"] for r in rows])
        else:
            now = dt.datetime.now(dt.timezone.utc)
            consents = {r["id"]: active_purposes(ledgers.get(r["id"], []), now) for r in rows}
        decisions = [decide(policy, principal, "customer", _record(r, consents[r["id"]])) for r in rows]
        items = [to_view(d, r) for d, r in zip(decisions, rows)]
        fields = {f for d in decisions for f in visible_fields(dict(d.fields))}
        await self.audit.record(
            principal, action="search" if spec is not None else "list",
            customer_ids=[r["id"] for r in rows], fields=fields, purpose="clienteling",
        )
        return Page(items=items, next_cursor=cursors[-1] if more else None), cursors

    async def _ranked(self, principal: Principal, scope: RowScope, spec: SearchSpec, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], list[str], bool, dict[UUID, list[ConsentEvent]]]:
        """One page of a ranked search: rows, their cursors, whether more follow, and the
        rows' consent ledgers (read with the rows, in one statement on PostgreSQL).

        The candidates (at most ``repo.CANDIDATE_LIMIT`` per kind of match) are ranked by
        (score desc, name, id), a total order; a cursor is the (id, score) of the last row
        seen, the name being looked up as for listing, and the next page starts strictly
        after that position. No offsets: a customer added or removed between two pages
        shifts nothing, and no row is returned twice."""
        after = await self._ranked_after(cursor)
        candidates = await repo.search_candidates(scope, spec)
        if not candidates:
            return [], [], False, {}
        ranked = []
        for row in candidates:
            in_book = principal.staff_id in (row["primary_associate"], row["secondary_associate"])
            score = match_score(
                spec, name_key=row["name_key"], email_key=row["email_key"], phone_key=row["phone_key"],
                card=row["loyalty_number"], in_book=in_book,
            )
            if score:
                ranked.append((-score, row["name_key"], row["id"]))
        ranked.sort()
        if after is not None:
            ranked = [r for r in ranked if r > after]
        window = ranked[: limit + 1]
        more = len(window) > limit
        window = window[:limit]
        found, ledgers = await repo.page_rows([r[2] for r in window])
        by_id = {r["id"]: r for r in found}
        rows = [by_id[r[2]] for r in window if r[2] in by_id]
        score_of = {r[2]: -r[0] for r in window}
        return rows, [encode_cursor([str(r["id"]), score_of[r["id"]]]) for r in rows], more, ledgers

    async def _ranked_after(self, cursor: str | None) -> tuple[int, str, UUID] | None:
        if not cursor:
            return None
        raw_id, score = decode_cursor(cursor, 2)
        try:
            last_id = UUID(str(raw_id))
        except ValueError:
            raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"}) from None
        key = await repo.sort_key(last_id)
        if key is None or not isinstance(score, int):
            raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"})
        return -score, key, last_id

    async def _after(self, cursor: str | None) -> tuple[str, UUID] | None:
        return await listing_position(cursor)

    async def get(self, principal: Principal, customer_id: UUID) -> Customer:
        row = await customer_rows.get(customer_id)
        if row is None:
            raise NotFound("No such customer")
        consents = (await self._consents([customer_id]))[customer_id]
        record = _record(row, consents)
        purpose, reference = "clienteling", None
        try:
            decision = decide(self.policies.current, principal, "customer", record)
        except Forbidden:
            grant = await self.break_glass.active_grant(principal, customer_id) if self.break_glass else None
            if grant is None:
                # Out of scope looks exactly like absent: existence itself is not disclosed.
                raise NotFound("No such customer") from None
            decision = decide(self.policies.current, principal, "customer", msgspec.structs.replace(record, break_glass=True))
            purpose, reference = "break_glass", str(grant)
        await self.audit.record(
            principal, action="read", customer_ids=[customer_id], fields=visible_fields(dict(decision.fields)),
            purpose=purpose, reference=reference,
        )
        return to_view(decision, row)

    async def ensure_reachable(self, principal: Principal, customer_id: UUID) -> None:
        """404 unless the caller may open this customer now (no audit: nothing is read)."""
        row = await repo.get(customer_id)
        if row is None:
            raise NotFound("No such customer")
        try:
            await self._decide(principal, row)
        except Forbidden:
            if self.break_glass is None or await self.break_glass.active_grant(principal, customer_id) is None:
                raise NotFound("No such customer") from None

    async def holds_consent(self, customer_id: UUID, purpose: str) -> bool:
        return purpose in (await self._consents([customer_id]))[customer_id]

    async def get_many(self, principal: Principal, ids: list[UUID]) -> dict[UUID, Customer | None]:
        """Views for several ids in two queries (for dataloaders); unreachable ones are None."""
        rows = await customer_rows.get_many(ids)
        consents = await self._consents([r["id"] for r in rows])
        out: dict[UUID, Customer | None] = {i: None for i in ids}
        for r in rows:
            try:
                out[r["id"]] = to_view(decide(self.policies.current, principal, "customer", _record(r, consents[r["id"]])), r)
            except Forbidden:
                pass
        return out

    async def create(self, principal: Principal, data: CustomerCreate, *, record_id: UUID | None = None) -> Customer:
        """Create a customer. Unless ``data.confirm_duplicate``, refuse with
        :class:`DuplicateCandidates` when reachable customers look like the same person."""
        # Fields that carry a value need write permission; empty defaults do not.
        given = [
            name for name in data.__struct_fields__
            if name not in ("home_store_id", "confirm_duplicate") and getattr(data, name) not in (None, {}, [], False)
        ]
        check_create(
            self.policies.current, principal, "customer", data.home_store_id, given,
            claims_self=data.primary_associate_id == principal.staff_id,
        )
        validate_contact({"email": data.email, "phone": data.phone, "birthdate": data.birthdate})
        await self._check_references(data.home_store_id, data.primary_associate_id, data.secondary_associate_id)
        cid = record_id or uuid4()
        values = {
            "id": cid,
            "first_name": data.first_name.strip(),
            "last_name": data.last_name.strip(),
            "email": data.email.strip() if data.email else None,
            "phone": data.phone.strip() if data.phone else None,
            "birthdate": data.birthdate,
            "language": data.language,
            "home_store": data.home_store_id,
            "primary_associate": data.primary_associate_id,
            "secondary_associate": data.secondary_associate_id,
            "sizes": data.sizes,
            "preferences": data.preferences,
            "tags": data.tags,
            "vip": data.vip,
        }
        values.update(_keys(values))
        if not data.confirm_duplicate:
            candidates = await self.duplicate_candidates(principal, values)
            if candidates:
                raise DuplicateCandidates(candidates)
        async with db.transaction():
            await repo.insert(values)
            await self.audit.record(principal, action="create", customer_ids=[cid], fields=given, purpose="clienteling")
        return await self.get(principal, cid)

    async def duplicate_candidates(self, principal: Principal, values: dict[str, Any]) -> list[Customer]:
        """Reachable customers that may be the one about to be created (``values``: the new
        row's columns, keys included): same email, same phone number, or a similar name
        with the same birthday. A criterion counts only on what the caller can see of that
        customer (an email or phone read in full; the birthdate in full, or month and day
        where it is masked; the names in full), so the answer never confirms a hidden
        value. Reading them is audited as a search."""
        policy = self.policies.current
        scope = row_scope(policy, principal, "customer")
        ids: list[UUID] = [
            r["id"] for r in await repo.contact_matches(scope, email_key=values["email_key"], phone_digits=values["phone_key"])
        ]
        birthdate = values["birthdate"]
        if birthdate is not None:
            # The first word of each name finds compound names and second surnames too.
            key_words = [ws[0] for ws in (words(fold(values["first_name"])), words(fold(values["last_name"]))) if ws]
            for r in await repo.similar_names(scope, key_words, birthday=(birthdate.month, birthdate.day)):
                if r["id"] not in ids and names_alike(values["name_key"], r["name_key"]):
                    ids.append(r["id"])
        if not ids:
            return []
        rows = {r["id"]: r for r in await repo.get_many(ids)}
        consents = await self._consents(list(rows))
        found: list[tuple[Decision, dict[str, Any]]] = []
        for cid in ids:
            row = rows.get(cid)
            if row is None:
                continue
            try:
                decision = decide(policy, principal, "customer", _record(row, consents[cid]))
            except Forbidden:
                continue
            if _looks_like(values, row, decision.fields):
                found.append((decision, row))
            if len(found) == MAX_DUPLICATE_CANDIDATES:
                break
        if not found:
            return []
        await self.audit.record(
            principal, action="search", customer_ids=[r["id"] for _, r in found],
            fields={f for d, _ in found for f in visible_fields(dict(d.fields))}, purpose="clienteling",
            reference="duplicate_check",
        )
        return [to_view(d, r) for d, r in found]

    async def update(self, principal: Principal, customer_id: UUID, data: CustomerUpdate, *, if_version: int | None = None) -> Customer:
        """Apply a partial update as a whole or not at all: every field must be writable by
        the caller for this customer, and the row must not have changed underneath."""
        changes = data.changes()
        if not changes:
            raise ValidationFailed("The update contains no fields")
        validate_contact(changes)
        async with db.transaction():
            row = await repo.get(customer_id)
            if row is None:
                raise NotFound("No such customer")
            try:
                decision = await self._decide(principal, row)
            except Forbidden:
                raise NotFound("No such customer") from None
            decision.check_write(changes.keys())
            if if_version is not None and if_version != row["version"]:
                raise PreconditionFailed(
                    "The customer changed since you read it", extra={"currentVersion": row["version"]}
                )
            if "home_store_id" in changes and row_scope(self.policies.current, principal, "customer").kind != "all":
                if changes["home_store_id"] not in principal.store_ids:
                    raise Forbidden("You may only move customers to your own stores")
            await self._check_references(
                changes.get("home_store_id"), changes.get("primary_associate_id"), changes.get("secondary_associate_id")
            )
            values: dict[str, Any] = {}
            for field, value in changes.items():
                if isinstance(value, str) and field in ("first_name", "last_name", "email", "phone"):
                    value = value.strip()
                values[_COLUMN.get(field, field)] = value
            merged = {**row, **values}
            values.update(_keys(merged))
            if not await repo.update(customer_id, values, expected_version=row["version"]):
                raise Conflict("The customer was changed by someone else; reload and try again")
            await self.audit.record(principal, action="update", customer_ids=[customer_id], fields=changes.keys(), purpose="clienteling")
        await self.publish_change(customer_id, merged["home_store"], list(changes))
        return await self.get(principal, customer_id)

    async def publish_change(self, customer_id: UUID, store_id: UUID | None, fields: list[str]) -> None:
        """Tell open 360 screens the customer changed (after commit; names only)."""
        if self.events is None:
            return
        event = Event(kind="customer_updated", occurred_at=dt.datetime.now(dt.timezone.utc), customer_id=customer_id, store_id=store_id, fields=sorted(fields))
        await self.events.publish([customer_channel(customer_id)], event)

    async def _check_references(self, store_id: UUID | None, *associates: UUID | None) -> None:
        if store_id is not None and not await staff_repo.stores_by_ids([store_id]):
            raise ValidationFailed("homeStoreId does not name a store", extra={"field": "homeStoreId"})
        for staff_id in associates:
            if staff_id is None:
                continue
            staff = await staff_repo.by_id(staff_id)
            if staff is None or not staff["active"] or staff["role"] not in (Role.ASSOCIATE.value, Role.STORE_MANAGER.value):
                raise ValidationFailed("An associate id does not name an active seller", extra={"field": "primaryAssociateId"})


def _keys(values: dict[str, Any]) -> dict[str, Any]:
    birthdate = values.get("birthdate")
    return {
        "name_key": name_key(values["first_name"], values["last_name"]),
        "email_key": normalize_email(values.get("email")),
        "phone_key": phone_digits(values.get("phone")),
        "birth_mmdd": birthdate.month * 100 + birthdate.day if birthdate else None,
    }


def _looks_like(new: dict[str, Any], row: dict[str, Any], access: Any) -> bool:
    """Is ``row`` possibly the customer ``new`` describes, judged only on fields the caller
    sees (``access``: field -> full/masked/none for that row)?"""
    if new["email_key"] and row["email_key"] == new["email_key"] and access.get("email") == "full":
        return True
    if new["phone_key"] and row["phone_key"] and access.get("phone") == "full":
        pattern = phone_pattern(new["phone_key"])
        if row["phone_key"] == new["phone_key"] or (len(pattern) == 9 and row["phone_key"].endswith(pattern)):
            return True
    born, theirs = new["birthdate"], row["birthdate"]
    if born is None or theirs is None or access.get("first_name") != "full" or access.get("last_name") != "full":
        return False
    if access.get("birthdate") == "full":
        same_day = theirs == born
    elif access.get("birthdate") == "masked":  # the mask shows month and day
        same_day = (theirs.month, theirs.day) == (born.month, born.day)
    else:
        return False
    return same_day and names_alike(new["name_key"], row["name_key"])

