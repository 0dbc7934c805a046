"""Graceful shutdown of ``clienteling serve``: on SIGTERM an in-flight request completes,
open WebSockets are closed with 1001 (going away) so clients reconnect elsewhere, and the
process exits 0 within the grace period."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess

import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import DEMO_PASSWORD, Service, _start
from tests.e2e.wsclient import GraphQLWS

pytestmark = pytest.mark.e2e

GRACE_SECONDS = 10


def _start_request(base_url: str, body: bytes, first: int) -> socket.socket:
    """Open a connection and send a POST's headers and the first bytes of its body: the
    server has started the request and waits for the rest."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (f"POST /api/v1/auth/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    sock.sendall(head + body[:first])
    return sock


def _finish_request(sock: socket.socket, rest: bytes) -> tuple[int, dict]:
    sock.sendall(rest)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(payload)


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_drains_requests_closes_websockets_going_away_and_exits_0(tmp_path, workers: int) -> None:  # noqa: ANN001
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
    env.update({
        "CLIENTELING_DATABASE_URL": f"sqlite:///{tmp_path / 'clienteling.sqlite3'}",
        "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48),
        "CLIENTELING_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        "PYTHONUNBUFFERED": "1",
    })
    proc, log_path, base = _start(["--demo", "--workers", str(workers)], env, tmp_path, f"shutdown-{workers}")
    try:
        service = Service(base, log_path, "sqlite")
        token = service.login("associate.madrid@example.com")["Authorization"][7:]
        ws = await GraphQLWS.open(base, token)
        assert (await ws.receive())["type"] == "connection_ack"
        await ws.subscribe("subscription { storeAlerts { kind } }")

        body = json.dumps({"email": "associate.madrid@example.com", "password": DEMO_PASSWORD}).encode()
        in_flight = _start_request(base, body, first=10)
        await asyncio.sleep(0.5)  # let the server read the request head

        proc.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.conn.recv(), GRACE_SECONDS)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001

        status, answer = await asyncio.to_thread(_finish_request, in_flight, body[10:])
        assert status == 200 and answer["staff"]["email"] == "associate.madrid@example.com"

        assert proc.wait(timeout=GRACE_SECONDS + 15) == 0
        assert "closed 1 WebSocket(s) for shutdown" in log_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
