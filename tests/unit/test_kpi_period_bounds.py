"""Regression (found by tests/fuzz): a KPI period at the ends of the calendar answered 500
(OverflowError computing the default start 30 days before year 1)."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.errors import ValidationFailed
from domain.kpis import check_period

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)


def test_period_ending_in_year_one_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed):
        check_period(None, dt.datetime(1, 1, 1, 0, 1, tzinfo=dt.timezone.utc), NOW)


def test_period_at_the_last_representable_instant_with_an_offset_is_a_validation_error() -> None:
    late = dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    with pytest.raises(ValidationFailed):
        check_period(late - dt.timedelta(days=1), late, NOW)


def test_ordinary_period_is_unchanged() -> None:
    since, until = check_period(None, None, NOW)
    assert until == NOW and since == NOW - dt.timedelta(days=30)
