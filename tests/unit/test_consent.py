"""Current consent derived from the ledger."""

from __future__ import annotations

import datetime as dt

from domain.consent import ConsentEvent, active_purposes

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


def event(*, purpose: str = "marketing_email", status: str = "granted", days_ago: float = 1, expires_in_days: float | None = None) -> ConsentEvent:
    expires = NOW + dt.timedelta(days=expires_in_days) if expires_in_days is not None else None
    return ConsentEvent(purpose=purpose, status=status, occurred_at=NOW - dt.timedelta(days=days_ago), expires_at=expires)  # type: ignore[arg-type]


def test_grant_is_active() -> None:
    assert active_purposes([event()], NOW) == {"marketing_email"}


def test_later_withdrawal_wins_whatever_the_input_order() -> None:
    grant, withdrawal = event(days_ago=5), event(status="withdrawn", days_ago=1)
    assert active_purposes([grant, withdrawal], NOW) == frozenset()
    assert active_purposes([withdrawal, grant], NOW) == frozenset()


def test_later_grant_wins_whatever_the_input_order() -> None:
    withdrawal, grant = event(status="withdrawn", days_ago=5), event(days_ago=1)
    assert active_purposes([withdrawal, grant], NOW) == {"marketing_email"}
    assert active_purposes([grant, withdrawal], NOW) == {"marketing_email"}


def test_withdrawal_beats_grant_at_the_same_instant() -> None:
    grant, withdrawal = event(days_ago=1), event(status="withdrawn", days_ago=1)
    assert active_purposes([grant, withdrawal], NOW) == frozenset()
    assert active_purposes([withdrawal, grant], NOW) == frozenset()


def test_denial_beats_grant_at_the_same_instant() -> None:
    grant, denial = event(days_ago=1), event(status="denied", days_ago=1)
    assert active_purposes([grant, denial], NOW) == frozenset()
    assert active_purposes([denial, grant], NOW) == frozenset()


def test_denial_is_not_active() -> None:
    assert active_purposes([event(status="denied")], NOW) == frozenset()


def test_expired_grant_is_not_active() -> None:
    assert active_purposes([event(expires_in_days=-1)], NOW) == frozenset()


def test_grant_expiring_exactly_now_is_not_active() -> None:
    assert active_purposes([event(expires_in_days=0)], NOW) == frozenset()


def test_grant_not_yet_expired_is_active() -> None:
    assert active_purposes([event(expires_in_days=30)], NOW) == {"marketing_email"}


def test_purposes_are_decided_independently() -> None:
    events = [
        event(purpose="marketing_email", days_ago=3),
        event(purpose="marketing_sms", days_ago=3),
        event(purpose="marketing_sms", status="withdrawn", days_ago=1),
        event(purpose="personalization", days_ago=2),
    ]
    assert active_purposes(events, NOW) == {"marketing_email", "personalization"}


def test_no_events_means_no_consent() -> None:
    assert active_purposes([], NOW) == frozenset()
