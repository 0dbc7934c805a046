"""The caller's view of one synced row as a flat RxDB document, through the one policy
decision: masked fields arrive masked, fields the caller may not read arrive as ``null``,
and a row the caller may no longer see (deleted, erased, out of scope, private to someone
else) becomes a tombstone with every personal field blanked."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import Forbidden
from domain.staff import Principal
from domain.sync import Collection, blank_tombstone, snake_case
from permissions import Decision, Policy, RecordContext, decide

__all__ = ["document_view", "customer_context", "wire_writable"]


# Wire name -> column name, once per name instead of once per field of every document.
_snake = functools.cache(snake_case)

# A JSON column travels as its canonical text: keys sorted, compact, UTF-8. Written with
# msgspec: for strings, integers, booleans and null the text is byte for byte what
# ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` writes (the
# suite checks it), which matters because tablets compare it; only floats with an exponent
# would be written differently ("1e16" for "1e+16"), and no synced JSON column holds floats
# (sizes, preferences and tags are strings). About 5 times faster on a first sync's pages.
_canonical = msgspec.json.Encoder(order="sorted")
_decode = msgspec.json.decode


def canonical_json(value: Any) -> str:
    """The text a JSON value travels as on the sync wire."""
    return _canonical.encode(value).decode()


def _column_value(row: Mapping[str, Any], wire: str) -> Any:
    snake = _snake(wire)
    if snake in row:
        return row[snake]
    if snake.endswith("_id") and snake[:-3] in row:
        return row[snake[:-3]]
    return None


def _wire(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "json":
        if isinstance(value, str):  # piccolo hands JSON columns back as text
            value = _decode(value)
        return canonical_json(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def customer_context(row: Mapping[str, Any], consents: frozenset[str], prefix: str = "") -> RecordContext:
    return RecordContext(
        store_id=row[f"{prefix}home_store"],
        primary_associate_id=row[f"{prefix}primary_associate"],
        secondary_associate_id=row[f"{prefix}secondary_associate"],
        consents=consents,
        restricted=row.get(f"{prefix}restricted_at") is not None,
    )


def _decision(policy: Policy, principal: Principal, collection: Collection, row: Mapping[str, Any], consents: frozenset[str]) -> Decision | None:
    """The decision for the row, or ``None`` where the caller may not see it any more."""
    try:
        if collection.name == "Customer":
            if row.get("erased_at") is not None or row.get("deleted_at") is not None:
                return None
            return decide(policy, principal, "customer", customer_context(row, consents))
        if row.get("deleted_at") is not None:
            return None
        has_customer = row.get("customer") is not None
        if has_customer:
            if row.get("c_erased_at") is not None or row.get("c_deleted_at") is not None:
                return None
            decide(policy, principal, "customer", customer_context(row, frozenset(), "c_"))  # reach the customer first
        restricted = row.get("c_restricted_at") is not None
        if collection.name == "Note":
            ctx = RecordContext(store_id=row["c_home_store"], author_id=row["author"], private=row["visibility"] == "private", restricted=restricted)
        elif collection.name == "Task":
            ctx = RecordContext(store_id=row["store"], primary_associate_id=row["assignee"], restricted=restricted)
        elif collection.name == "Appointment":
            ctx = RecordContext(store_id=row["store"], primary_associate_id=row["associate"], restricted=restricted)
        else:  # WishlistItem, Consent: they live in their customer's store and book
            ctx = RecordContext(
                store_id=row["c_home_store"], primary_associate_id=row["c_primary_associate"],
                secondary_associate_id=row["c_secondary_associate"], consents=consents, restricted=restricted,
            )
        return decide(policy, principal, collection.resource, ctx)
    except Forbidden:
        return None


def document_view(policy: Policy, principal: Principal, collection: Collection, row: Mapping[str, Any], consents: frozenset[str]) -> tuple[dict[str, Any], Decision | None]:
    """The document the caller receives for ``row`` and the decision behind it (``None``
    for a tombstone)."""
    seq = int(row["sync_seq"])
    decision = _decision(policy, principal, collection, row, consents)
    if decision is None:
        return blank_tombstone(collection, str(row["id"]), seq), None
    doc: dict[str, Any] = {"id": str(row["id"]), "updatedAt": float(seq), "deleted": False}
    values = {f.policy: _column_value(row, f.wire) for f in collection.fields if f.policy}
    if "birthdate" in values and values["birthdate"] is not None:
        values["birthdate"] = values["birthdate"].isoformat()
    projected = decision.project(values)
    for f in collection.fields:
        raw = projected.get(f.policy) if f.policy else _column_value(row, f.wire)
        if f.policy and f.policy not in decision.fields:
            raw = None  # not a field of the policy's vocabulary for this role: never shown
        doc[f.wire] = _wire(f.kind, raw)
    return doc, decision


def wire_writable(collection: Collection, decision: Decision | None) -> frozenset[str] | None:
    """The wire names the caller may write on a document (``None`` without a decision)."""
    if decision is None:
        return None
    return frozenset(f.wire for f in collection.fields if f.policy and f.policy in decision.writable)
