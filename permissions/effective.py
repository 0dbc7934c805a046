"""The caller's effective policy, for apps that shape their UI around it."""

from __future__ import annotations

import msgspec

from domain.staff import Role
from permissions.policy import CAPABILITIES, RESOURCE_FIELDS, Access, Policy, Scope

__all__ = ["FieldRule", "ResourceRules", "EffectivePolicy", "effective_policy"]


class FieldRule(msgspec.Struct, rename="camel", frozen=True):
    """Field names are the wire names (camelCase), as in the documents the app receives."""

    read: Access
    read_in_book: Access
    requires_consent: str | None
    writable: bool


class ResourceRules(msgspec.Struct, rename="camel", frozen=True):
    scope: Scope
    create: bool
    fields: dict[str, FieldRule]


class EffectivePolicy(msgspec.Struct, rename="camel", frozen=True):
    role: Role
    policy_version: int
    resources: dict[str, ResourceRules]
    capabilities: list[str]
    break_glass_minutes: int | None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def effective_policy(policy: Policy, role: Role) -> EffectivePolicy:
    """What ``role`` may read and write, field by field. ``writable`` fields are writable only
    where they are readable in full (so for associates, contact only in their own book);
    a ``requiresConsent`` field is null and read-only unless the customer holds the purpose."""
    resources: dict[str, ResourceRules] = {}
    for resource, fields in RESOURCE_FIELDS.items():
        rp = policy.resource(role, resource)
        if rp is None:
            continue
        gates = policy.consent_gates.get(resource, {})
        rules = {}
        for field in fields:
            rule = rp.rule(field)
            rules[_camel(field)] = FieldRule(
                read=rule.access,
                read_in_book=rule.in_book or rule.access,
                requires_consent=rule.consent or gates.get(field),
                writable=field in rp.write,
            )
        resources[resource] = ResourceRules(scope=rp.scope, create=rp.create, fields=rules)
    return EffectivePolicy(
        role=role,
        policy_version=policy.version,
        resources=resources,
        capabilities=[c for c in CAPABILITIES if policy.allows(role, c)],
        break_glass_minutes=policy.break_glass.minutes if role.value in policy.break_glass.roles else None,
    )
