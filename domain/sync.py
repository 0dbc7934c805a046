"""Offline sync (RxDB GraphQL replication, SPEC §6): the collections, their flat documents,
checkpoints and the rules that decide what a pushed row does. Pure: no I/O.

A document is a flat dict with camelCase keys, ``id`` (str), ``updatedAt`` (the server's
change-sequence position, a float on the wire) and ``deleted``. Free-form JSON values
(sizes, preferences, tags) travel as JSON text, because RxDB's stock query builders can
only select scalar fields.

Push rule, per document (:func:`judge_push`): the client says what it believed the server
had (``assumedMasterState``) and what it wants (``newDocumentState``). Only *client-owned*
fields count; server-managed ones (``updatedAt``, loyalty figures, timestamps) never cause a
conflict (the failure of rxdb #6248). A field the client changed is applied when the server
still has the value the client assumed, or already has the new value (a retry); when the
server changed that same field meanwhile, the whole row is a conflict and the server's
version goes back. Different fields edited on two tablets merge. A changed field the caller
may not write refuses the row (reported as a conflict and audited), never applied silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import msgspec

__all__ = [
    "COLLECTIONS",
    "Collection",
    "Checkpoint",
    "PushVerdict",
    "after",
    "blank_tombstone",
    "judge_push",
    "same_value",
    "snake_case",
    "MAX_PULL_LIMIT",
    "MAX_PUSH_ROWS",
]

MAX_PULL_LIMIT = 2000  # x ~22 fields stays under the GraphQL cost limit (graphql_schema/cost.py)
MAX_PUSH_ROWS = 500


class Field(msgspec.Struct, frozen=True):
    """One document field: its wire name, the policy field it is decided by (``None``: not
    a policy field, always shown), whether the client owns it, its GraphQL scalar."""

    wire: str
    policy: str | None
    owned: bool
    kind: Literal["str", "int", "bool", "json"] = "str"


class Collection(msgspec.Struct, frozen=True):
    name: str  # RxDB collection name, capitalised: Customer, Note, ...
    resource: str  # policy resource
    fields: tuple[Field, ...]
    # What a tablet may do besides editing owned fields.
    may_create: bool = True
    may_delete: bool = False
    may_edit: bool = True

    @property
    def owned(self) -> tuple[str, ...]:
        return tuple(f.wire for f in self.fields if f.owned)

    def field(self, wire: str) -> Field | None:
        for f in self.fields:
            if f.wire == wire:
                return f
        return None


@lru_cache(maxsize=512)
def snake_case(wire: str) -> str:
    """``firstName`` -> ``first_name``: wire names to policy field and column names."""
    return "".join("_" + c.lower() if c.isupper() else c for c in wire)


def _f(wire: str, policy: str | None = "", owned: bool = False, kind: Literal["str", "int", "bool", "json"] = "str") -> Field:
    if policy == "":
        policy = snake_case(wire)
    return Field(wire=wire, policy=policy, owned=owned, kind=kind)


COLLECTIONS: dict[str, Collection] = {
    c.name: c
    for c in (
        Collection(
            name="Customer", resource="customer", may_delete=False,
            fields=(
                _f("firstName", owned=True), _f("lastName", owned=True), _f("email", owned=True), _f("phone", owned=True),
                _f("birthdate", owned=True), _f("language", owned=True), _f("homeStoreId", owned=True),
                _f("primaryAssociateId", owned=True), _f("secondaryAssociateId", owned=True),
                _f("sizes", owned=True, kind="json"), _f("preferences", owned=True, kind="json"), _f("tags", owned=True, kind="json"),
                _f("vip", owned=True, kind="bool"), _f("loyaltyNumber"), _f("loyaltyTier"), _f("loyaltyPoints", kind="int"),
                _f("createdAt"),
            ),
        ),
        Collection(
            name="Note", resource="note", may_delete=True,
            fields=(
                _f("customerId", None), _f("body", owned=True), _f("pinned", owned=True, kind="bool"),
                _f("visibility", owned=True), _f("authorId"), _f("createdAt"),
            ),
        ),
        Collection(
            name="Task", resource="task",
            fields=(
                _f("customerId", None), _f("storeId", None), _f("kind"), _f("title", owned=True), _f("details", owned=True),
                _f("dueAt", owned=True), _f("snoozedUntil", owned=True), _f("completedAt", owned=True),
                _f("completedById"), _f("assigneeId", owned=True), _f("createdById"), _f("createdAt"),
            ),
        ),
        Collection(
            name="Appointment", resource="appointment",
            fields=(
                _f("customerId", None), _f("storeId", None), _f("associateId", owned=True), _f("channel", owned=True),
                _f("startsAt", owned=True), _f("endsAt", owned=True), _f("status", owned=True), _f("notes", owned=True),
                _f("createdById"), _f("createdAt"),
            ),
        ),
        Collection(
            name="WishlistItem", resource="wishlist", may_delete=True,
            fields=(
                _f("customerId", None), _f("sku", owned=True), _f("productName", owned=True), _f("size", owned=True),
                _f("colour", owned=True), _f("notes", owned=True), _f("fulfilledAt", owned=True), _f("addedById"),
                _f("createdAt"),
            ),
        ),
        # The consent ledger is append-only: a tablet adds records (captured offline, with
        # their own capture time and evidence); it never edits or deletes one.
        Collection(
            name="Consent", resource="consent", may_edit=False,
            fields=(
                _f("customerId", None), _f("noticeId", None, owned=True), _f("purpose", owned=True), _f("status", owned=True),
                _f("occurredAt", owned=True), _f("expiresAt", owned=True), _f("legalBasis", owned=True), _f("channel", owned=True),
                _f("collectedBy"), _f("storeId"), _f("deviceId", owned=True), _f("policyVersion"), _f("noticeSha256"),
                _f("language"), _f("evidence", owned=True), _f("recordedAt"),
            ),
        ),
    )
}


class Checkpoint(msgspec.Struct, frozen=True):
    """A position in a collection's feed: the last document's ``(updatedAt, id)``."""

    seq: int
    id: str

    @property
    def key(self) -> tuple[int, str]:
        return (self.seq, self.id)


def after(position: tuple[int, str], checkpoint: Checkpoint | None) -> bool:
    """Is ``position`` strictly after the checkpoint (keyset order on ``(seq, id)``)?"""
    return checkpoint is None or position > checkpoint.key


def blank_tombstone(collection: Collection, doc_id: str, seq: int) -> dict[str, Any]:
    """A deletion as tablets receive it: every field blanked but ``id``, so that nothing
    personal lingers in a tablet's storage until RxDB's cleanup removes the tombstone."""
    doc: dict[str, Any] = {f.wire: None for f in collection.fields}
    doc.update(id=doc_id, updatedAt=float(seq), deleted=True)
    return doc


def _normal(kind: str, value: Any) -> Any:
    if kind == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if kind == "str" and isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        # Instants compare as instants: a client may echo "...Z" for "...+00:00".
        try:
            import datetime as dt

            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.astimezone(dt.timezone.utc) if parsed.tzinfo else parsed
        except ValueError:
            return value
    return value


def same_value(field: Field, a: Any, b: Any) -> bool:
    """Equality as the document means it (JSON text by value, instants by instant)."""
    return _normal(field.kind, a) == _normal(field.kind, b)


class PushVerdict(msgspec.Struct, frozen=True):
    """What one pushed row does: ``apply`` (fields to write, by wire name), ``create``,
    ``delete``, ``noop``, ``conflict`` (send the server's version back) or ``refuse``
    (a change the caller may not make: also sent back as a conflict, and audited)."""

    action: Literal["apply", "create", "delete", "noop", "conflict", "refuse"]
    changes: dict[str, Any] = {}
    refused: tuple[str, ...] = ()


def judge_push(
    collection: Collection,
    assumed: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    writable: frozenset[str] | None,
) -> PushVerdict:
    """Decide one pushed row against the server's current view of the document.

    ``current``: the caller's view of the server document (``None``: no such document, or
    not visible to the caller; a dict with ``deleted`` true: a tombstone). ``writable``: the
    wire names the caller may write on this document (``None`` when it does not exist).
    """
    wants_deleted = bool(new.get("deleted"))
    if current is None or current.get("deleted"):
        if current is None and assumed is None and not wants_deleted:
            return PushVerdict("create" if collection.may_create else "refuse", refused=() if collection.may_create else ("create",))
        if wants_deleted:
            return PushVerdict("noop")  # deleting what is gone (or was never synced)
        return PushVerdict("conflict")
    owned = [collection.field(w) for w in collection.owned]
    if assumed is None:
        # The client believes the document is new; a retried create lands here.
        same = all(same_value(f, new.get(f.wire), current.get(f.wire)) for f in owned if f is not None)
        return PushVerdict("noop" if same and not wants_deleted else "conflict")
    if wants_deleted and not assumed.get("deleted"):
        if not collection.may_delete:
            return PushVerdict("refuse", refused=("deleted",))
        return PushVerdict("delete")
    changes: dict[str, Any] = {}
    for f in owned:
        assert f is not None
        mine, before, theirs = new.get(f.wire), assumed.get(f.wire), current.get(f.wire)
        if same_value(f, mine, before) or same_value(f, mine, theirs):
            continue  # untouched by the client, or already applied (a retry)
        if not same_value(f, before, theirs):
            return PushVerdict("conflict")  # both sides changed this field
        changes[f.wire] = mine
    if not changes:
        return PushVerdict("noop")
    refused = tuple(w for w in changes if writable is None or w not in writable)
    if refused or not collection.may_edit:
        return PushVerdict("refuse", refused=refused or tuple(changes))
    return PushVerdict("apply", changes=changes)
