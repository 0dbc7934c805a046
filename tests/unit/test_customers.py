"""Customer wire documents: partial updates and contact validation."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import msgspec
import pytest

from domain.customers import CustomerCreate, CustomerUpdate, validate_contact
from domain.errors import ValidationFailed


def update(body: str) -> CustomerUpdate:
    return msgspec.json.decode(body, type=CustomerUpdate)


def test_update_changes_include_only_sent_fields() -> None:
    assert update('{"firstName": "Ana", "tags": ["vip-event"]}').changes() == {"first_name": "Ana", "tags": ["vip-event"]}


def test_empty_update_has_no_changes() -> None:
    assert update("{}").changes() == {}


def test_update_keeps_null_as_none_to_clear_a_field() -> None:
    changes = update('{"email": null, "secondaryAssociateId": null}').changes()
    assert changes == {"email": None, "secondary_associate_id": None}


def test_update_decodes_typed_values() -> None:
    changes = update('{"birthdate": "1990-05-17", "homeStoreId": "00000000-0000-0000-0000-00000000000a"}').changes()
    assert changes == {"birthdate": dt.date(1990, 5, 17), "home_store_id": UUID("00000000-0000-0000-0000-00000000000a")}


def test_update_rejects_unknown_field() -> None:
    with pytest.raises(msgspec.ValidationError, match="loyaltyPoints"):
        update('{"loyaltyPoints": 1000}')


def test_update_rejects_snake_case_field_name() -> None:
    with pytest.raises(msgspec.ValidationError):
        update('{"first_name": "Ana"}')


def test_update_rejects_null_for_non_nullable_field() -> None:
    with pytest.raises(msgspec.ValidationError):
        update('{"firstName": null}')


def test_create_rejects_unknown_field() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(
            '{"firstName": "Ana", "lastName": "G", "homeStoreId": "00000000-0000-0000-0000-00000000000a", "vipLevel": 3}',
            type=CustomerCreate,
        )


def test_validate_contact_accepts_plausible_contact() -> None:
    validate_contact({"email": "ana.garcia@example.com", "phone": "+34 612 345 678", "birthdate": dt.date(1990, 5, 17)})


def test_validate_contact_accepts_cleared_contact() -> None:
    validate_contact({"email": None, "phone": None, "birthdate": None})


@pytest.mark.parametrize("email", ["ana.garcia", "ana@example", "ana garcia@example.com", "a@b@example.com"])
def test_validate_contact_rejects_bad_email(email: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_contact({"email": email})
    assert info.value.extra == {"field": "email"}


@pytest.mark.parametrize("phone", ["call me", "+34 abc 345", "++34612345678", "12"])
def test_validate_contact_rejects_bad_phone(phone: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_contact({"phone": phone})
    assert info.value.extra == {"field": "phone"}


def test_validate_contact_rejects_future_birthdate() -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_contact({"birthdate": dt.date.today() + dt.timedelta(days=1)})
    assert info.value.extra == {"field": "birthdate"}


def test_validate_contact_rejects_birthdate_before_1900() -> None:
    with pytest.raises(ValidationFailed):
        validate_contact({"birthdate": dt.date(1899, 12, 31)})
