"""Signed access tokens (HMAC-SHA256 over a compact JSON claim set) and refresh tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from uuid import UUID

import msgspec

from domain.errors import TokenInvalid

__all__ = ["AccessClaims", "TokenSigner", "new_refresh_token", "hash_refresh_token"]


class AccessClaims(msgspec.Struct, frozen=True):
    sub: str  # staff id
    sid: str  # auth session id (refresh family)
    role: str
    stores: list[str]
    iat: int
    exp: int
    typ: str = "staff"
    dev: str | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and verifies access tokens. The key is derived from the service secret so the
    raw secret is never used directly for more than one purpose."""

    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = hmac.new(secret_key.encode(), b"clienteling access token v1", hashlib.sha256).digest()
        self.ttl = ttl_seconds

    def issue(self, *, staff_id: UUID, session_id: UUID, role: str, store_ids: list[UUID], device_id: str | None, now: float | None = None, typ: str = "staff") -> str:
        now_i = int(now if now is not None else time.time())
        claims = AccessClaims(
            sub=str(staff_id), sid=str(session_id), role=role, stores=[str(s) for s in store_ids],
            iat=now_i, exp=now_i + self.ttl, typ=typ, dev=device_id,
        )
        payload = _b64(msgspec.json.encode(claims))
        return f"v1.{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: float | None = None) -> AccessClaims:
        """Return the claims of a genuine, unexpired token; otherwise :class:`TokenInvalid`."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != "v1":
            raise TokenInvalid("The access token is malformed")
        payload, signature = parts[1], parts[2]
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise TokenInvalid("The access token signature is not valid")
        try:
            claims = msgspec.json.decode(_unb64(payload), type=AccessClaims)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            raise TokenInvalid("The access token is malformed") from None
        if claims.exp <= (now if now is not None else time.time()):
            raise TokenInvalid("The access token has expired")
        return claims

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
