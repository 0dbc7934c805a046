"""Small keyword-only factories for permission unit tests: principals and record contexts."""

from __future__ import annotations

from uuid import UUID, uuid4

from domain.staff import Principal, Role
from permissions import RecordContext

STORE_A = UUID("00000000-0000-0000-0000-00000000000a")
STORE_B = UUID("00000000-0000-0000-0000-00000000000b")


def principal(*, role: Role | str, stores: tuple[UUID, ...] = (STORE_A,), staff_id: UUID | None = None) -> Principal:
    return Principal(staff_id=staff_id or uuid4(), role=Role(role), store_ids=frozenset(stores), session_id=uuid4())


def customer(*, store: UUID | None = STORE_A, primary: UUID | None = None, secondary: UUID | None = None, consents: tuple[str, ...] | frozenset[str] = ()) -> RecordContext:
    return RecordContext(store_id=store, primary_associate_id=primary, secondary_associate_id=secondary, consents=frozenset(consents))


def note(*, store: UUID | None = STORE_A, author: UUID | None = None, private: bool = False) -> RecordContext:
    return RecordContext(store_id=store, author_id=author or uuid4(), private=private)
