"""Web Push rules: what a valid subscription is, what each notification type is sent with
(TTL, Urgency, Topic), quiet hours, retry back-off, and the typed failures.

Pure: no I/O. The worker in ``push/`` applies these at send time."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import random
from typing import Annotated, Literal
from urllib.parse import urlparse
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import Meta

from domain.errors import DomainError, ServiceUnavailable, ValidationFailed

__all__ = [
    "MEMBER_EVENT_TYPES",
    "STAFF_EVENT_TYPES",
    "LANGUAGES",
    "DeliveryStatus",
    "SendRules",
    "SEND_RULES",
    "SubscriptionIn",
    "SubscriptionKeys",
    "SubscriptionView",
    "PreferencesView",
    "PreferencesUpdate",
    "validate_subscription",
    "b64url_decode",
    "quiet_until",
    "parse_hhmm",
    "retry_delay",
    "parse_retry_after",
    "zone",
    "PushDisabled",
    "SubscriptionInvalid",
]

MEMBER_EVENT_TYPES: tuple[str, ...] = ("points_earned", "tier_changed", "reward_unlocked", "points_expiring", "birthday")
STAFF_EVENT_TYPES: tuple[str, ...] = ("vip_check_in",)
LANGUAGES: tuple[str, ...] = ("es", "ca", "ro", "en")

# pending: waiting to be sent (maybe deferred); delivered: the push service accepted it (201);
# gone: 404/410, the subscription was removed; too_large: 413, never retried; suppressed:
# not sent because of consent, preferences or a restriction at send time; cancelled: the
# subscriber was erased; dead: failed after the last attempt (or a non-retryable answer),
# listed to operators, who may replay it.
DeliveryStatus = Literal["pending", "delivered", "gone", "too_large", "suppressed", "cancelled", "dead"]


class SendRules(msgspec.Struct, frozen=True):
    ttl: int  # seconds a push service keeps an undelivered message
    urgency: Literal["very-low", "low", "normal", "high"]


# Urgency per RFC 8030 §5.3: a tier change matters now, points are routine, expiring points
# (and birthday greetings) can wait for a convenient moment.
SEND_RULES: dict[str, SendRules] = {
    "points_earned": SendRules(ttl=86_400, urgency="normal"),
    "tier_changed": SendRules(ttl=7 * 86_400, urgency="high"),
    "reward_unlocked": SendRules(ttl=7 * 86_400, urgency="normal"),
    "points_expiring": SendRules(ttl=3 * 86_400, urgency="low"),
    "birthday": SendRules(ttl=86_400, urgency="low"),
    "vip_check_in": SendRules(ttl=600, urgency="high"),
}


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding; ``ValueError`` if it is not base64url."""
    if not text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


class SubscriptionKeys(msgspec.Struct, forbid_unknown_fields=True):
    p256dh: Annotated[str, Meta(min_length=1, max_length=100)]
    auth: Annotated[str, Meta(min_length=1, max_length=40)]


class SubscriptionIn(msgspec.Struct, rename="camel", kw_only=True):
    """The browser's ``PushSubscription.toJSON()``: unknown members are ignored (browsers may
    add some), the ones we use are checked by :func:`validate_subscription`."""

    endpoint: Annotated[str, Meta(min_length=8, max_length=2048)]
    keys: SubscriptionKeys
    expiration_time: float | None = None


class SubscriptionView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    id: UUID
    endpoint_origin: str  # scheme://host of the push service; the full endpoint is a secret
    expiration_time: dt.datetime | None
    created_at: dt.datetime
    last_delivered_at: dt.datetime | None


