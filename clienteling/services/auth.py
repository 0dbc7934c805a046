"""Staff sign-in, token refresh with rotation, sign-out, and resolving a bearer token."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import weakref
from typing import Any
from uuid import UUID

import msgspec

from clienteling import db
from clienteling.metrics import LOGIN_ATTEMPTS
from clienteling.passwords import Passwords
from clienteling.repositories import auth as auth_repo
from clienteling.repositories import staff as staff_repo
from clienteling.tokens import TokenSigner, hash_refresh_token, new_refresh_token
from domain.errors import Forbidden, InvalidCredentials, TokenInvalid, TooManyRequests
from domain.staff import Principal, Role, StaffView

__all__ = ["AuthService", "AuthConfig", "TokenPair"]


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True):
    refresh_token_ttl: int = 30 * 24 * 3600
    login_max_failures_account: int = 5
    login_max_failures_ip: int = 30
    login_window_seconds: int = 900


class TokenPair(msgspec.Struct, rename="camel"):
    access_token: str
    refresh_token: str
    expires_in: int
    staff: StaffView


class _SessionChecks:
    """Session checks of live subscriptions, one statement per event-loop turn: an event
    wakes every subscription watching it in the process at once, and each re-checks its
    session before delivering (200 subscribers: one query instead of 200)."""

    def __init__(self) -> None:
        self._waiting: dict[UUID, list[asyncio.Future[dict[str, Any] | None]]] = {}

    async def status(self, session_id: UUID) -> dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any] | None] = loop.create_future()
        if not self._waiting:
            loop.call_soon(lambda: loop.create_task(self._run()))
        self._waiting.setdefault(session_id, []).append(future)
        return await future

    async def _run(self) -> None:
        batch, self._waiting = self._waiting, {}
        try:
            found = await auth_repo.session_statuses(list(batch))
        except Exception as exc:  # noqa: BLE001 - each waiting subscription gets it
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        for session_id, futures in batch.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(session_id))


class AuthService:
    def __init__(self, settings: AuthConfig, signer: TokenSigner, passwords: Passwords) -> None:
        self.settings = settings
        self.signer = signer
        self.passwords = passwords
        self._session_checks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SessionChecks] = weakref.WeakKeyDictionary()

    async def login(self, email: str, password: str, device_id: str | None, client_ip: str) -> TokenPair:
        """Verify credentials with per-account and per-address throttling.

        The same error answers an unknown email, a wrong password and a disabled account, and
        an unknown email costs the same argon2 verification, so neither reveals who exists."""
        now = int(time.time())
        email_key = "acct:" + email.strip().lower()
        ip_key = "ip:" + client_ip
        blocked_until = await auth_repo.throttle_blocked_until([email_key, ip_key])
        if blocked_until > now:
            LOGIN_ATTEMPTS.labels("throttled").inc()
            raise TooManyRequests("Too many failed sign-ins; try again later", retry_after=blocked_until - now)

        staff = await staff_repo.by_email(email)
        stored = staff["password_hash"] if staff and staff["active"] else None
        result = await self.passwords.verify(stored, password)
        if not result.ok:
            await self._count_failure(email_key, self.settings.login_max_failures_account, now)
            await self._count_failure(ip_key, self.settings.login_max_failures_ip, now)
            LOGIN_ATTEMPTS.labels("failed").inc()
            raise InvalidCredentials()

        assert staff is not None
        if device_id and await auth_repo.device_revoked(device_id):
            LOGIN_ATTEMPTS.labels("device_revoked").inc()
            raise Forbidden("This device has been revoked")
        async with db.transaction():
            await auth_repo.clear_failures(email_key)
            if result.new_hash:
                await staff_repo.set_password_hash(staff["id"], result.new_hash)
            session_id = await auth_repo.create_session(staff["id"], device_id)
            refresh = await self._new_refresh(session_id)
        store_ids = await staff_repo.store_ids_for(staff["id"])
        LOGIN_ATTEMPTS.labels("succeeded").inc()
        return self._pair(staff, store_ids, session_id, device_id, refresh)

    async def _count_failure(self, key: str, limit: int, now: int) -> None:
        failures = await auth_repo.record_failure(key, now, self.settings.login_window_seconds)
        if failures >= limit:
            # Back off exponentially from 30 s, capped at the window length.
            delay = min(30 * 2 ** (failures - limit), self.settings.login_window_seconds)
            await auth_repo.block(key, now + delay)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and a new one issued in the same family.
        Presenting a spent token again means it leaked: the whole family is revoked."""
        row = await auth_repo.refresh_token_by_hash(hash_refresh_token(refresh_token))
        if row is None:
            raise TokenInvalid("The refresh token is not valid")
        session_id: UUID = row["session"]
        if row["used_at"] is not None:
            await auth_repo.revoke_session(session_id, "refresh_reuse")
            raise TokenInvalid("The refresh token was already used; the session has been revoked")
        if row["session_revoked_at"] is not None or row["expires_at"] <= dt.datetime.now(dt.timezone.utc):
            raise TokenInvalid("The refresh token has expired or been revoked")
        if not await auth_repo.staff_active(row["staff_id"]):
            raise TokenInvalid("The account is disabled")
        async with db.transaction():
            if not await auth_repo.mark_refresh_token_used(row["id"]):
                await auth_repo.revoke_session(session_id, "refresh_reuse")
                raise TokenInvalid("The refresh token was already used; the session has been revoked")
            refresh = await self._new_refresh(session_id)
        staff = await staff_repo.by_id(row["staff_id"])
        assert staff is not None
        store_ids = await staff_repo.store_ids_for(staff["id"])
        return self._pair(staff, store_ids, session_id, row["device_id"], refresh)

    async def logout(self, principal: Principal) -> None:
        await auth_repo.revoke_session(principal.session_id, "logout")

    async def authenticate(self, token: str) -> Principal:
        """Principal for a bearer token: genuine, unexpired, session live, account active."""
        claims = self.signer.verify(token)
        if claims.typ != "staff":
            raise TokenInvalid("This token is not a staff token")
        try:
            session_id = UUID(claims.sid)
            principal = Principal(
                staff_id=UUID(claims.sub), role=Role(claims.role),
                store_ids=frozenset(UUID(s) for s in claims.stores),
                session_id=session_id, device_id=claims.dev,
            )
        except ValueError:
            raise TokenInvalid("The access token is malformed") from None
        status = await auth_repo.session_status(session_id)
        if status is None or status["revoked_at"] is not None or not status["staff_active"]:
            raise TokenInvalid("The session has been revoked")
        return principal

    async def ensure_session_alive(self, principal: Principal) -> None:
        """For long-lived connections (subscriptions): the token was checked when the
        connection opened; afterwards what matters is that the session was not revoked
        (logout, refresh-token reuse, device revoked) and the account is still active."""
        loop = asyncio.get_running_loop()
        checks = self._session_checks.get(loop)
        if checks is None:
            checks = self._session_checks[loop] = _SessionChecks()
        status = await checks.status(principal.session_id)
        if status is None or status["revoked_at"] is not None or not status["staff_active"]:
            raise TokenInvalid("The session has been revoked")

    async def _new_refresh(self, session_id: UUID) -> str:
        token = new_refresh_token()
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.settings.refresh_token_ttl)
        await auth_repo.insert_refresh_token(session_id, hash_refresh_token(token), expires)
        return token

    def _pair(self, staff: dict, store_ids: list[UUID], session_id: UUID, device_id: str | None, refresh: str) -> TokenPair:
        access = self.signer.issue(
            staff_id=staff["id"], session_id=session_id, role=staff["role"], store_ids=store_ids, device_id=device_id
        )
        view = StaffView(id=staff["id"], email=staff["email"], display_name=staff["display_name"], role=Role(staff["role"]), store_ids=store_ids)
        return TokenPair(access_token=access, refresh_token=refresh, expires_in=self.signer.ttl, staff=view)
