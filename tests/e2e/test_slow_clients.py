"""A client that stops sending its request body is answered 408 and does not hold the
connection (slowloris); a slow but steady one is served."""

from __future__ import annotations

import os
import secrets
import socket
import time

import pytest

from tests.e2e.conftest import _start, _stop

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    workdir = tmp_path_factory.mktemp("slow-clients")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
    env.update({
        "CLIENTELING_DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48),
        "CLIENTELING_REQUEST_BODY_TIMEOUT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    })
    proc, _, base = _start([], env, workdir, "impatient")
    try:
        yield int(base.rsplit(":", 1)[1])
    finally:
        _stop(proc)


def _head(length: int) -> bytes:
    return (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_a_stalled_body_is_answered_408(impatient: int) -> None:
    with socket.create_connection(("127.0.0.1", impatient), timeout=15) as s:
        s.sendall(_head(200) + b'{"email":')
        started = time.monotonic()
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"application/problem+json" in answer
    assert time.monotonic() - started < 10


def test_a_slow_but_steady_body_is_served(impatient: int) -> None:
    body = b'{"email": "nobody@example.com", "password": "wrong-password-123"}'
    with socket.create_connection(("127.0.0.1", impatient), timeout=15) as s:
        s.sendall(_head(len(body)))
        for i in range(0, len(body), 16):  # 5 chunks, 1 s apart: slower than the timeout in total
            s.sendall(body[i:i + 16])
            time.sleep(1)
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
