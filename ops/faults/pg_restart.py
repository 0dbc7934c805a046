"""Fault: PostgreSQL restarted during a write load.

Starts a throwaway PostgreSQL cluster on port 55432 (never the shared server), the service
on it with demo data, and writers that add notes as the Madrid store manager. Part-way
through, the cluster is restarted (``pg_ctl restart -m fast``: open connections are cut).
Passes when:

- ``/ready`` answers 503 while the database is down (polled every 0.2 s);
- writes succeed again after the restart without any manual action;
- every acknowledged write (201) is in the database afterwards;
- the service never answered with an unexpected status (only 201, or 503 while the
  database was away) and stayed up.

Usage: ``.venv/bin/python ops/faults/pg_restart.py [--seconds 40] [--writers 4]``
(about a minute in all). The last result is written to ops/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections import Counter
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from ops._harness import PgCluster, Service, record_result  # noqa: E402


async def _writer(client: httpx.AsyncClient, headers: dict, customers: list[str], stop: float, acked: list[str], statuses: Counter, n: int) -> None:
    i = 0
    while time.monotonic() < stop:
        i += 1
        cid = customers[(n + i) % len(customers)]
        try:
            r = await client.post(f"/api/v1/customers/{cid}/notes", json={"body": f"fault-test note {n}-{i}"}, headers=headers)
            statuses[r.status_code] += 1
            if r.status_code == 201:
                acked.append(r.json()["id"])
        except httpx.TransportError as exc:
            statuses[type(exc).__name__] += 1
            await asyncio.sleep(0.2)


async def _ready_probe(client: httpx.AsyncClient, stop: float, seen: Counter) -> None:
    while time.monotonic() < stop:
        try:
            r = await client.get("/ready")
            seen[r.status_code] += 1
        except httpx.TransportError:
            seen["transport"] += 1
        await asyncio.sleep(0.2)


async def run(seconds: float, writers: int) -> tuple[bool, list[str]]:
    cluster = PgCluster()
    cluster.start()
    svc = None
    try:
        admin = await asyncpg.connect(cluster.url)
        await admin.execute('CREATE DATABASE "clienteling_fault"')
        await admin.close()
        db_url = cluster.url.rsplit("/", 1)[0] + "/clienteling_fault"
        svc = Service(db_url, extra_env={"CLIENTELING_DB_POOL_MAX": str(writers + 2)})
        headers = svc.login("manager.madrid@example.com")
        async with httpx.AsyncClient(base_url=svc.base_url, timeout=15) as client:
            customers = [c["id"] for c in (await client.get("/api/v1/customers", params={"limit": 50}, headers=headers)).json()["items"]]
            acked: list[str] = []
            statuses: Counter = Counter()
            ready: Counter = Counter()
            ready_during_outage: Counter = Counter()
            start = time.monotonic()
            stop = start + seconds
            tasks = [asyncio.create_task(_writer(client, headers, customers, stop, acked, statuses, n)) for n in range(writers)]
            probe = asyncio.create_task(_ready_probe(client, stop, ready))
            await asyncio.sleep(seconds * 0.3)
            before_restart = len(acked)
            # Down for a few seconds, then back: stop and start so /ready can see the gap.
            outage_start = time.monotonic()
            await asyncio.to_thread(cluster.stop, "fast")
            outage_probe = asyncio.create_task(_ready_probe(client, time.monotonic() + 3, ready_during_outage))
            await asyncio.sleep(3)
            await outage_probe
            await asyncio.to_thread(cluster.start)
            outage = time.monotonic() - outage_start
            restarted_at = len(acked)
            await asyncio.gather(*tasks, probe)
            after_restart = len(acked) - restarted_at
        conn = await asyncpg.connect(db_url)
        present = await conn.fetchval("SELECT count(*) FROM note WHERE id = ANY($1::uuid[])", acked)
        await conn.close()
        final_ready = httpx.get(f"{svc.base_url}/ready", timeout=5).status_code
        logged_500s = Counter(re.findall(r"unexpected error (\w+)", svc.output()))
        unexpected = {k: v for k, v in statuses.items() if k not in (201, 503, "ReadTimeout", "RemoteProtocolError")}
        checks = {
            "/ready answered 503 during the outage": ready_during_outage.get(503, 0) > 0,
            "writes succeeded after the restart (no manual action)": after_restart > 0,
            "every acknowledged write is in the database": present == len(acked),
            "no unexpected status": not unexpected,
            "/ready is 200 again at the end": final_ready == 200,
            "the service process stayed up": svc.proc.poll() is None,
        }
        ok = all(checks.values())
        lines = [
            f"- load: {writers} writers adding notes for {seconds:.0f} s; database stopped at {seconds * 0.3:.0f} s for {outage:.1f} s, then started again",
            f"- writes acknowledged: {len(acked)} ({before_restart} before the outage, {after_restart} after the restart); found in the database afterwards: {present}",
            f"- write answers: {dict(statuses)}",
            f"- exceptions behind 500 answers (service log): {dict(logged_500s) or 'none'}",
            f"- /ready during the outage: {dict(ready_during_outage)}; over the whole run: {dict(ready)}; at the end: {final_ready}",
            "",
            "| check | result |",
            "| --- | --- |",
            *[f"| {name} | {'yes' if good else '**no**'} |" for name, good in checks.items()],
        ]
        return ok, lines
    finally:
        if svc:
            svc.stop()
        cluster.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    ok, lines = asyncio.run(run(args.seconds, args.writers))
    record_result("PostgreSQL restarted during a write load (ops/faults/pg_restart.py)", ok, lines)
    print("\n".join(lines))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
