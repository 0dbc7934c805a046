"""A real Web Push receiver for the tests: a small HTTP server on 127.0.0.1 that plays the
push service *and* the browser. It owns a P-256 key pair and a 16-byte auth secret per
subscription, checks the VAPID ``Authorization: vapid t=<JWT>, k=<key>`` header (ES256
signature with the key, ``aud`` = its own origin, ``exp`` in the future and within 24 h),
decrypts the body with ``http_ece`` (aes128gcm, RFC 8291) and records the message. It can be
told to answer 410, 413, 429 with Retry-After, 500, or to hang, per subscription. Like a push
service it keeps HTTP/1.1 connections open between requests; ``connections`` lists those it
was sent on."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["PushReceiver", "Received"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Received:
    def __init__(self, token: str, payload: dict[str, Any], headers: dict[str, str], claims: dict[str, Any], vapid_key: str) -> None:
        self.token = token
        self.payload = payload
        self.headers = headers
        self.claims = claims
        self.vapid_key = vapid_key
        self.at = time.time()


class _Sub:
    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.answers: deque[tuple[int, dict[str, str]]] = deque()
        self.hang_seconds = 0.0
        self.gone = False


class PushReceiver:
    def __init__(self) -> None:
        self.subs: dict[str, _Sub] = {}
        self.received: list[Received] = []
        self.rejected: list[str] = []  # why a request was refused (never silently)
        self.attempts: dict[str, int] = {}
        self.connections: set[tuple[str, int]] = set()  # the senders' TCP connections (address, port)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as push services offer (every answer has a Content-Length)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                with receiver._lock:
                    receiver.connections.add(self.client_address)
                status, headers = receiver._handle(self)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # a sender's idle keep-alive connection must not hold up close()
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- test controls ----------------------------------------------------------------------

    def subscribe(self) -> tuple[str, dict[str, Any]]:
        """A new browser subscription: its token and its ``PushSubscription.toJSON()``."""
        token = uuid.uuid4().hex
        sub = _Sub()
        self.subs[token] = sub
        public = sub.private_key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return token, {
            "endpoint": f"{self.origin}/push/{token}",
            "expirationTime": None,
            "keys": {"p256dh": _b64(public), "auth": _b64(sub.auth)},
        }

    def answer(self, token: str, *answers: tuple[int, dict[str, str]]) -> None:
        """Answer the next requests for ``token`` with these statuses (then 201 again)."""
        self.subs[token].answers.extend(answers)

    def hang(self, token: str, seconds: float) -> None:
        self.subs[token].hang_seconds = seconds

    def messages(self, token: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self.received if token is None or m.token == token]

    def wait_for(self, count: int, token: str | None = None, timeout: float = 30.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.messages(token)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.messages(token)

    # --- the push service -------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> tuple[int, dict[str, str]]:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length)
        token = req.path.rsplit("/", 1)[-1]
        sub = self.subs.get(token)
        with self._lock:
            self.attempts[token] = self.attempts.get(token, 0) + 1
        if sub is None or sub.gone:
            return 410, {}
        if sub.hang_seconds:
            time.sleep(sub.hang_seconds)
            return 503, {}  # the sender gave up long before: nothing was delivered
        try:
            claims, vapid_key = self._verify_vapid(req.headers.get("Authorization") or "")
        except ValueError as exc:
            self.rejected.append(str(exc))
            return 403, {}
        if req.headers.get("Content-Encoding") != "aes128gcm":
            self.rejected.append(f"content-encoding {req.headers.get('Content-Encoding')!r}")
            return 400, {}
        if sub.answers:
            status, headers = sub.answers.popleft()
            if status == 410:
                sub.gone = True
            return status, headers
        try:
            plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
        except Exception as exc:  # noqa: BLE001 - any failure to decrypt is a rejection
            self.rejected.append(f"decrypt: {type(exc).__name__}")
            return 400, {}
        headers = {k.lower(): v for k, v in req.headers.items()}
        with self._lock:
            self.received.append(Received(token, json.loads(plain), headers, claims, vapid_key))
        return 201, {"Location": f"{self.origin}/messages/{uuid.uuid4().hex}"}

    def _verify_vapid(self, header: str) -> tuple[dict[str, Any], str]:
        if not header.lower().startswith("vapid "):
            raise ValueError("no vapid Authorization")
        parts = dict(p.strip().split("=", 1) for p in header[6:].split(","))
        jwt, key = parts.get("t", ""), parts.get("k", "")
        head_b64, claims_b64, sig_b64 = jwt.split(".")
        head = json.loads(_unb64(head_b64))
        if head.get("alg") != "ES256":
            raise ValueError(f"alg {head.get('alg')}")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(key))
        sig = _unb64(sig_b64)
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        try:
            public.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ValueError("bad JWT signature") from None
        claims = json.loads(_unb64(claims_b64))
        now = time.time()
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')!r} is not {self.origin}")
        if not now < int(claims.get("exp", 0)) <= now + 24 * 3600:
            raise ValueError("exp out of range")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("no sub")
        return claims, key
