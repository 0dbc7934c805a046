"""Current consent derived from the ledger."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from domain.consent import ConsentEvent, active_purposes, current_states

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


# --- properties: arrival order never matters ------------------------------------------------

# Few distinct instants, purposes and versions so that ties (same instant, same status) are common.
_INSTANTS = [NOW - dt.timedelta(days=d) for d in (0, 1, 2, 3, 5, 8)]
_purposes = st.sampled_from(("marketing_email", "marketing_sms", "personalization"))
_instants = st.sampled_from(_INSTANTS)
_expiries = st.one_of(st.none(), st.sampled_from([NOW + dt.timedelta(days=d) for d in (-2, -1, 0, 1, 30)]))


@st.composite
def _events(draw: st.DrawFn) -> ConsentEvent:
    return ConsentEvent(
        purpose=draw(_purposes),
        status=draw(st.sampled_from(("granted", "denied", "withdrawn"))),
        occurred_at=draw(_instants),
        expires_at=draw(_expiries),
        notice_version=draw(st.sampled_from((None, "2024-01", "2025-06"))),
    )


ledgers = st.lists(_events(), max_size=12)


@given(data=st.data(), events=ledgers)
def test_derivation_is_invariant_under_any_arrival_order(data: st.DataObject, events: list[ConsentEvent]) -> None:
    shuffled = data.draw(st.permutations(events))
    assert active_purposes(shuffled, NOW) == active_purposes(events, NOW)
    assert current_states(shuffled, NOW) == current_states(events, NOW)


@given(events=ledgers)
def test_active_purposes_are_exactly_the_granted_current_states(events: list[ConsentEvent]) -> None:
    states = current_states(events, NOW)
    assert active_purposes(events, NOW) == {p for p, s in states.items() if s.granted}
    assert set(states) == {e.purpose for e in events}


@given(data=st.data(), events=ledgers, purpose=_purposes, at=_instants)
def test_a_withdrawal_at_t_beats_every_grant_at_or_before_t(data: st.DataObject, events: list[ConsentEvent], purpose: str, at: dt.datetime) -> None:
    withdrawal = ConsentEvent(purpose=purpose, status="withdrawn", occurred_at=at)
    arrived = data.draw(st.permutations([*events, withdrawal]))
    decided = current_states(arrived, NOW)[purpose]
    # Whatever decides is never a grant at or before the withdrawal...
    assert not (decided.status == "granted" and decided.since is not None and decided.since <= at)
    # ...and with nothing after it, the purpose is withdrawn and not active.
    if not any(e.purpose == purpose and e.occurred_at > at for e in events):
        assert decided.status == "withdrawn" and decided.granted is False
        assert purpose not in active_purposes(arrived, NOW)


def test_between_two_grants_at_the_same_instant_the_narrower_one_decides() -> None:
    forever = ConsentEvent(purpose="marketing_email", status="granted", occurred_at=NOW - dt.timedelta(days=3))
    lapsed = ConsentEvent(purpose="marketing_email", status="granted", occurred_at=NOW - dt.timedelta(days=3), expires_at=NOW - dt.timedelta(days=1))
    for order in ([forever, lapsed], [lapsed, forever]):
        assert active_purposes(order, NOW) == frozenset()
        assert current_states(order, NOW)["marketing_email"].expires_at == lapsed.expires_at
