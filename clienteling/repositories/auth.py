"""Sign-in sessions, refresh tokens and failed-login throttling."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid4

from clienteling.tables import AuthSession, Device, LoginThrottle, RefreshToken, Staff

__all__ = [
    "create_session",
    "session_status",
    "session_statuses",
    "revoke_session",
    "insert_refresh_token",
    "refresh_token_by_hash",
    "mark_refresh_token_used",
    "throttle_blocked_until",
    "record_failure",
    "clear_failures",
]


async def create_session(staff_id: UUID, device_id: str | None) -> UUID:
    session_id = uuid4()
    await AuthSession.insert(AuthSession(id=session_id, staff=staff_id, device_id=device_id)).run()
    return session_id


async def session_status(session_id: UUID) -> dict[str, Any] | None:
    """The session's revocation state and its staff member's active flag, in one query
    (every authenticated request runs it: fixed SQL text, no query building)."""
    rows = await AuthSession.raw(
        "SELECT s.revoked_at, s.device_id, st.active AS staff_active FROM auth_session s "
        "LEFT JOIN staff st ON st.id = s.staff WHERE s.id = {}",
        session_id,
    ).run()
    return rows[0] if rows else None


async def device_revoked(device_id: str) -> bool:
    row = await Device.select(Device.revoked_at).where(Device.id == device_id).first().run()
    return bool(row and row["revoked_at"])


async def session_statuses(session_ids: list[UUID]) -> dict[UUID, dict[str, Any]]:
    """:func:`session_status` of several sessions in one query (absent ones left out)."""
    if not session_ids:
        return {}
    rows = await AuthSession.select(
        AuthSession.id,
        AuthSession.revoked_at,
        AuthSession.device_id,
        AuthSession.staff.active.as_alias("staff_active"),
    ).where(AuthSession.id.is_in(session_ids)).run()
    return {r["id"]: r for r in rows}


async def revoke_session(session_id: UUID, reason: str) -> None:
    await AuthSession.update(
        {AuthSession.revoked_at: dt.datetime.now(dt.timezone.utc), AuthSession.revoked_reason: reason}
    ).where((AuthSession.id == session_id) & (AuthSession.revoked_at.is_null())).run()


async def insert_refresh_token(session_id: UUID, token_hash: str, expires_at: dt.datetime) -> None:
    await RefreshToken.insert(
        RefreshToken(id=uuid4(), session=session_id, token_hash=token_hash, expires_at=expires_at)
    ).run()


async def refresh_token_by_hash(token_hash: str) -> dict[str, Any] | None:
    return (
        await RefreshToken.select(
            RefreshToken.id,
            RefreshToken.session,
            RefreshToken.expires_at,
            RefreshToken.used_at,
            RefreshToken.session.revoked_at.as_alias("session_revoked_at"),
            RefreshToken.session.device_id.as_alias("device_id"),
            RefreshToken.session.staff.as_alias("staff_id"),
        )
        .where(RefreshToken.token_hash == token_hash)
        .first()
        .run()
    )


async def mark_refresh_token_used(token_id: UUID) -> bool:
    """Mark a refresh token used; False when another request used it first (a race or reuse)."""
    rows = (
        await RefreshToken.update({RefreshToken.used_at: dt.datetime.now(dt.timezone.utc)})
        .where((RefreshToken.id == token_id) & (RefreshToken.used_at.is_null()))
        .returning(RefreshToken.id)
        .run()
    )
    return bool(rows)


async def staff_active(staff_id: UUID) -> bool:
    row = await Staff.select(Staff.active).where(Staff.id == staff_id).first().run()
    return bool(row and row["active"])


async def throttle_blocked_until(keys: list[str]) -> int:
    rows = await LoginThrottle.select(LoginThrottle.blocked_until).where(LoginThrottle.key.is_in(keys)).run()
    return max((r["blocked_until"] or 0 for r in rows), default=0)


async def record_failure(key: str, now: int, window: int) -> int:
    """Count one failure for ``key`` inside a sliding window; return the count."""
    await LoginThrottle.raw(
        "INSERT INTO login_throttle (key, failures, window_started_at, blocked_until) "
        "VALUES ({}, 0, {}, 0) ON CONFLICT (key) DO NOTHING",
        key,
        now,
    ).run()
    rows = await LoginThrottle.raw(
        "UPDATE login_throttle SET "
        "failures = CASE WHEN window_started_at < {} THEN 1 ELSE failures + 1 END, "
        "window_started_at = CASE WHEN window_started_at < {} THEN {} ELSE window_started_at END "
        "WHERE key = {} RETURNING failures",
        now - window,
        now - window,
        now,
        key,
    ).run()
    return int(rows[0]["failures"]) if rows else 1


async def block(key: str, until: int) -> None:
    await LoginThrottle.update({LoginThrottle.blocked_until: until}).where(LoginThrottle.key == key).run()


async def clear_failures(key: str) -> None:
    await LoginThrottle.delete().where(LoginThrottle.key == key).run()
