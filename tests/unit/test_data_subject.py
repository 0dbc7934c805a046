"""Pure rules of data-subject requests: amounts, retention cut-off and references, bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec
import pytest

from domain.data_subject import ErasureRequestBody, RestrictionRequestBody, money, retention_cutoff, retention_reference


@pytest.mark.parametrize(("value", "expected"), [(Decimal("129.9"), "129.90"), ("12", "12.00"), (Decimal("0.5"), "0.50"), (7, "7.00")])
def test_money_is_a_two_decimal_string(value, expected) -> None:  # noqa: ANN001
    assert money(value) == expected


def test_retention_cutoff_and_reference() -> None:
    now = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)
    assert retention_cutoff(now, 1095) == dt.datetime(2023, 11, 24, 10, 0, tzinfo=dt.timezone.utc)
    cid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert retention_reference(now, cid) == f"retention-2026-11-23-{cid}"
    assert len(retention_reference(now, cid)) <= 100  # fits ErasureRequest.reference


@pytest.mark.parametrize("body", [{}, {"requestReference": ""}, {"requestReference": "   "}, {"requestReference": "x" * 101}, {"requestReference": "DSR-1", "extra": 1}])
def test_erasure_body_needs_a_reference_of_1_to_100_characters(body) -> None:  # noqa: ANN001
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert(body, ErasureRequestBody)


def test_restriction_body_needs_the_flag_and_a_reference() -> None:
    assert msgspec.convert({"restricted": True, "requestReference": "DSR-2026-0042"}, RestrictionRequestBody).restricted is True
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"requestReference": "DSR-2026-0042"}, RestrictionRequestBody)
