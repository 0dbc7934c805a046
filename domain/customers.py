"""Customer documents on the wire: the read view, the create and the partial update."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.errors import Conflict, ValidationFailed

__all__ = [
    "CUSTOMER_FIELDS",
    "DuplicateCandidates",
    "WRITABLE_CUSTOMER_FIELDS",
    "Customer",
    "CustomerCreate",
    "CustomerUpdate",
    "validate_contact",
]

Name = Annotated[str, Meta(min_length=1, max_length=100)]
Email = Annotated[str, Meta(min_length=3, max_length=254)]
Phone = Annotated[str, Meta(min_length=6, max_length=32)]
Language = Annotated[str, Meta(pattern=r"^[a-z]{2}$")]
ShortText = Annotated[str, Meta(min_length=1, max_length=60)]
Sizes = Annotated[dict[ShortText, ShortText], Meta(max_length=30)]
Preferences = Annotated[
    dict[ShortText, Annotated[list[ShortText], Meta(max_length=30)]], Meta(max_length=30)
]
Tags = Annotated[list[ShortText], Meta(max_length=30)]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{4,30}$")


class Customer(msgspec.Struct, rename="camel", kw_only=True):
    """A customer as a caller sees it: fields the caller may not read are ``None``, masked
    fields carry the masked text. ``version`` is the optimistic-concurrency counter."""

    id: UUID
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    birthdate: str | None = None
    language: str | None = None
    home_store_id: UUID | None = None
    primary_associate_id: UUID | None = None
    secondary_associate_id: UUID | None = None
    sizes: dict[str, str] | None = None
    preferences: dict[str, list[str]] | None = None
    tags: list[str] | None = None
    vip: bool | None = None
    loyalty_number: str | None = None
    loyalty_tier: str | None = None
    loyalty_points: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    version: int = 1


# Fields subject to the permission policy, in wire (snake) form.
CUSTOMER_FIELDS: tuple[str, ...] = tuple(
    f for f in Customer.__struct_fields__ if f not in {"id", "version"}
)


class CustomerCreate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    first_name: Name
    last_name: Name
    home_store_id: UUID
    email: Email | None = None
    phone: Phone | None = None
    birthdate: dt.date | None = None
    language: Language = "en"
    primary_associate_id: UUID | None = None
    secondary_associate_id: UUID | None = None
    sizes: Sizes = msgspec.field(default_factory=dict)
    preferences: Preferences = msgspec.field(default_factory=dict)
    tags: Tags = msgspec.field(default_factory=list)
    vip: bool = False
    # Not a customer field: create even though the create answered with duplicate candidates.
    confirm_duplicate: bool = False


class DuplicateCandidates(Conflict):
    """The new customer may already exist: ``candidates`` are the caller's views of the
    reachable customers with the same email or phone, or a similar name and the same
    birthday. Send the create again with ``confirmDuplicate: true`` to create anyway."""

    code = "DUPLICATE_CANDIDATES"
    title = "This customer may already exist"

    def __init__(self, candidates: list[Customer]) -> None:
        self.candidates = candidates
        super().__init__(
            f"{len(candidates)} existing customer(s) look like this one; resend with confirmDuplicate: true to create anyway",
            extra={"candidates": msgspec.to_builtins(candidates)},
        )


class CustomerUpdate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Partial update: a field left out is untouched, ``null`` clears a nullable field."""

    first_name: Name | UnsetType = UNSET
    last_name: Name | UnsetType = UNSET
    email: Email | None | UnsetType = UNSET
    phone: Phone | None | UnsetType = UNSET
    birthdate: dt.date | None | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    home_store_id: UUID | UnsetType = UNSET
    primary_associate_id: UUID | None | UnsetType = UNSET
    secondary_associate_id: UUID | None | UnsetType = UNSET
    sizes: Sizes | UnsetType = UNSET
    preferences: Preferences | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    vip: bool | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        """The fields the caller actually sent, by snake-case name."""
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not UNSET
        }


WRITABLE_CUSTOMER_FIELDS: tuple[str, ...] = CustomerUpdate.__struct_fields__


def validate_contact(changes: dict[str, object]) -> None:
    """Checks msgspec cannot express: email and phone shapes, a plausible birthdate."""
    email = changes.get("email")
    if isinstance(email, str) and not _EMAIL.match(email):
        raise ValidationFailed("email is not a valid address", extra={"field": "email"})
    phone = changes.get("phone")
    if isinstance(phone, str) and not _PHONE.match(phone):
        raise ValidationFailed("phone is not a valid number", extra={"field": "phone"})
    birthdate = changes.get("birthdate")
    if isinstance(birthdate, dt.date):
        if birthdate > dt.date.today() or birthdate.year < 1900:
            raise ValidationFailed("birthdate is not plausible", extra={"field": "birthdate"})
