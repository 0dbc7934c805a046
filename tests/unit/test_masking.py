"""Masking: enough to recognise a customer in front of you, not enough to contact them."""

from __future__ import annotations

import datetime as dt

import pytest

from permissions import mask
from permissions.masking import mask_birthdate, mask_email, mask_phone


def test_mask_email_keeps_first_letter_and_domain() -> None:
    assert mask_email("ana.garcia@example.com") == "a•••@example.com"


def test_mask_email_without_at_sign_reveals_nothing() -> None:
    assert mask_email("ana.garcia") == "•••"


def test_mask_phone_keeps_last_three_digits() -> None:
    assert mask_phone("+34 612 345 678") == "•••678"


def test_mask_phone_ignores_separators_when_counting_digits() -> None:
    assert mask_phone("(612) 34-5-6 7 8") == "•••678"


def test_mask_phone_of_three_digits_or_fewer_reveals_nothing() -> None:
    assert mask_phone("678") == "•••"


def test_mask_birthdate_drops_the_year() -> None:
    assert mask_birthdate(dt.date(1990, 5, 17)) == "--05-17"


def test_mask_birthdate_accepts_iso_string() -> None:
    assert mask_birthdate("1990-05-17") == "--05-17"


@pytest.mark.parametrize("field", ["email", "phone", "birthdate", "first_name", "sizes"])
def test_mask_keeps_none_as_none(field: str) -> None:
    assert mask(field, None) is None


def test_mask_dispatches_email() -> None:
    assert mask("email", "ana.garcia@example.com") == "a•••@example.com"


def test_mask_dispatches_phone() -> None:
    assert mask("phone", "+34 612 345 678") == "•••678"


def test_mask_dispatches_birthdate() -> None:
    assert mask("birthdate", dt.date(1990, 5, 17)) == "--05-17"


def test_mask_of_other_text_keeps_first_character() -> None:
    assert mask("last_name", "García") == "G•••"


def test_mask_of_structured_value_is_none() -> None:
    assert mask("sizes", {"shoe": "38"}) is None
