"""VAPID (RFC 8292): load the application server's P-256 key from the setting, derive the
public key browsers subscribe with, generate a new pair, and sign the JWT a push service
checks on every request (one per audience, reused until shortly before it expires).

``CLIENTELING_VAPID_PRIVATE_KEY`` may hold the raw 32-byte private key in base64url (what
``clienteling vapid generate`` prints) or a PEM (``openssl ecparam -name prime256v1 -genkey``).
pywebpush accepts only the raw or DER forms, so a PEM is converted here once."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

__all__ = ["VapidKeys", "VapidTokens", "generate", "load", "demo_keys", "VapidKeyError"]


class VapidKeyError(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class VapidKeys(msgspec.Struct, frozen=True):
    private_key: str  # raw 32-byte scalar, base64url without padding (pywebpush's input)
    public_key: str  # uncompressed P-256 point (65 bytes), base64url: the browser's applicationServerKey


def _from_private(key: ec.EllipticCurvePrivateKey) -> VapidKeys:
    if not isinstance(key.curve, ec.SECP256R1):
        raise VapidKeyError("the VAPID key must be a P-256 (prime256v1) key")
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(private_key=_b64(raw), public_key=_b64(public))


def generate() -> VapidKeys:
    return _from_private(ec.generate_private_key(ec.SECP256R1()))


def load(value: str) -> VapidKeys:
    """Parse the setting's value; :class:`VapidKeyError` says what is wrong (never the key)."""
    text = value.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.replace("\\n", "\n").encode(), password=None)
        else:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError):
        raise VapidKeyError(
            "is not a P-256 private key: give the base64url raw key printed by `clienteling vapid generate`, or a PEM"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise VapidKeyError("is not an elliptic-curve (P-256) private key")
    return _from_private(key)


def demo_keys(path: str | os.PathLike[str]) -> VapidKeys:
    """Demo mode only: the key kept in ``path`` (created, readable by the owner only, on first
    use), so a restarted demo keeps its subscriptions working."""
    file = Path(path)
    if file.exists():
        return load(file.read_text())
    keys = generate()
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(keys.private_key + "\n")
    return keys


class VapidTokens:
    """The ``Authorization: vapid t=<JWT>,k=<public key>`` header for each push-service origin
    (the JWT's ``aud``). RFC 8292 lets a JWT be reused until its ``exp``; signing one per
    message would cost an ECDSA signature each time. A token lives ``lifetime`` seconds (12 h,
    as pywebpush signs them; push services refuse more than 24 h) and is replaced once less
    than ``margin`` remains, so a push service whose clock runs ahead still accepts it."""

    def __init__(
        self, keys: VapidKeys, subject: str, *, lifetime: int = 12 * 3600, margin: int = 3600,
        max_audiences: int = 256, clock: Callable[[], float] = time.time,
    ) -> None:
        self._signer = Vapid.from_string(keys.private_key)
        self.subject = subject
        self.lifetime = lifetime
        self.margin = margin
        self.max_audiences = max_audiences
        self.clock = clock
        self._cache: dict[str, tuple[str, int]] = {}  # origin -> (header, exp)

    def authorization(self, audience: str) -> str:
        """The header for ``audience`` (``scheme://host[:port]`` of the endpoint)."""
        now = int(self.clock())
        cached = self._cache.get(audience)
        if cached is not None and cached[1] - now > self.margin:
            return cached[0]
        exp = now + self.lifetime
        header: str = self._signer.sign({"sub": self.subject, "aud": audience, "exp": exp})["Authorization"]
        if audience not in self._cache and len(self._cache) >= self.max_audiences:
            # Unusual (members may register endpoints at any https origin): drop the oldest.
            self._cache.pop(next(iter(self._cache)))
        self._cache[audience] = (header, exp)
        return header
