"""GraphQL shapes of the effective policy."""

from __future__ import annotations

from typing import Optional

import strawberry

from permissions import EffectivePolicy

__all__ = ["MyPermissions", "ResourcePermissions", "FieldPermission"]


@strawberry.type(description="Access to one field. `writable` applies only where the field is readable in full.")
class FieldPermission:
    field: str
    read: str
    read_in_book: str
    requires_consent: Optional[str]
    writable: bool


@strawberry.type
class ResourcePermissions:
    resource: str
    scope: str
    create: bool
    fields: list[FieldPermission]


@strawberry.type(description="What your role may see and change, so the app can shape its screens.")
class MyPermissions:
    role: str
    policy_version: int
    capabilities: list[str]
    break_glass_minutes: Optional[int]
    resources: list[ResourcePermissions]

    @classmethod
    def of(cls, p: EffectivePolicy) -> "MyPermissions":
        return cls(
            role=p.role.value, policy_version=p.policy_version, capabilities=list(p.capabilities),
            break_glass_minutes=p.break_glass_minutes,
            resources=[
                ResourcePermissions(
                    resource=name, scope=r.scope, create=r.create,
                    fields=[
                        FieldPermission(field=f, read=fr.read, read_in_book=fr.read_in_book, requires_consent=fr.requires_consent, writable=fr.writable)
                        for f, fr in r.fields.items()
                    ],
                )
                for name, r in p.resources.items()
            ],
        )


