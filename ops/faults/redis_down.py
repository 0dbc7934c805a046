"""Fault: Redis unavailable.

Starts a throwaway redis-server on port 56379 (never the shared one on 6379), the service on
SQLite with ``CLIENTELING_REDIS_URL`` pointing at it, and a mixed request loop (reads,
searches, note writes, GraphQL). Redis is killed part-way through and started again later.
Passes when every request succeeds throughout (real-time fan-out between processes degrades;
requests do not), ``/ready`` stays 200, and the service logs that it lost Redis.

Usage: ``.venv/bin/python ops/faults/redis_down.py [--seconds 30]``. The last result is
written to ops/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ops._harness import RedisServer, Service, record_result  # noqa: E402


async def _requests(client: httpx.AsyncClient, headers: dict, customers: list[str], stop: float, phase: list[str], results: dict[str, Counter]) -> None:
    i = 0
    while time.monotonic() < stop:
        i += 1
        cid = customers[i % len(customers)]
        calls = [
            ("GET", f"/api/v1/customers/{cid}", None),
            ("GET", "/api/v1/customers?q=garcia&limit=5", None),
            ("POST", f"/api/v1/customers/{cid}/notes", {"body": f"redis fault note {i}"}),
            ("POST", "/graphql", {"query": "{ me { role } }"}),
        ]
        method, url, body = calls[i % len(calls)]
        try:
            r = await client.request(method, url, json=body, headers=headers)
            results[phase[0]][r.status_code] += 1
        except httpx.TransportError as exc:
            results[phase[0]][type(exc).__name__] += 1


async def run(seconds: float) -> tuple[bool, list[str]]:
    redis = RedisServer()
    redis.start()
    workdir = Path(tempfile.mkdtemp(prefix="clienteling-redis-fault-"))
    svc = Service(f"sqlite:///{workdir / 'db.sqlite3'}", redis_url=redis.url)
    try:
        headers = svc.login("manager.madrid@example.com")
        async with httpx.AsyncClient(base_url=svc.base_url, timeout=15) as client:
            customers = [c["id"] for c in (await client.get("/api/v1/customers", params={"limit": 20}, headers=headers)).json()["items"]]
            phase = ["redis up"]
            results: dict[str, Counter] = {"redis up": Counter(), "redis down": Counter(), "redis back": Counter()}
            stop = time.monotonic() + seconds
            workers = [asyncio.create_task(_requests(client, headers, customers, stop, phase, results)) for _ in range(3)]
            await asyncio.sleep(seconds / 3)
            redis.kill()
            phase[0] = "redis down"
            await asyncio.sleep(1)
            ready_down = (await client.get("/ready")).status_code
            await asyncio.sleep(seconds / 3 - 1)
            redis.start()
            phase[0] = "redis back"
            await asyncio.gather(*workers)
            ready_end = (await client.get("/ready")).status_code
        log = svc.output()
        lost = "real-time publish failed" in log or "lost its connection" in log
        failures = {p: {k: v for k, v in c.items() if not (isinstance(k, int) and k < 400)} for p, c in results.items()}
        checks = {
            "every request succeeded while Redis was down": not failures["redis down"] and sum(results["redis down"].values()) > 0,
            "every request succeeded before and after": not failures["redis up"] and not failures["redis back"],
            "/ready stayed 200 without Redis": ready_down == 200 and ready_end == 200,
            "the service logged the lost Redis connection": lost,
            "the service process stayed up": svc.proc.poll() is None,
        }
        lines = [
            f"- load: 3 request loops (customer reads, searches, note writes, GraphQL) for {seconds:.0f} s; Redis killed at {seconds / 3:.0f} s, started again at {2 * seconds / 3:.0f} s",
            *[f"- answers with {p}: {dict(c)}" for p, c in results.items()],
            f"- /ready with Redis down: {ready_down}; at the end: {ready_end}",
            "",
            "| check | result |",
            "| --- | --- |",
            *[f"| {name} | {'yes' if good else '**no**'} |" for name, good in checks.items()],
        ]
        return all(checks.values()), lines
    finally:
        svc.stop()
        redis.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    ok, lines = asyncio.run(run(args.seconds))
    record_result("Redis unavailable (ops/faults/redis_down.py)", ok, lines)
    print("\n".join(lines))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
