"""The checks made just before a notification goes out: may it be sent now, later, or never?

A member's message needs a customer that is neither erased (else it is cancelled) nor
restricted (Art. 18), ``push_notifications`` consent *now*, an active member account and the
event type in the member's preferences (else it is suppressed); quiet hours in the member's
time zone and the per-member rate limit defer it, they never drop it. A staff alert needs an
active staff member, and for a VIP check-in the customer's ``in_store_recognition`` consent.

The member checks are a pure function of facts the worker reads for a whole round at once
(``repositories.push.send_contexts`` and ``delivered_since``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from clienteling.repositories import push as repo
from domain.consent import ConsentEvent, active_purposes
from domain.push import LANGUAGES, quiet_until

__all__ = ["Decision", "member_decision", "staff_decision", "RATE_WINDOW"]

RATE_WINDOW = dt.timedelta(hours=1)


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    action: str  # send | suppress | cancel | defer
    reason: str = ""
    language: str = "en"
    until: dt.datetime | None = None


def _consents(ctx: dict[str, Any]) -> list[ConsentEvent]:
    return [ConsentEvent(purpose=r["purpose"], status=r["status"], occurred_at=r["occurred_at"], expires_at=r["expires_at"]) for r in ctx["consents"]]


def member_decision(kind: str, ctx: dict[str, Any] | None, recent: list[dt.datetime], now: dt.datetime, *, rate_limit: int) -> Decision:
    """``ctx``: the member's facts from ``send_contexts`` (None: no such customer);
    ``recent``: when their messages were delivered within the last hour, oldest first."""
    if ctx is None or ctx["erased_at"] is not None or ctx["deleted_at"] is not None:
        return Decision(action="cancel", reason="erased")
    if ctx["restricted_at"] is not None:
        return Decision(action="suppress", reason="restricted")
    member = ctx["member"]
    if member is None or not member["active"]:
        return Decision(action="suppress", reason="no_member_account")
    if "push_notifications" not in active_purposes(_consents(ctx), now):
        return Decision(action="suppress", reason="no_consent")
    if kind not in (member["event_types"] or []):
        return Decision(action="suppress", reason="preference")
    tz = member["time_zone"] or ctx["store_time_zone"] or "UTC"
    until = quiet_until(now, member["quiet_start"], member["quiet_end"], tz)
    if until is not None:
        return Decision(action="defer", reason="quiet_hours", until=until)
    if len(recent) >= rate_limit:
        return Decision(action="defer", reason="rate_limited", until=recent[0] + RATE_WINDOW + dt.timedelta(seconds=1))
    language = member["language"] or ctx["language"] or "en"
    return Decision(action="send", language=language if language in LANGUAGES else "en")


def _staff_language(store: dict[str, Any] | None) -> str:
    if not store:
        return "en"
    if store.get("code") == "BCN":
        return "ca"
    return {"ES": "es", "RO": "ro"}.get(store.get("country") or "", "en")


async def staff_decision(claim: dict[str, Any], now: dt.datetime) -> Decision:
    """A store alert to a staff device (read when it is sent: these are few)."""
    ctx = await repo.staff_context(claim["staff"], claim["store"]) if claim["staff"] is not None else None
    if ctx is None or not ctx["active"]:
        return Decision(action="suppress", reason="staff_inactive")
    if claim["kind"] == "vip_check_in" and claim["event_customer"] is not None:
        subject = (await repo.send_contexts([claim["event_customer"]])).get(claim["event_customer"])
        if subject is None or subject["erased_at"] is not None or subject["restricted_at"] is not None:
            return Decision(action="suppress", reason="restricted")
        if "in_store_recognition" not in active_purposes(_consents(subject), now):
            return Decision(action="suppress", reason="no_consent")
    return Decision(action="send", language=_staff_language(ctx["store"]))
