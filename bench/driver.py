"""A small HTTP/1.1 load driver: keep-alive connections over asyncio (bench/run.py runs it on uvloop) with the
httptools parser, closed loop (N connections as fast as the server answers) or open loop
(a fixed request rate, latency counted from the planned send time, so a stalled server
cannot hide its queue: no coordinated omission). It is meant to run pinned to the core the
server does not use."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import httptools

__all__ = ["Result", "closed_loop", "open_loop", "request_bytes", "pct"]


def request_bytes(method: str, path: str, *, host: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def pct(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


@dataclass
class Result:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # ms, successful requests
    statuses: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0
    bodies: list[bytes] = field(default_factory=list)  # a few, for checks

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if 200 <= s < 300)

    @property
    def errors(self) -> int:
        return self.transport_errors + sum(n for s, n in self.statuses.items() if not 200 <= s < 300)

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def summary(self) -> dict:
        return {"requests": self.ok + self.errors, "ok": self.ok, "errors": self.errors, "statuses": dict(self.statuses),
                "seconds": round(self.seconds, 2), "rps": round(self.throughput, 1),
                "p50": round(pct(self.latencies, 50), 2), "p95": round(pct(self.latencies, 95), 2), "p99": round(pct(self.latencies, 99), 2)}


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future | None = None
        self.body: list[bytes] = []
        self.closed = False

    def connection_made(self, transport) -> None:  # noqa: ANN001
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.waiter and not self.waiter.done():
                self.waiter.set_exception(exc)

    def connection_lost(self, exc) -> None:  # noqa: ANN001
        self.closed = True
        if self.waiter and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection lost"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    async def request(self, data: bytes) -> tuple[int, bytes]:
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def _connect(host: str, port: int) -> _Conn:
    _, proto = await asyncio.get_running_loop().create_connection(_Conn, host, port)
    return proto


async def closed_loop(host: str, port: int, requests: Callable[[], bytes], *, connections: int, seconds: float, keep_bodies: int = 0,
                      check: Callable[[int, bytes], bool] | None = None) -> Result:
    """``connections`` clients, each sending its next request when the last one answered."""
    result = Result()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        conn = await _connect(host, port)
        while time.perf_counter() < deadline:
            data = requests()
            t0 = time.perf_counter()
            try:
                if isinstance(data, list):  # a screen made of several requests, one after the other
                    for part in data:
                        status, body = await conn.request(part)
                        if not 200 <= status < 300:
                            break
                else:
                    status, body = await conn.request(data)
            except Exception:  # noqa: BLE001 - counted, reconnect
                result.transport_errors += 1
                conn = await _connect(host, port)
                continue
            if check is not None and not check(status, body):
                status = 599
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.latencies.append((time.perf_counter() - t0) * 1000)
                if len(result.bodies) < keep_bodies:
                    result.bodies.append(body)
        conn.transport.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    result.seconds = time.perf_counter() - started
    return result


async def open_loop(host: str, port: int, requests: Callable[[], bytes], *, rate: float, seconds: float, connections: int = 64) -> Result:
    """Requests planned at a fixed ``rate`` per second; each latency runs from its planned
    send time. Up to ``connections`` requests are in flight; a later one waits for a free
    connection (and that wait counts in its latency)."""
    result = Result()
    pool: asyncio.Queue[_Conn] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await _connect(host, port))
    tasks = []

    async def one(planned: float) -> None:
        conn = await pool.get()
        try:
            status, _ = await conn.request(requests())
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if 200 <= status < 300:
                result.latencies.append((time.perf_counter() - planned) * 1000)
        except Exception:  # noqa: BLE001
            result.transport_errors += 1
            conn = await _connect(host, port)
        pool.put_nowait(conn)

    started = time.perf_counter()
    for n in itertools.count():
        planned = started + n / rate
        if planned - started >= seconds:
            break
        delay = planned - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(planned)))
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait().transport.close()
    return result
