"""Small keyword-only factories for test data, writing through the real tables."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from argon2 import PasswordHasher

from clienteling.passwords import Passwords
from clienteling.tables import ConsentRecord, Customer, Note, StaffStore, Staff, Store
from domain.text import name_key, normalize_email, phone_digits

PASSWORD = "correct horse battery staple"
# Cheap argon2id parameters: tests hash many passwords; production uses RFC 9106 defaults.
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
_PASSWORD_HASH = FAST_PASSWORDS.hash_sync(PASSWORD)


async def make_store(*, code: str | None = None, name: str = "Test store", city: str = "Madrid", country: str = "ES") -> UUID:
    store_id = uuid4()
    await Store.insert(Store(id=store_id, code=code or store_id.hex[:8].upper(), name=name, city=city, country=country, timezone="Europe/Madrid")).run()
    return store_id


async def make_staff(*, role: str, stores: list[UUID] = (), email: str | None = None, active: bool = True, password_hash: str | None = None) -> dict[str, Any]:
    staff_id = uuid4()
    email = email or f"{role}.{staff_id.hex[:8]}@example.test"
    await Staff.insert(Staff(id=staff_id, email=email, display_name=email.split("@")[0], role=role, password_hash=password_hash or _PASSWORD_HASH, active=active)).run()
    for s in stores:
        await StaffStore.insert(StaffStore(staff=staff_id, store=s)).run()
    return {"id": staff_id, "email": email, "role": role, "stores": list(stores)}


async def make_customer(*, store: UUID, first_name: str = "Ana", last_name: str = "García", email: str | None = "ana.garcia@example.com", phone: str | None = "+34 612 345 678", birthdate: dt.date | None = dt.date(1990, 5, 17), primary: UUID | None = None, secondary: UUID | None = None, sizes: dict | None = None, preferences: dict | None = None, loyalty_number: str | None = None, language: str = "es", consents: tuple[str, ...] = ("personalization",)) -> UUID:
    customer_id = uuid4()
    await Customer.insert(
        Customer(
            id=customer_id, first_name=first_name, last_name=last_name, email=email, phone=phone, birthdate=birthdate,
            language=language, home_store=store, primary_associate=primary, secondary_associate=secondary,
            sizes=sizes if sizes is not None else {"shoe": "38", "top": "S"},
            preferences=preferences if preferences is not None else {"colors": ["navy"]},
            tags=[], loyalty_number=loyalty_number, name_key=name_key(first_name, last_name),
            email_key=normalize_email(email), phone_key=phone_digits(phone),
        )
    ).run()
    for purpose in consents:
        await grant(customer=customer_id, purpose=purpose)
    return customer_id


async def grant(*, customer: UUID, purpose: str, status: str = "granted", at: dt.datetime | None = None, expires_at: dt.datetime | None = None) -> None:
    await ConsentRecord.insert(
        ConsentRecord(id=uuid4(), customer=customer, purpose=purpose, status=status, occurred_at=at or dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1), expires_at=expires_at, channel="store_tablet")
    ).run()


async def make_note(*, customer: UUID, author: UUID, body: str = "Prefers navy", visibility: str = "shared", pinned: bool = False) -> UUID:
    note_id = uuid4()
    await Note.insert(Note(id=note_id, customer=customer, author=author, body=body, visibility=visibility, pinned=pinned)).run()
    return note_id
