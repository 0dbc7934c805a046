"""The declarative policy: its vocabulary, loading and validation."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import msgspec

from domain.consent import CONSENT_FIELDS, PURPOSES
from domain.customers import CUSTOMER_FIELDS
from domain.staff import Role

__all__ = ["Access", "Scope", "ReadRule", "ResourcePolicy", "Policy", "BreakGlass", "CAPABILITIES", "PolicyError", "RESOURCE_FIELDS", "load_policy", "load_default_policy"]

Access = Literal["full", "masked", "none"]
Scope = Literal["assigned", "store", "all"]

# Every resource the policy governs and the fields it may mention.
RESOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "customer": CUSTOMER_FIELDS,
    "note": ("body", "pinned", "visibility", "author_id", "created_at", "updated_at"),
    "consent": CONSENT_FIELDS,
    "wishlist": ("sku", "product_name", "size", "colour", "notes", "fulfilled_at", "added_by_id", "created_at", "updated_at"),
    "task": ("kind", "title", "details", "due_at", "snoozed_until", "completed_at", "completed_by_id", "assignee_id", "created_by_id", "created_at", "updated_at"),
    "appointment": ("channel", "starts_at", "ends_at", "status", "notes", "associate_id", "created_by_id", "created_at", "updated_at"),
    # Store and online purchases (and, governed alike, returns and store check-ins).
    "purchase": ("occurred_at", "channel", "store_id", "currency", "total", "lines"),
}

DEFAULT_POLICY_PATH = Path(__file__).with_name("default_policy.toml")


class PolicyError(ValueError):
    """The policy document does not validate; the message names the offending entry."""


class ReadRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    access: Access
    in_book: Access | None = None
    consent: str | None = None


class ResourcePolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    scope: Scope
    read: dict[str, Access | ReadRule] = {}
    write: list[str] = []
    create: bool = False
    # May put a new customer in their own client book even without write access to the
    # associate fields (so a seller sees the contact details they just typed in).
    claim_on_create: bool = False

    def rule(self, field: str) -> ReadRule:
        value = self.read.get(field)
        if value is None:
            return _NONE
        if isinstance(value, str):
            return ReadRule(access=value)
        return value


_NONE = ReadRule(access="none")


class BreakGlass(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who may open a customer outside their scope by giving a reason, and for how long."""

    roles: list[str] = []
    minutes: int = 30
    min_reason_length: int = 15


# Actions that are not field reads or writes; each lists the roles allowed.
CAPABILITIES: tuple[str, ...] = (
    "reload_policy",
    "view_break_glass_log",
    "read_audit",
    "export_customer",
    "erase_customer",
    "restrict_customer",
    "publish_consent_notice",
    # Assign tasks and appointments to other staff and read their task lists.
    "assign_work",
    # Move a seller's client book to another seller (own stores unless the scope is all).
    "reassign_client_book",
    # Read the KPIs of every seller of a store (own stores unless the scope is all).
    "view_store_kpis",
    # Register, list and revoke the tablets of a store (own stores unless HQ).
    "manage_devices",
    # See Web Push delivery counts and dead letters, and replay them.
    "operate_push",
)


class Policy(msgspec.Struct, frozen=True, eq=False, forbid_unknown_fields=True):
    """Hashable by identity so decisions can be cached per loaded policy."""

    version: int
    roles: dict[str, dict[str, ResourcePolicy]]
    consent_gates: dict[str, dict[str, str]] = {}
    break_glass: BreakGlass = BreakGlass()
    capabilities: dict[str, list[str]] = {}

    def allows(self, role: Role, capability: str) -> bool:
        return role.value in self.capabilities.get(capability, [])

    def resource(self, role: Role, resource: str) -> ResourcePolicy | None:
        return self.roles.get(role.value, {}).get(resource)


