"""The decision function: one place that says what a principal may see and change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from uuid import UUID

import msgspec

from domain.errors import FieldsNotWritable, Forbidden, ProcessingRestricted
from domain.staff import Principal
from permissions.masking import mask
from permissions.policy import RESOURCE_FIELDS, Access, Policy, Scope

__all__ = ["RecordContext", "Decision", "RowScope", "decide", "row_scope", "searchable_fields", "check_create"]


class RecordContext(msgspec.Struct, frozen=True):
    """What the decision needs to know about a record, and nothing else."""

    store_id: UUID | None
    primary_associate_id: UUID | None = None
    secondary_associate_id: UUID | None = None
    consents: frozenset[str] = frozenset()
    author_id: UUID | None = None  # notes
    private: bool = False  # notes
    # The caller holds a live break-glass grant for this record: scope does not apply
    # (field rules still do, and writes stay refused).
    break_glass: bool = False
    # GDPR Art. 18: processing restricted; staff may look but not change anything.
    restricted: bool = False


class RowScope(msgspec.Struct, frozen=True):
    """The row filter a repository must apply: ``kind`` and the ids it filters on."""

    kind: Scope
    store_ids: frozenset[UUID]
    staff_id: UUID


class Decision(msgspec.Struct, frozen=True):
    """The visible view of one record and the fields the caller may write."""

    fields: Mapping[str, Access]
    writable: frozenset[str]
    restricted: bool = False

    def project(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Apply the view: full values kept, masked ones masked, the rest ``None``."""
        out: dict[str, Any] = {}
        for field, access in self.fields.items():
            if access == "full":
                out[field] = values.get(field)
            elif access == "masked":
                out[field] = mask(field, values.get(field))
            else:
                out[field] = None
        return out

    def check_write(self, fields: Iterable[str]) -> None:
        """Refuse the whole write if any field is not writable (nothing is partially applied)."""
        fields = list(fields)
        if self.restricted and fields:
            raise ProcessingRestricted()
        refused = [f for f in fields if f not in self.writable]
        if refused:
            raise FieldsNotWritable(refused)


def row_scope(policy: Policy, principal: Principal, resource: str) -> RowScope:
    rp = policy.resource(principal.role, resource)
    if rp is None:
        raise Forbidden(f"Your role has no access to {resource} records")
    return RowScope(kind=rp.scope, store_ids=principal.store_ids, staff_id=principal.staff_id)


def _reachable(scope: Scope, principal: Principal, record: RecordContext) -> bool:
    if scope == "all":
        return True
    if scope == "store":
        return record.store_id is not None and record.store_id in principal.store_ids
    return principal.staff_id in (record.primary_associate_id, record.secondary_associate_id)


def decide(policy: Policy, principal: Principal, resource: str, record: RecordContext) -> Decision:
    """The caller's view of one record, or :class:`Forbidden` with the reason."""
    rp = policy.resource(principal.role, resource)
    if rp is None:
        raise Forbidden(f"Your role has no access to {resource} records")
    if record.private and record.author_id != principal.staff_id:
        raise Forbidden(f"This {resource} is private to its author")
    in_book = principal.staff_id in (record.primary_associate_id, record.secondary_associate_id)
    if not _reachable(rp.scope, principal, record):
        if not (record.break_glass and principal.role.value in policy.break_glass.roles):
            raise Forbidden(f"This {resource} is outside your scope")
        view = _decision(policy, principal.role.value, resource, in_book, record.consents)
        return Decision(fields=view.fields, writable=frozenset())
    view = _decision(policy, principal.role.value, resource, in_book, record.consents)
    if record.restricted:
        return Decision(fields=view.fields, writable=frozenset(), restricted=True)
    return view


@lru_cache(maxsize=4096)
def _decision(policy: Policy, role: str, resource: str, in_book: bool, consents: frozenset[str]) -> Decision:
    from domain.staff import Role

    rp = policy.resource(Role(role), resource)
    assert rp is not None
    gates = policy.consent_gates.get(resource, {})
    fields: dict[str, Access] = {}
    for field in RESOURCE_FIELDS[resource]:
        rule = rp.rule(field)
        access: Access = (rule.in_book or rule.access) if in_book else rule.access
        purpose = rule.consent or gates.get(field)
        if purpose and purpose not in consents:
            access = "none"
        if rule.consent and gates.get(field) and gates[field] not in consents:
            access = "none"
        fields[field] = access
    # You may only overwrite what you can see in full.
    writable = frozenset(f for f in rp.write if fields.get(f) == "full")
    return Decision(fields=fields, writable=writable)


def check_create(policy: Policy, principal: Principal, resource: str, store_id: UUID | None, fields: Iterable[str], consents: frozenset[str] = frozenset(), *, claims_self: bool = False) -> None:
    """May the caller create a record of ``resource`` in ``store_id`` carrying ``fields``?
    ``claims_self``: the caller puts the new customer in their own client book, which
    ``claim_on_create`` allows even where the associate fields are not writable."""
    rp = policy.resource(principal.role, resource)
    if rp is None or not rp.create:
        raise Forbidden(f"Your role may not create {resource} records")
    if rp.scope != "all" and (store_id is None or store_id not in principal.store_ids):
        raise Forbidden(f"You may only create {resource} records in your stores")
    gates = policy.consent_gates.get(resource, {})
    fields = [f for f in fields if not (claims_self and rp.claim_on_create and f == "primary_associate_id")]
    refused = [f for f in fields if f not in rp.write or (f in gates and gates[f] not in consents)]
    if refused:
        raise FieldsNotWritable(refused)


def searchable_fields(policy: Policy, principal: Principal, resource: str = "customer") -> dict[str, str]:
    """Fields a search may match on, each with where: ``"scope"`` (every reachable record) or
    ``"book"`` (only records in the caller's client book, where the field is readable in
    full). Matching a field the caller cannot read in full would confirm hidden values."""
    rp = policy.resource(principal.role, resource)
    if rp is None:
        return {}
    out: dict[str, str] = {}
    for field in RESOURCE_FIELDS[resource]:
        rule = rp.rule(field)
        if rule.consent or field in policy.consent_gates.get(resource, {}):
            continue  # would depend on per-customer consent: never searchable
        if rule.access == "full":
            out[field] = "scope"
        elif rule.in_book == "full":
            out[field] = "book"
    return out
