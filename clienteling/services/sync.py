"""Offline sync use cases (SPEC §6): pull a page of a collection's feed, push a batch of
tablet writes, and the head position that wakes streams.

Pull: documents after the checkpoint in ``(updatedAt, id)`` order, within the caller's row
scope (in SQL), each shown through the policy decision; rows the caller may no longer see
and removals (deletes, a customer leaving the caller's store or client book, erasure) arrive
as tombstones with personal fields blanked.

Push: each row is judged by :func:`domain.sync.judge_push` against the caller's current view
and then applied through the same services the REST and GraphQL surfaces use (their checks,
transactions and audit entries), so a tablet can do nothing a seller could not do online.
Conflicts and refusals come back as the server's version of the document.

Only registered, unrevoked tablets sync (``deviceId`` at sign-in); every pull that delivers
personal data and every push is audited.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from clienteling import metrics
from clienteling.policy_store import PolicyStore
from clienteling.repositories import customers as customer_repo
from clienteling.repositories import sync as repo
from clienteling.services.audit import AuditTrail
from clienteling.services.sync_views import document_view, wire_writable
from domain.consent import active_purposes
from domain.customers import CustomerCreate, CustomerUpdate
from domain.errors import DomainError, Forbidden, ValidationFailed
from domain.notes import NoteCreate
from domain.staff import Principal
from domain.sync import COLLECTIONS, MAX_PULL_LIMIT, MAX_PUSH_ROWS, Checkpoint, Collection, after, blank_tombstone, judge_push, snake_case
from domain.workflows import AppointmentCreate, AppointmentUpdate, TaskCreate, TaskUpdate, WishlistItemCreate, WishlistItemUpdate
from domain.consent import ConsentCapture
from permissions import row_scope

__all__ = ["SyncService", "PullBulk", "DeviceRequired"]

log = logging.getLogger("clienteling.sync")
_MAX_UUID = "ffffffff-ffff-ffff-ffff-ffffffffffff"


class DeviceRequired(Forbidden):
    code = "SYNC_DEVICE_REQUIRED"
    title = "Offline sync needs a registered tablet"


class PullBulk(msgspec.Struct, frozen=True):
    documents: list[dict[str, Any]]
    checkpoint: Checkpoint


def _collection(name: str) -> Collection:
    try:
        return COLLECTIONS[name]
    except KeyError:
        raise ValidationFailed(f"No such sync collection: {name}") from None


def _uuid(value: Any, field: str) -> UUID:
    try:
        return UUID(str(value))
    except (TypeError, ValueError):
        raise ValidationFailed(f"{field} must be a UUID", extra={"field": field}) from None


class SyncService:
    def __init__(self, policies: PolicyStore, audit: AuditTrail, *, customers: Any, notes: Any, tasks: Any, appointments: Any, wishlist: Any, consents: Any) -> None:
        self.policies = policies
        self.audit = audit
        self.customers = customers
        self.notes = notes
        self.tasks = tasks
        self.appointments = appointments
        self.wishlist = wishlist
        self.consents = consents

    async def head(self) -> int:
        return await repo.head()

    async def check_device(self, principal: Principal) -> None:
        """Sync is for registered tablets: the sign-in named a device that an administrator
        registered and has not revoked."""
        if not principal.device_id:
            raise DeviceRequired("Sign in with the tablet's deviceId to sync")
        device = await repo.device(principal.device_id)
        if device is None:
            raise DeviceRequired("This device is not registered; ask a store manager to register it")
        if device["revoked_at"] is not None:
            raise DeviceRequired("This device has been revoked")
        customers = self.policies.current.resource(principal.role, "customer")
        reaches_all = customers is not None and customers.scope == "all"
        if device["store"] is not None and device["store"] not in principal.store_ids and not reaches_all:
            raise DeviceRequired("This tablet belongs to a store you do not work in")

    # -- pull ------------------------------------------------------------------------------

    async def pull(self, principal: Principal, name: str, checkpoint: Checkpoint | None, limit: int, *, audit: bool = True) -> PullBulk:
        collection = _collection(name)
        if not 1 <= limit <= MAX_PULL_LIMIT:
            raise ValidationFailed(f"limit must be between 1 and {MAX_PULL_LIMIT}", extra={"field": "limit"})
        await self.check_device(principal)
        policy = self.policies.current
        scope = row_scope(policy, principal, collection.resource)
        documents: list[dict[str, Any]] = []
        delivered: dict[UUID, set[str]] = {}
        position = checkpoint
        for _ in range(100):  # each round moves strictly forward; bounded anyway
            docs, scanned_to, exhausted = await self._pull_round(principal, collection, scope, position, limit - len(documents), delivered)
            documents += docs
            if exhausted or len(documents) >= limit:
                break
            position = scanned_to
        if documents:
            last = documents[-1]
            out_checkpoint = Checkpoint(seq=int(last["updatedAt"]), id=last["id"])
            if len(documents) < limit and position is not None and position.key > out_checkpoint.key:
                out_checkpoint = position  # looked further than the last document: resume there
        else:
            out_checkpoint = checkpoint or Checkpoint(seq=0, id="")
        metrics.sync_pulled(collection.name, len(documents))
        if audit and delivered:
            await self.audit.record(
                principal, action="sync_pull", customer_ids=list(delivered),
                fields=sorted({f"{collection.resource}.{f}" for fields in delivered.values() for f in fields}),
                purpose="offline_sync", reference=collection.name,
            )
        if principal.device_id:
            await repo.touch_device(principal.device_id, dt.datetime.now(dt.timezone.utc))
        return PullBulk(documents=documents, checkpoint=out_checkpoint)

    async def _pull_round(self, principal: Principal, collection: Collection, scope: Any, position: Checkpoint | None, limit: int, delivered: dict[UUID, set[str]]) -> tuple[list[dict[str, Any]], Checkpoint | None, bool]:
        """One merge of the two feeds after ``position``: live rows and removals. Returns the
        documents, how far the round looked, and whether both feeds are exhausted."""
        seq = position.seq if position else None
        last_id = _uuid(position.id, "checkpoint.id") if position and position.id else None
        live = await repo.live_page(collection.name, scope, seq, last_id, limit)
        # Removals: those at the checkpoint's own position (the ids after it still count, and
        # one removal fans out to a customer's records), then a page of later ones.
        removal_rows = await repo.removals(collection.name, scope, seq, 0, at=True) if seq is not None else []
        later = await repo.removals(collection.name, scope, seq, limit)
        bounds: list[tuple[int, str]] = []
        if len(live) >= limit:
            bounds.append((int(live[-1]["sync_seq"]), str(live[-1]["id"])))
        if len(later) >= limit:
            # Complete the last position's group, then nothing after it is known yet.
            last_seq = int(later[-1]["sync_seq"])
            later += [r for r in await repo.removals(collection.name, scope, last_seq, 0, at=True) if r["id"] > later[-1]["id"]]
            bounds.append((last_seq, _MAX_UUID))
        removal_rows += later
        bound = min(bounds) if bounds else None

        candidates: dict[tuple[int, str], tuple[str, Any]] = {}
        for row in live:
            candidates[(int(row["sync_seq"]), str(row["id"]))] = ("live", row)
        exit_customers = [r["customer_id"] for r in removal_rows if r["store_id"] is not None or r["staff_id"] is not None]
        children = await repo.children_of(collection.name, list(dict.fromkeys(exit_customers)))
        for r in removal_rows:
            s = int(r["sync_seq"])
            if r["store_id"] is None and r["staff_id"] is None:
                if r["collection"] == collection.name:
                    candidates.setdefault((s, r["doc_id"]), ("gone", None))
            elif collection.name == "Customer":
                candidates.setdefault((s, r["doc_id"]), ("exit", None))
            else:
                for child in children.get(r["customer_id"], []):
                    candidates.setdefault((s, str(child)), ("exit", None))
        keys = sorted(k for k in candidates if after(k, position) and (bound is None or k <= bound))

        # A document that left one of the caller's stores may still be in reach through
        # another: those keep their live version instead of a tombstone.
        exit_ids = [_uuid(k[1], "id") for k in keys if candidates[k][0] == "exit"]
        current = await repo.rows_by_id(collection.name, exit_ids) if exit_ids else {}
        live_rows = [candidates[k][1] for k in keys if candidates[k][0] == "live"]
        consents = await self._consents(collection, live_rows + list(current.values()))
        policy = self.policies.current
        docs: list[dict[str, Any]] = []
        for key in keys:
            kind, row = candidates[key]
            if kind == "exit":
                now_row = current.get(UUID(key[1]))
                if now_row is not None:
                    _, decision = document_view(policy, principal, collection, now_row, consents.get(_owner(collection, now_row), frozenset()))
                    if decision is not None:
                        continue  # still reachable: its live version is (or was) delivered
                docs.append(blank_tombstone(collection, key[1], key[0]))
            elif kind == "gone":
                docs.append(blank_tombstone(collection, key[1], key[0]))
            else:
                doc, decision = document_view(policy, principal, collection, row, consents.get(_owner(collection, row), frozenset()))
                docs.append(doc)
                if decision is not None and _owner(collection, row) is not None:
                    shown = {f for f, a in decision.fields.items() if a != "none"}
                    delivered.setdefault(_owner(collection, row), set()).update(shown)
            if len(docs) >= limit:
                break
        exhausted = bound is None
        if len(docs) >= limit:
            return docs, Checkpoint(seq=key[0], id=key[1]), False
        scanned = Checkpoint(seq=bound[0], id=bound[1]) if bound else position
        return docs, scanned, exhausted

    async def _consents(self, collection: Collection, rows: list[Mapping[str, Any]]) -> dict[UUID, frozenset[str]]:
        """Active consent purposes per customer, where the collection's view depends on them."""
        if collection.name not in ("Customer", "WishlistItem") or not rows:
            return {}
        ids = list({cid for cid in (_owner(collection, r) for r in rows) if cid is not None})
        events = await customer_repo.consent_events(ids)
        now = dt.datetime.now(dt.timezone.utc)
        return {cid: active_purposes(events.get(cid, []), now) for cid in ids}

    # -- push ------------------------------------------------------------------------------

    async def push(self, principal: Principal, name: str, rows: list[tuple[Mapping[str, Any] | None, Mapping[str, Any]]]) -> list[dict[str, Any]]:
        """Apply a batch of tablet writes; return the server's version of every document that
        conflicted or was refused (``[]`` when all went through)."""
        collection = _collection(name)
        if len(rows) > MAX_PUSH_ROWS:
            raise ValidationFailed(f"At most {MAX_PUSH_ROWS} rows per push", extra={"field": "pushRow"})
        await self.check_device(principal)
        row_scope(self.policies.current, principal, collection.resource)
        ids = [_uuid(new.get("id"), "newDocumentState.id") for _, new in rows]
        conflicts: dict[str, dict[str, Any]] = {}
        for (assumed, new), doc_id in zip(rows, ids):
            outcome = await self._push_one(principal, collection, doc_id, assumed, new)
            metrics.sync_pushed(collection.name, outcome[0])
            if outcome[1] is not None:
                conflicts[str(doc_id)] = outcome[1]
        return list(conflicts.values())

    async def _current(self, principal: Principal, collection: Collection, doc_id: UUID) -> tuple[dict[str, Any] | None, Any, Mapping[str, Any] | None]:
        row = (await repo.rows_by_id(collection.name, [doc_id])).get(doc_id)
        if row is None:
            return None, None, None
        consents = await self._consents(collection, [row])
        doc, decision = document_view(self.policies.current, principal, collection, row, consents.get(_owner(collection, row), frozenset()))
        return doc, decision, row

    async def _push_one(self, principal: Principal, collection: Collection, doc_id: UUID, assumed: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        for attempt in range(2):
            current, decision, row = await self._current(principal, collection, doc_id)
            verdict = judge_push(collection, assumed, new, current, wire_writable(collection, decision))
            if verdict.action == "noop":
                return "noop", None
            if verdict.action == "conflict":
                return "conflict", current or blank_tombstone(collection, str(doc_id), 0)
            if verdict.action == "refuse":
                await self._refused(principal, collection, doc_id, row, list(verdict.refused), "FIELDS_NOT_WRITABLE")
                return "refused", current or blank_tombstone(collection, str(doc_id), 0)
            try:
                if verdict.action == "create":
                    await self._create(principal, collection, doc_id, new)
                elif verdict.action == "delete":
                    await self._delete(principal, collection, doc_id)
                else:
                    await self._apply(principal, collection, doc_id, row, verdict.changes)
                return verdict.action, None
            except DomainError as exc:
                if exc.status in (409, 412) and attempt == 0:
                    continue  # someone wrote meanwhile: judge again against the fresh version
                await self._refused(principal, collection, doc_id, row, sorted(verdict.changes) or [verdict.action], exc.code)
                current, _, _ = await self._current(principal, collection, doc_id)
                return "refused", current or blank_tombstone(collection, str(doc_id), 0)
            except Exception as exc:  # noqa: BLE001 - only a duplicate id is expected here
                if verdict.action != "create" or not _duplicate_key(exc):
                    if not isinstance(exc, msgspec.ValidationError):
                        raise
                elif attempt == 0:
                    continue  # the same row, retried concurrently, landed first: judge again
                await self._refused(principal, collection, doc_id, row, sorted(verdict.changes) or [verdict.action], "VALIDATION_FAILED")
                log.info("sync push refused: invalid document", extra={"collection": collection.name, "error": type(exc).__name__})
                current, _, _ = await self._current(principal, collection, doc_id)
                return "refused", current or blank_tombstone(collection, str(doc_id), 0)
            except msgspec.ValidationError as exc:
                await self._refused(principal, collection, doc_id, row, sorted(verdict.changes) or [verdict.action], "VALIDATION_FAILED")
                log.info("sync push refused: invalid document", extra={"collection": collection.name, "error": str(exc)[:200]})
                current, _, _ = await self._current(principal, collection, doc_id)
                return "refused", current or blank_tombstone(collection, str(doc_id), 0)
        return "conflict", (await self._current(principal, collection, doc_id))[0] or blank_tombstone(collection, str(doc_id), 0)

    async def _refused(self, principal: Principal, collection: Collection, doc_id: UUID, row: Mapping[str, Any] | None, fields: list[str], code: str) -> None:
        customer = _owner(collection, row) if row is not None else None
        log.info("sync push refused", extra={"collection": collection.name, "code": code, "fields": fields})
        await self.audit.record(
            principal, action="sync_push_refused", customer_ids=[customer] if customer else [],
            fields=[f"{collection.resource}.{snake_case(f)}" for f in fields], purpose="offline_sync",
            reference=f"{collection.name}:{doc_id}:{code}"[:100],
        )

    # -- writes through the owning services ---------------------------------------------------

    async def _create(self, principal: Principal, collection: Collection, doc_id: UUID, new: Mapping[str, Any]) -> None:
        doc = {k: v for k, v in new.items() if v is not None and collection.field(k) is not None and collection.field(k).owned}  # type: ignore[union-attr]
        for k in ("sizes", "preferences", "tags"):
            if k in doc and isinstance(doc[k], str):
                doc[k] = _json(doc[k], k)
        name = collection.name
        if name == "Customer":
            data = msgspec.convert({**doc, "confirmDuplicate": True}, CustomerCreate)
            await self.customers.create(principal, data, record_id=doc_id)
            return
        customer_id = _uuid(new.get("customerId"), "customerId")
        if name == "Note":
            await self.notes.add(principal, customer_id, msgspec.convert(_pick(doc, "body", "pinned", "visibility"), NoteCreate), record_id=doc_id)
        elif name == "Task":
            await self.tasks.create(principal, customer_id, msgspec.convert(_pick(doc, "title", "dueAt", "details", "assigneeId"), TaskCreate), record_id=doc_id)
        elif name == "Appointment":
            data = msgspec.convert({**_pick(doc, "startsAt", "endsAt", "channel", "associateId", "notes"), **({"storeId": new["storeId"]} if new.get("storeId") else {})}, AppointmentCreate)
            await self.appointments.book(principal, customer_id, data, record_id=doc_id)
        elif name == "WishlistItem":
            await self.wishlist.add(principal, customer_id, msgspec.convert(_pick(doc, "sku", "productName", "size", "colour", "notes"), WishlistItemCreate), record_id=doc_id)
        elif name == "Consent":
            data = msgspec.convert(_pick(doc, "purpose", "status", "occurredAt", "channel", "noticeId", "expiresAt", "legalBasis", "deviceId", "evidence"), ConsentCapture)
            await self.consents.record(principal, customer_id, data, record_id=doc_id)

    async def _delete(self, principal: Principal, collection: Collection, doc_id: UUID) -> None:
        if collection.name == "Note":
            await self.notes.delete(principal, doc_id)
        elif collection.name == "WishlistItem":
            await self.wishlist.remove(principal, doc_id)
        else:
            raise Forbidden(f"{collection.name} documents cannot be deleted from a tablet")

    async def _apply(self, principal: Principal, collection: Collection, doc_id: UUID, row: Mapping[str, Any] | None, changes: dict[str, Any]) -> None:
        name = collection.name
        if name == "Customer":
            data = {k: (_json(v, k) if k in ("sizes", "preferences", "tags") and isinstance(v, str) else v) for k, v in changes.items()}
            assert row is not None
            await self.customers.update(principal, doc_id, msgspec.convert(data, CustomerUpdate), if_version=row["version"])
        elif name == "Note":
            await self.notes.edit(principal, doc_id, {snake_case(k): v for k, v in changes.items()})
        elif name == "WishlistItem":
            data = {k: v for k, v in changes.items() if k in ("notes", "size", "colour")}
            if "fulfilledAt" in changes:
                data["fulfilled"] = changes["fulfilledAt"] is not None
            if set(changes) - {"notes", "size", "colour", "fulfilledAt"}:
                raise ValidationFailed("A wishlist item's product cannot change; add a new item instead")
            await self.wishlist.update(principal, doc_id, msgspec.convert(data, WishlistItemUpdate))
        elif name == "Task":
            for update in _task_updates(changes):
                await self.tasks.update(principal, doc_id, msgspec.convert(update, TaskUpdate))
        elif name == "Appointment":
            for update in _appointment_updates(changes):
                await self.appointments.update(principal, doc_id, msgspec.convert(update, AppointmentUpdate))
        else:
            raise Forbidden(f"{name} documents cannot be changed from a tablet")


def _duplicate_key(exc: BaseException) -> bool:
    """A primary-key clash on insert (sqlite3.IntegrityError / asyncpg UniqueViolationError)."""
    name = type(exc).__name__
    return name == "UniqueViolationError" or (name == "IntegrityError" and "UNIQUE" in str(exc))


def _owner(collection: Collection, row: Mapping[str, Any] | None) -> UUID | None:
    if row is None:
        return None
    return row["id"] if collection.name == "Customer" else row.get("customer")


def _pick(doc: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: doc[k] for k in keys if k in doc}


def _json(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationFailed(f"{field} must be JSON text", extra={"field": field}) from None


def _task_updates(changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Field changes as the task service's actions (one action per call) plus edits."""
    edits = _pick(changes, "title", "details", "dueAt")
    actions: list[dict[str, Any]] = []
    if "completedAt" in changes:
        actions.append({"action": "complete" if changes["completedAt"] is not None else "reopen"})
    if changes.get("snoozedUntil") is not None:
        actions.append({"action": "snooze", "until": changes["snoozedUntil"]})
    if "assigneeId" in changes:
        actions.append({"action": "reassign", "assigneeId": changes["assigneeId"]})
    if set(changes) - {"title", "details", "dueAt", "completedAt", "snoozedUntil", "assigneeId"}:
        raise ValidationFailed("Unsupported task change")
    if not actions:
        return [edits]
    actions[0].update(edits)
    return actions


_STATUS_ACTION = {"cancelled": "cancel", "held": "held", "no_show": "no_show"}


def _appointment_updates(changes: dict[str, Any]) -> list[dict[str, Any]]:
    edits = _pick(changes, "channel", "notes")
    actions: list[dict[str, Any]] = []
    if "startsAt" in changes or "endsAt" in changes:
        actions.append({"action": "reschedule", **_pick(changes, "startsAt", "endsAt")})
    if "status" in changes:
        action = _STATUS_ACTION.get(changes["status"])
        if action is None:
            raise ValidationFailed("An appointment's status can change to cancelled, held or no_show")
        actions.append({"action": action})
    if set(changes) - {"channel", "notes", "startsAt", "endsAt", "status"}:
        raise ValidationFailed("Unsupported appointment change")
    if not actions:
        return [edits]
    actions[0].update(edits)
    return actions
