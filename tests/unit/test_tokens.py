"""Signed access tokens and refresh-token hashing."""

from __future__ import annotations

import base64
import json
from uuid import UUID

import pytest

from clienteling.tokens import TokenSigner, hash_refresh_token, new_refresh_token
from domain.errors import TokenInvalid

SECRET = "s" * 48
NOW = 1_750_000_000.0
STAFF = UUID("11111111-1111-1111-1111-111111111111")
SESSION = UUID("22222222-2222-2222-2222-222222222222")
STORE = UUID("00000000-0000-0000-0000-00000000000a")


def issue(*, signer: TokenSigner | None = None, role: str = "associate", now: float = NOW) -> str:
    signer = signer or TokenSigner(SECRET, ttl_seconds=900)
    return signer.issue(staff_id=STAFF, session_id=SESSION, role=role, store_ids=[STORE], device_id="tablet-1", now=now)


def _swap_payload(token: str, **changes: object) -> str:
    version, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{version}.{forged}.{signature}"


def test_issued_token_verifies_with_its_claims() -> None:
    claims = TokenSigner(SECRET, 900).verify(issue(), now=NOW + 1)
    assert claims.sub == str(STAFF) and claims.sid == str(SESSION)
    assert claims.role == "associate" and claims.stores == [str(STORE)] and claims.dev == "tablet-1"
    assert claims.iat == int(NOW) and claims.exp == int(NOW) + 900


def test_token_with_tampered_payload_is_invalid() -> None:
    forged = _swap_payload(issue(), role="hq_admin")
    with pytest.raises(TokenInvalid):
        TokenSigner(SECRET, 900).verify(forged, now=NOW + 1)


def test_token_with_tampered_signature_is_invalid() -> None:
    version, payload, signature = issue().split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(TokenInvalid):
        TokenSigner(SECRET, 900).verify(f"{version}.{payload}.{flipped}", now=NOW + 1)


def test_token_signed_with_another_secret_is_invalid() -> None:
    other = issue(signer=TokenSigner("o" * 48, 900))
    with pytest.raises(TokenInvalid):
        TokenSigner(SECRET, 900).verify(other, now=NOW + 1)


def test_token_is_valid_until_just_before_expiry() -> None:
    TokenSigner(SECRET, 900).verify(issue(), now=NOW + 899)


def test_expired_token_is_invalid() -> None:
    with pytest.raises(TokenInvalid, match="expired"):
        TokenSigner(SECRET, 900).verify(issue(), now=NOW + 900)


@pytest.mark.parametrize("token", ["", "v1", "v1.abc", "v2.abc.def", "a.b.c.d"])
def test_malformed_token_is_invalid(token: str) -> None:
    with pytest.raises(TokenInvalid):
        TokenSigner(SECRET, 900).verify(token, now=NOW)


def test_hash_refresh_token_is_hex_sha256() -> None:
    assert hash_refresh_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_new_refresh_tokens_are_distinct_and_long() -> None:
    a, b = new_refresh_token(), new_refresh_token()
    assert a != b and len(a) >= 43