def _validate(policy: Policy) -> Policy:
    role_names = {r.value for r in Role}
    for role, resources in policy.roles.items():
        if role not in role_names:
            raise PolicyError(f"roles.{role}: unknown role (known: {', '.join(sorted(role_names))})")
        for resource, rp in resources.items():
            known = RESOURCE_FIELDS.get(resource)
            if known is None:
                raise PolicyError(f"roles.{role}.{resource}: unknown resource")
            where = f"roles.{role}.{resource}"
            for field, rule in rp.read.items():
                if field not in known:
                    raise PolicyError(f"{where}.read.{field}: unknown field")
                if isinstance(rule, ReadRule) and rule.consent and rule.consent not in PURPOSES:
                    raise PolicyError(f"{where}.read.{field}: unknown consent purpose {rule.consent!r}")
            for field in rp.write:
                if field not in known:
                    raise PolicyError(f"{where}.write: unknown field {field!r}")
                if rp.rule(field).access == "none" and (rp.rule(field).in_book or "none") == "none":
                    raise PolicyError(f"{where}.write: {field!r} is writable but never readable")
    for role in policy.break_glass.roles:
        if role not in role_names:
            raise PolicyError(f"break_glass.roles: unknown role {role!r}")
    if not 1 <= policy.break_glass.minutes <= 24 * 60:
        raise PolicyError("break_glass.minutes: must be between 1 and 1440")
    for capability, allowed in policy.capabilities.items():
        if capability not in CAPABILITIES:
            raise PolicyError(f"capabilities.{capability}: unknown capability (known: {', '.join(CAPABILITIES)})")
        for role in allowed:
            if role not in role_names:
                raise PolicyError(f"capabilities.{capability}: unknown role {role!r}")
    for resource, gates in policy.consent_gates.items():
        known = RESOURCE_FIELDS.get(resource)
        if known is None:
            raise PolicyError(f"consent_gates.{resource}: unknown resource")
        for field, purpose in gates.items():
            if field not in known:
                raise PolicyError(f"consent_gates.{resource}.{field}: unknown field")
            if purpose not in PURPOSES:
                raise PolicyError(f"consent_gates.{resource}.{field}: unknown consent purpose {purpose!r}")
    return policy


def load_policy(text: str | bytes) -> Policy:
    """Parse and validate a TOML policy document; raise :class:`PolicyError` naming the
    offending entry (``roles.associate.customer.read.email: ...``) if it is wrong."""
    try:
        raw = tomllib.loads(text.decode() if isinstance(text, bytes) else text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PolicyError(f"not valid TOML: {exc}") from exc
    roles = raw.pop("roles", None)
    if not isinstance(roles, dict):
        raise PolicyError("roles: missing or not a table")
    decoded_roles: dict[str, dict[str, ResourcePolicy]] = {}
    for role, resources in roles.items():
        if not isinstance(resources, dict):
            raise PolicyError(f"roles.{role}: not a table")
        decoded_roles[role] = {}
        for resource, body in resources.items():
            where = f"roles.{role}.{resource}"
            if not isinstance(body, dict):
                raise PolicyError(f"{where}: not a table")
            read = body.get("read", {})
            if isinstance(read, dict):
                # Decode each read rule on its own so an error names its field.
                for field, rule in read.items():
                    try:
                        msgspec.convert(rule, Access | ReadRule)
                    except msgspec.ValidationError as exc:
                        raise PolicyError(f"{where}.read.{field}: {exc}") from exc
            try:
                decoded_roles[role][resource] = msgspec.convert(body, ResourcePolicy)
            except msgspec.ValidationError as exc:
                raise PolicyError(f"{where}: {exc}") from exc
    try:
        policy = msgspec.convert({**raw, "roles": {}}, Policy)
    except msgspec.ValidationError as exc:
        raise PolicyError(str(exc)) from exc
    return _validate(
        Policy(
            version=policy.version, roles=decoded_roles, consent_gates=policy.consent_gates,
            break_glass=policy.break_glass, capabilities=policy.capabilities,
        )
    )


def load_default_policy() -> Policy:
    return load_policy(DEFAULT_POLICY_PATH.read_bytes())
