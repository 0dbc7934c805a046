"""Consent purposes and the rule that derives the current state from the ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Literal

import msgspec

__all__ = ["PURPOSES", "ConsentStatus", "ConsentEvent", "active_purposes"]

PURPOSES: tuple[str, ...] = (
    "marketing_email",
    "marketing_sms",
    "push_notifications",
    "personalization",
    "in_store_recognition",
    "third_party_sharing",
)

ConsentStatus = Literal["granted", "denied", "withdrawn"]
_RANK = {"granted": 0, "denied": 1, "withdrawn": 2}


class ConsentEvent(msgspec.Struct, frozen=True):
    purpose: str
    status: ConsentStatus
    occurred_at: dt.datetime
    expires_at: dt.datetime | None = None


def active_purposes(events: Iterable[ConsentEvent], now: dt.datetime) -> frozenset[str]:
    """Purposes currently granted.

    The latest event by the time it happened wins, not by arrival (tablets sync late); at the
    same instant a withdrawal or denial beats a grant. An expired grant counts as not given.
    """
    latest: dict[str, ConsentEvent] = {}
    for ev in events:
        cur = latest.get(ev.purpose)
        if cur is None or (ev.occurred_at, _RANK[ev.status]) > (cur.occurred_at, _RANK[cur.status]):
            latest[ev.purpose] = ev
    return frozenset(
        p
        for p, ev in latest.items()
        if ev.status == "granted" and (ev.expires_at is None or ev.expires_at > now)
    )
