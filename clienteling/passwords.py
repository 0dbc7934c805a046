"""argon2id password hashing, off the event loop."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Passwords", "VerifyResult"]


class VerifyResult:
    __slots__ = ("ok", "new_hash")

    def __init__(self, ok: bool, new_hash: str | None = None) -> None:
        self.ok = ok
        self.new_hash = new_hash


class Passwords:
    """Hash and verify with argon2id (RFC 9106 parameters by default). Verification runs in
    a worker thread because it takes tens of milliseconds on purpose."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        # Verified against when the account does not exist, so timing does not reveal it.
        self._dummy = self.hasher.hash("no such account: constant-time dummy")

    def hash_sync(self, password: str) -> str:
        return self.hasher.hash(password)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> VerifyResult:
        """Verify; when the stored hash uses old parameters, return a fresh hash to store."""
        return await anyio.to_thread.run_sync(self._verify_sync, stored_hash, password)

    def _verify_sync(self, stored_hash: str | None, password: str) -> VerifyResult:
        try:
            self.hasher.verify(stored_hash or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return VerifyResult(False)
        if not stored_hash:  # no account, or an account without a usable hash
            return VerifyResult(False)
        if self.hasher.check_needs_rehash(stored_hash):
            return VerifyResult(True, self.hasher.hash(password))
        return VerifyResult(True)
