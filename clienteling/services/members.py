"""Loyalty members: sign-in (SPEC §5 member auth, argon2id, throttled like staff sign-in),
who they are, their loyalty standing and their notification preferences.

A member reads and changes only their own data; every read and write is audited (actor
``system``, surface ``member``, the member account in ``reference``), never with values."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import msgspec

from clienteling import db
from clienteling.metrics import LOGIN_ATTEMPTS
from clienteling.passwords import Passwords
from clienteling.repositories import auth as auth_repo
from clienteling.repositories import members as repo
from clienteling.services.auth import AuthConfig
from clienteling.tokens import TokenSigner
from domain.errors import InvalidCredentials, TokenInvalid, TooManyRequests, ValidationFailed
from domain.push import LANGUAGES, MEMBER_EVENT_TYPES, PreferencesUpdate, PreferencesView, zone

if TYPE_CHECKING:
    from clienteling.services.audit import AuditTrail
    from clienteling.services.loyalty import LoyaltyService, LoyaltySummary

__all__ = ["MemberService", "MemberPrincipal", "MemberView", "MemberLogin"]

_SURFACE = "member"


class MemberPrincipal(msgspec.Struct, frozen=True, kw_only=True):
    member_id: UUID
    customer_id: UUID
    operation: str = ""


class MemberView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    id: UUID
    customer_id: UUID
    email: str
    first_name: str
    loyalty_number: str | None
    loyalty_tier: str
    loyalty_points: int
    language: str


class MemberLogin(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    access_token: str
    expires_in: int
    member: MemberView


def _language(row: dict[str, Any]) -> str:
    lang = row.get("language") or row.get("customer_language") or "en"
    return lang if lang in LANGUAGES else "en"


def _view(row: dict[str, Any]) -> MemberView:
    return MemberView(
        id=row["id"], customer_id=row["customer"], email=row["email"], first_name=row["first_name"],
        loyalty_number=row["loyalty_number"], loyalty_tier=row["loyalty_tier"], loyalty_points=row["loyalty_points"],
        language=_language(row),
    )


def _preferences(row: dict[str, Any]) -> PreferencesView:
    types = [t for t in (row["event_types"] or []) if t in MEMBER_EVENT_TYPES]
    return PreferencesView(
        language=_language(row), time_zone=row["time_zone"] or row["store_time_zone"] or "UTC",
        quiet_hours_start=row["quiet_start"], quiet_hours_end=row["quiet_end"], event_types=list(types),
    )


class MemberService:
    def __init__(self, config: AuthConfig, signer: TokenSigner, passwords: Passwords, audit: "AuditTrail", loyalty: "LoyaltyService") -> None:
        self.config = config
        self.signer = signer
        self.passwords = passwords
        self.audit = audit
        self.loyalty = loyalty

    async def login(self, email: str, password: str, client_ip: str) -> MemberLogin:
        """Same rules as staff sign-in: one answer for unknown email, wrong password and a
        closed account; the same argon2 cost either way; failures throttled per account and
        per client address (shared ``login_throttle`` counters, member keys of their own)."""
        now = int(time.time())
        email_key = "member:" + email.strip().lower()
        ip_key = "member-ip:" + client_ip
        blocked_until = await auth_repo.throttle_blocked_until([email_key, ip_key])
        if blocked_until > now:
            LOGIN_ATTEMPTS.labels("throttled").inc()
            raise TooManyRequests("Too many failed sign-ins; try again later", retry_after=blocked_until - now)
        row = await repo.by_email(email)
        usable = row is not None and row["active"] and row["erased_at"] is None and row["deleted_at"] is None
        result = await self.passwords.verify(row["password_hash"] if usable else None, password)
        if not result.ok:
            for key, limit in ((email_key, self.config.login_max_failures_account), (ip_key, self.config.login_max_failures_ip)):
                failures = await auth_repo.record_failure(key, now, self.config.login_window_seconds)
                if failures >= limit:
                    await auth_repo.block(key, now + min(30 * 2 ** (failures - limit), self.config.login_window_seconds))
            LOGIN_ATTEMPTS.labels("failed").inc()
            raise InvalidCredentials()
        assert row is not None
        async with db.transaction():
            await auth_repo.clear_failures(email_key)
            if result.new_hash:
                await repo.set_password_hash(row["id"], result.new_hash)
            await repo.touch_login(row["id"], dt.datetime.now(dt.timezone.utc))
            await self._audit(row["id"], row["customer"], "read", ["member_account"], "POST /api/v1/members/login")
        LOGIN_ATTEMPTS.labels("succeeded").inc()
        token = self.signer.issue(staff_id=row["id"], session_id=row["customer"], role="member", store_ids=[], device_id=None, typ="member")
        return MemberLogin(access_token=token, expires_in=self.signer.ttl, member=_view(row))

    async def authenticate(self, token: str) -> MemberPrincipal:
        """The member behind a member access token; the account must still be open and the
        customer not erased."""
        claims = self.signer.verify(token)
        if claims.typ != "member":
            raise TokenInvalid("This is not a member token")
        try:
            member_id, customer_id = UUID(claims.sub), UUID(claims.sid)
        except ValueError:
            raise TokenInvalid("The access token is malformed") from None
        row = await repo.by_id(member_id)
        if row is None or not row["active"] or row["erased_at"] is not None or row["customer"] != customer_id:
            raise TokenInvalid("The member account is closed")
        return MemberPrincipal(member_id=member_id, customer_id=customer_id)

    async def _audit(self, member_id: UUID, customer_id: UUID, action: str, fields: list[str], operation: str) -> None:
        await self.audit.record(
            None, action=action, customer_ids=[customer_id], fields=fields, surface=_SURFACE, operation=operation,
            purpose="member_self_service", reference=f"member:{member_id}",
        )

    async def _row(self, member: MemberPrincipal) -> dict[str, Any]:
        row = await repo.by_id(member.member_id)
        if row is None or row["erased_at"] is not None:
            raise TokenInvalid("The member account is closed")
        return row

    async def me(self, member: MemberPrincipal) -> MemberView:
        row = await self._row(member)
        await self._audit(member.member_id, member.customer_id, "read", ["first_name", "email", "loyalty_number", "loyalty_tier", "loyalty_points", "language"], "GET /api/v1/members/me")
        return _view(row)

    async def loyalty_summary(self, member: MemberPrincipal) -> "LoyaltySummary":
        summary = await self.loyalty.summary(member.customer_id)
        await self._audit(member.member_id, member.customer_id, "read", ["loyalty_points", "loyalty_tier", "loyalty_ledger"], "GET /api/v1/members/me/loyalty")
        return summary

    async def preferences(self, member: MemberPrincipal) -> PreferencesView:
        row = await self._row(member)
        await self._audit(member.member_id, member.customer_id, "read", ["notification_preferences"], "GET /api/v1/members/me/notification-preferences")
        return _preferences(row)

    async def update_preferences(self, member: MemberPrincipal, data: PreferencesUpdate) -> PreferencesView:
        values: dict[str, Any] = {}
        if data.language is not None:
            values["language"] = data.language
        if data.time_zone is not None:
            zone(data.time_zone)
            values["time_zone"] = data.time_zone
        start_given = data.quiet_hours_start is not msgspec.UNSET
        end_given = data.quiet_hours_end is not msgspec.UNSET
        if start_given or end_given:
            if not (start_given and end_given) or (data.quiet_hours_start is None) != (data.quiet_hours_end is None):
                raise ValidationFailed("Give quietHoursStart and quietHoursEnd together (both null to clear them)", extra={"field": "quietHoursStart"})
            values["quiet_start"], values["quiet_end"] = data.quiet_hours_start, data.quiet_hours_end
        if data.event_types is not None:
            values["event_types"] = sorted(set(data.event_types), key=MEMBER_EVENT_TYPES.index)
        async with db.transaction():
            if values:
                await repo.update(member.member_id, values)
            await self._audit(member.member_id, member.customer_id, "update", ["notification_preferences"], "PUT /api/v1/members/me/notification-preferences")
        return _preferences(await self._row(member))

    async def create_account(self, customer_id: UUID, email: str, password_hash: str) -> UUID:
        """A member account for a customer (demo seeding, or the loyalty engine's onboarding)."""
        member_id = uuid4()
        await repo.insert({"id": member_id, "customer": customer_id, "email": email.strip().lower(), "password_hash": password_hash, "event_types": list(MEMBER_EVENT_TYPES)})
        return member_id