HHMM = Annotated[str, Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class PreferencesView(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    language: str
    time_zone: str
    quiet_hours_start: str | None
    quiet_hours_end: str | None
    event_types: list[str]


class PreferencesUpdate(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Fields given are changed; quiet hours are set or cleared together (both or neither)."""

    language: Literal["es", "ca", "ro", "en"] | None = None
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    quiet_hours_start: HHMM | None | msgspec.UnsetType = msgspec.UNSET
    quiet_hours_end: HHMM | None | msgspec.UnsetType = msgspec.UNSET
    event_types: list[Literal["points_earned", "tier_changed", "reward_unlocked", "points_expiring", "birthday"]] | None = None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_subscription(sub: SubscriptionIn, *, allow_http_loopback: bool) -> dt.datetime | None:
    """Refuse what a push service would never accept: an endpoint that is not https (http
    only to 127.0.0.1/localhost, and only when the operator allowed it for local testing), a
    ``p256dh`` that is not a 65-byte uncompressed P-256 point, an ``auth`` secret that is
    not 16 bytes. Returns the expiration time, if any, as a UTC datetime."""
    parsed = urlparse(sub.endpoint)
    host = parsed.hostname or ""
    if parsed.scheme == "http" and allow_http_loopback and _is_loopback(host):
        pass
    elif parsed.scheme != "https":
        hint = " (http is allowed only to loopback hosts with CLIENTELING_PUSH_ALLOW_HTTP_LOOPBACK=1)"
        raise SubscriptionInvalid("The endpoint must be an https URL" + hint, extra={"field": "endpoint"})
    if not host or parsed.username or parsed.password:
        raise SubscriptionInvalid("The endpoint URL is not valid", extra={"field": "endpoint"})
    try:
        p256dh = b64url_decode(sub.keys.p256dh)
    except ValueError:
        raise SubscriptionInvalid("keys.p256dh is not base64url", extra={"field": "keys.p256dh"}) from None
    if len(p256dh) != 65 or p256dh[0] != 0x04:
        raise SubscriptionInvalid("keys.p256dh must be an uncompressed P-256 point (65 bytes)", extra={"field": "keys.p256dh"})
    try:
        auth = b64url_decode(sub.keys.auth)
    except ValueError:
        raise SubscriptionInvalid("keys.auth is not base64url", extra={"field": "keys.auth"}) from None
    if len(auth) != 16:
        raise SubscriptionInvalid("keys.auth must be 16 bytes", extra={"field": "keys.auth"})
    if sub.expiration_time is None:
        return None
    if not 0 < sub.expiration_time < 1e14:
        raise SubscriptionInvalid("expirationTime is not a valid time", extra={"field": "expirationTime"})
    return dt.datetime.fromtimestamp(sub.expiration_time / 1000, tz=dt.timezone.utc)


def parse_hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown time zone {name!r}", extra={"field": "timeZone"}) from None


def quiet_until(now: dt.datetime, start: str | None, end: str | None, time_zone: str) -> dt.datetime | None:
    """When the member's quiet hours end, if ``now`` falls inside them; None otherwise.

    Quiet hours are local wall-clock times in the member's zone and may span midnight
    (22:00-08:00). Equal start and end means no quiet hours."""
    if not start or not end or start == end:
        return None
    tz = ZoneInfo(time_zone)
    local = now.astimezone(tz)
    s, e = parse_hhmm(start), parse_hhmm(end)
    t = local.time()
    inside = (s <= t < e) if s < e else (t >= s or t < e)
    if not inside:
        return None
    day = local.date()
    if not (s < e) and t >= s:
        day = day + dt.timedelta(days=1)
    return dt.datetime.combine(day, e, tzinfo=tz).astimezone(dt.timezone.utc)


def retry_delay(attempt: int, *, base: float, cap: float, retry_after: float | None, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential back-off from ``base``,
    capped, with "equal jitter" (between half and all of it) so workers retrying together
    spread out; never sooner than the push service's ``Retry-After``."""
    r = rng or random
    backoff = min(cap, base * (2 ** max(attempt - 1, 0)))
    delay = backoff / 2 + r.uniform(0, backoff / 2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """``Retry-After`` as seconds: a delay, or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(min(int(value), 86_400))
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, min((when - now).total_seconds(), 86_400.0))


class PushDisabled(ServiceUnavailable):
    code = "PUSH_DISABLED"
    title = "Web Push is not configured: set CLIENTELING_VAPID_PRIVATE_KEY and CLIENTELING_VAPID_SUBJECT"


class SubscriptionInvalid(DomainError):
    code = "PUSH_SUBSCRIPTION_INVALID"
    status = 400
    title = "The push subscription is not valid"
