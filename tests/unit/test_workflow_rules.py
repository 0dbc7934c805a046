"""Pure workflow rules: birthday windows, task status, appointment windows, input structs."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from domain.errors import ValidationFailed
from domain.workflows import (
    AppointmentCreate,
    TaskUpdate,
    WishlistItemCreate,
    birthday_mmdd_window,
    check_appointment_window,
    task_status,
    upcoming_birthday,
)

UTC = dt.timezone.utc


def test_upcoming_birthday_crosses_new_year() -> None:
    assert upcoming_birthday(102, dt.date(2026, 12, 28), 7) == dt.date(2027, 1, 2)
    assert upcoming_birthday(1227, dt.date(2026, 12, 28), 7) is None
    assert upcoming_birthday(1228, dt.date(2026, 12, 28), 0) == dt.date(2026, 12, 28)


def test_29_february_birthdays_are_celebrated_on_the_28th_in_common_years() -> None:
    assert upcoming_birthday(229, dt.date(2027, 2, 25), 7) == dt.date(2027, 2, 28)
    assert upcoming_birthday(229, dt.date(2028, 2, 25), 7) == dt.date(2028, 2, 29)
    assert 229 in birthday_mmdd_window(dt.date(2027, 2, 27), 1)


def test_birthday_window_lists_month_day_values_across_the_year_end() -> None:
    assert birthday_mmdd_window(dt.date(2026, 12, 30), 3) == [101, 102, 1230, 1231]


def test_task_status_follows_completion_and_snooze() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert task_status(None, None, now) == "open"
    assert task_status(None, now + dt.timedelta(minutes=1), now) == "snoozed"
    assert task_status(None, now - dt.timedelta(minutes=1), now) == "open"
    assert task_status(now, now + dt.timedelta(days=1), now) == "done"


def test_appointment_window_rules() -> None:
    now = dt.datetime(2026, 1, 1, 9, tzinfo=UTC)
    start = now + dt.timedelta(hours=1)
    check_appointment_window(start, start + dt.timedelta(hours=8), now)
    for s, e in ((start, start), (start, start + dt.timedelta(hours=8, seconds=1)), (now, now + dt.timedelta(hours=1))):
        with pytest.raises(ValidationFailed):
            check_appointment_window(s, e, now)


def test_inputs_reject_unknown_fields_naive_times_and_long_text() -> None:
    with pytest.raises(msgspec.ValidationError, match="priority"):
        msgspec.json.decode(b'{"action": "complete", "priority": 1}', type=TaskUpdate)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"startsAt": "2030-01-01T10:00:00", "endsAt": "2030-01-01T11:00:00Z"}', type=AppointmentCreate)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode({"sku": "A", "productName": "B", "notes": "x" * 2001}), type=WishlistItemCreate)
    ok = msgspec.json.decode(b'{"startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T11:00:00+01:00"}', type=AppointmentCreate)
    assert ok.channel == "in_store"
