"""Pure rules of the customer 360 and client books: amounts, timeline order and wording,
filters, KPI periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import uuid4

import pytest

from domain.client_books import parse_filter
from domain.customer360 import TimelineEvent, appointment_summary, consent_summary, merge_timeline, money, note_summary, purchase_summary
from domain.errors import ValidationFailed
from domain.kpis import check_period

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.timezone.utc)


def test_money_is_a_two_place_decimal_string() -> None:
    assert money(Decimal("12.5")) == "12.50"
    assert money(129.9) == "129.90"  # a SQLite float sum carries no binary noise
    assert money(0.1 + 0.2) == "0.30"
    assert money(None) is None


def test_timeline_is_newest_first_and_bounded() -> None:
    events = [TimelineEvent(kind="note", occurred_at=NOW - dt.timedelta(days=d), summary="Note added", ref_id=uuid4()) for d in (3, 1, 2)]
    merged = merge_timeline(events, 2)
    assert [e.occurred_at for e in merged] == [NOW - dt.timedelta(days=1), NOW - dt.timedelta(days=2)]


def test_summaries_use_only_what_may_be_read() -> None:
    assert purchase_summary("online", "10.00", "EUR") == "Online purchase, 10.00 EUR"
    assert purchase_summary("store", None, None) == "In-store purchase"
    assert note_summary(True, False) == "Pinned note added" and note_summary(None, True) == "Private note added"
    assert appointment_summary("held", "video") == "Appointment held (video)" and appointment_summary(None, None) == "Appointment"
    assert consent_summary("withdrawn", "marketing_sms") == "Consent withdrawn: marketing_sms"


def test_client_book_filter_validation() -> None:
    f = parse_filter({"vip": True, "lapsedDays": 90, "minLifetimeValue": "1500.5"})
    assert f.used() == ["vip", "lapsed_days", "min_lifetime_value"] and f.min_value() == Decimal("1500.5")
    for bad in ({"lapsedDays": 0}, {"birthdayWithinDays": 400}, {"minLifetimeValue": "-1"}, {"minLifetimeValue": "1.234"}):
        with pytest.raises(ValidationFailed):
            parse_filter(bad)


def test_kpi_period_defaults_and_limits() -> None:
    assert check_period(None, None, NOW) == (NOW - dt.timedelta(days=30), NOW)
    with pytest.raises(ValidationFailed):
        check_period(NOW, NOW - dt.timedelta(days=1), NOW)
    with pytest.raises(ValidationFailed):
        check_period(NOW - dt.timedelta(days=500), NOW, NOW)
    with pytest.raises(ValidationFailed):
        check_period(dt.datetime(2026, 1, 1), None, NOW)
