"""Pure Web Push rules: subscription validation, quiet hours, back-off with Retry-After,
localized payloads within 3,993 bytes, VAPID key loading."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import random

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from domain.push import SEND_RULES, SubscriptionIn, SubscriptionInvalid, SubscriptionKeys, parse_retry_after, quiet_until, retry_delay, validate_subscription
from push.templates import MAX_PAYLOAD_BYTES, render
from push.vapid import VapidKeyError, generate, load


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _sub(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc", *, p256dh: bytes | None = None, auth: bytes | None = None) -> SubscriptionIn:
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return SubscriptionIn(endpoint=endpoint, keys=SubscriptionKeys(p256dh=_b64(p256dh if p256dh is not None else point), auth=_b64(auth if auth is not None else os.urandom(16))))


def test_https_endpoints_with_proper_keys_are_accepted() -> None:
    assert validate_subscription(_sub(), allow_http_loopback=False) is None


@pytest.mark.parametrize("endpoint", ["http://push.example.com/x", "ftp://push.example.com/x", "http://10.0.0.1/x"])
def test_non_https_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(SubscriptionInvalid):
        validate_subscription(_sub(endpoint), allow_http_loopback=True)


def test_http_to_loopback_only_when_allowed() -> None:
    for endpoint in ("http://127.0.0.1:8123/push/1", "http://localhost:9/p"):
        with pytest.raises(SubscriptionInvalid):
            validate_subscription(_sub(endpoint), allow_http_loopback=False)
        assert validate_subscription(_sub(endpoint), allow_http_loopback=True) is None


def test_key_lengths_are_checked() -> None:
    with pytest.raises(SubscriptionInvalid, match="p256dh"):
        validate_subscription(_sub(p256dh=b"\x04" + os.urandom(31)), allow_http_loopback=False)
    with pytest.raises(SubscriptionInvalid, match="p256dh"):
        validate_subscription(_sub(p256dh=b"\x02" + os.urandom(64)), allow_http_loopback=False)
    with pytest.raises(SubscriptionInvalid, match="auth"):
        validate_subscription(_sub(auth=os.urandom(12)), allow_http_loopback=False)


def test_quiet_hours_across_midnight_end_the_next_morning_in_the_members_zone() -> None:
    # 23:30 in Madrid (CET, UTC+1) is inside 22:00-08:00; it ends at 08:00 local = 07:00 UTC.
    now = dt.datetime(2026, 1, 10, 22, 30, tzinfo=dt.timezone.utc)
    assert quiet_until(now, "22:00", "08:00", "Europe/Madrid") == dt.datetime(2026, 1, 11, 7, 0, tzinfo=dt.timezone.utc)
    assert quiet_until(dt.datetime(2026, 1, 10, 12, tzinfo=dt.timezone.utc), "22:00", "08:00", "Europe/Madrid") is None
    assert quiet_until(now, None, None, "Europe/Madrid") is None


def test_backoff_grows_has_jitter_and_honours_retry_after() -> None:
    rng = random.Random(1)
    delays = [retry_delay(n, base=30, cap=3600, retry_after=None, rng=rng) for n in (1, 2, 3, 10)]
    assert 15 <= delays[0] <= 30 and 30 <= delays[1] <= 60 and 60 <= delays[2] <= 120 and delays[3] <= 3600
    assert retry_delay(1, base=30, cap=3600, retry_after=600, rng=rng) == 600
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert parse_retry_after("soon", now) is None


def test_urgency_follows_the_event_type() -> None:
    assert SEND_RULES["tier_changed"].urgency == "high"
    assert SEND_RULES["points_earned"].urgency == "normal"
    assert SEND_RULES["points_expiring"].urgency == "low"


@pytest.mark.parametrize(("language", "title"), [("es", "¡Has ganado 12 puntos!"), ("ca", "Has guanyat 12 punts!"), ("ro", "Ai câștigat 12 de puncte!"), ("en", "You earned 12 points!"), ("fr", "You earned 12 points!")])
def test_payloads_are_localized(language: str, title: str) -> None:
    payload = json.loads(render("points_earned", language, {"points": 12, "balance": 40}))
    assert payload["title"] == title and payload["type"] == "points_earned" and set(payload) == {"type", "title", "body", "url", "tag", "data"}


def test_a_payload_never_exceeds_3993_bytes() -> None:
    assert len(render("tier_changed", "es", {"tier": "ñ" * 5000})) <= MAX_PAYLOAD_BYTES
    assert len(render("points_earned", "ro", {"points": 1, "balance": 2, "purchaseId": "x" * 9000})) <= MAX_PAYLOAD_BYTES


def test_vapid_keys_load_from_raw_and_pem_and_refuse_garbage() -> None:
    keys = generate()
    assert load(keys.private_key) == keys
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    assert len(base64.urlsafe_b64decode(load(pem).public_key + "==")) == 65
    with pytest.raises(VapidKeyError):
        load("not-a-key")
