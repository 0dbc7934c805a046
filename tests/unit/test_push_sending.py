"""Pure parts of sending: the VAPID JWT kept per audience, the aes128gcm body, and what
each push-service answer means for a delivery."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import uuid

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from push.outcomes import RetryPolicy, answer_outcome
from push.sender import PushTarget, SendResult, encrypt
from push.vapid import VapidTokens, generate

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)
RETRY = RetryPolicy(max_attempts=3, base_seconds=30, cap_seconds=3600)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(header: str, public_key: str) -> dict:
    """Verify the ``vapid t=...,k=...`` header's ES256 signature; return the JWT's claims."""
    parts = dict(p.strip().split("=", 1) for p in header.removeprefix("vapid ").split(","))
    assert parts["k"] == public_key
    head, body, sig = parts["t"].split(".")
    raw = _unb64(sig)
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(public_key))
    key.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")), f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(_unb64(body))


def test_a_vapid_jwt_is_signed_once_per_audience_and_renewed_before_it_expires() -> None:
    keys = generate()
    now = [1_800_000_000.0]
    tokens = VapidTokens(keys, "mailto:push@example.test", lifetime=12 * 3600, margin=3600, clock=lambda: now[0])
    first = tokens.authorization("https://fcm.googleapis.com")
    claims = _claims(first, keys.public_key)
    assert claims == {"sub": "mailto:push@example.test", "aud": "https://fcm.googleapis.com", "exp": int(now[0]) + 12 * 3600}
    assert _claims(tokens.authorization("https://updates.push.services.mozilla.com"), keys.public_key)["aud"] == "https://updates.push.services.mozilla.com"
    now[0] += 10 * 3600  # two hours left: still reused
    assert tokens.authorization("https://fcm.googleapis.com") == first
    now[0] += 3601  # less than the hour of margin left: a new one
    renewed = tokens.authorization("https://fcm.googleapis.com")
    assert renewed != first and _claims(renewed, keys.public_key)["exp"] == int(now[0]) + 12 * 3600


def test_the_body_decrypts_with_the_subscriptions_key_and_differs_every_time() -> None:
    browser = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    point = browser.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")  # noqa: E731
    target = PushTarget(endpoint="https://push.example.test/x", p256dh=b64(point), auth=b64(auth))
    one, two = encrypt(b'{"type":"points_earned"}', target), encrypt(b'{"type":"points_earned"}', target)
    assert one != two  # a fresh ephemeral key and salt per message
    assert http_ece.decrypt(one, private_key=browser, auth_secret=auth, version="aes128gcm") == b'{"type":"points_earned"}'


def _claim(attempts: int = 0) -> dict:
    return {"id": uuid.uuid4(), "attempts": attempts, "claim_token": "t"}


def test_answers_map_to_outcomes() -> None:
    sub = uuid.uuid4()
    delivered = answer_outcome(_claim(), sub, SendResult(status=201), at=NOW, retry=RETRY)
    assert delivered.label == "delivered" and delivered.values["attempts"] == 1 and delivered.subscription == sub
    gone = answer_outcome(_claim(), sub, SendResult(status=410), at=NOW, retry=RETRY)
    assert gone.label == "gone" and gone.subscription == sub
    assert answer_outcome(_claim(), sub, SendResult(status=413), at=NOW, retry=RETRY).label == "too_large"
    assert answer_outcome(_claim(), sub, SendResult(status=403), at=NOW, retry=RETRY).label == "dead"  # a VAPID problem: no retry


def test_a_429_is_retried_no_sooner_than_retry_after_and_the_last_attempt_is_dead() -> None:
    retry = answer_outcome(_claim(), uuid.uuid4(), SendResult(status=429, retry_after="600"), at=NOW, retry=RETRY)
    assert retry.label == "retry" and retry.values["status"] == "pending"
    assert retry.values["next_attempt_at"] >= NOW + dt.timedelta(seconds=600)
    timeout = answer_outcome(_claim(attempts=1), uuid.uuid4(), SendResult(status=None, error="TimeoutError"), at=NOW, retry=RETRY)
    assert timeout.label == "retry" and timeout.values["last_error"] == "TimeoutError"
    last = answer_outcome(_claim(attempts=2), uuid.uuid4(), SendResult(status=503), at=NOW, retry=RETRY)
    assert last.label == "dead" and last.values == {"status": "dead", "attempts": 3, "last_status_code": 503, "last_error": "HTTP 503"}
