"""The load benchmark: one command that builds the data set, starts the service on one core,
drives it from the other and writes ``bench/REPORT.md``.

    . .venv/bin/activate && pip install -e ".[bench]"
    python bench/run.py                       # full size (200,000 customers, 2,000,000 lines)
    python bench/run.py --customers 20000 --lines 200000 --seconds 5 --big-store 4000   # a quick try

What it does (measures, asserts nothing): creates a throwaway PostgreSQL database, loads it
(bench/dataset.py), starts ``clienteling serve`` with ``taskset -c 0`` and the bare baseline
(bench/baseline_app.py, same uvicorn) on the same core, pins itself to core 1 and drives the
workloads W1-W8 with the async driver (bench/driver.py), counts SQL statements per request
in-process (bench/statements.py), reads peak RSS from /proc, verifies the audit chain, drops
the database and writes the report. Figures are taken from this run only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import driver  # noqa: E402
from bench.dataset import PASSWORD, Dataset, Shape, build_postgres, build_sqlite  # noqa: E402
from domain.text import fold  # noqa: E402

Q360 = ("query Customer360($id: ID!) { customer(id: $id) { id firstName lastName email phone sizes preferences vip "
        "loyalty { tier points nextTier pointsToNextTier } purchases(first: 10) { edges { cursor node { id occurredAt channel storeId "
        "currency total lines { sku name quantity unitPrice } } } pageInfo { hasNextPage endCursor } } notes(first: 20) { body pinned } "
        "consentSummary { purpose granted since expiresAt } timeline(first: 20) { kind occurredAt summary refId } } }")
HOST = "127.0.0.1"
# The pull batch the W5 tablet asks for: the server's maximum (domain.sync.MAX_PULL_LIMIT), as
# docs/offline-sync.md recommends for a first sync (half the round trips of 1,000).
W5_BATCH = 2000
EXE = Path(sys.executable).with_name("clienteling")
UVICORN = Path(sys.executable).with_name("uvicorn")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> tuple[int, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            values[line.split(":")[0]] = int(line.split()[1])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    mem = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), "0")
    return {"cpu": model, "cores": os.cpu_count(), "load": os.getloadavg(), "mem_gib": round(int(mem) / 1024 / 1024, 1),
            "python": platform.python_version(), "kernel": platform.release()}


class Server:
    """A server process pinned to core 0."""

    def __init__(self, name: str, argv: list[str], env: dict, port: int) -> None:
        self.name, self.port = name, port
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(["taskset", "-c", "0", *argv], env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, path: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; log: {Path(self.log.name).read_text()[-3000:]}")
            try:
                if httpx.get(f"http://{HOST}:{self.port}{path}", timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def pid(self) -> int:
        # uvicorn runs in the process taskset execs (single worker).
        return self.proc.pid

    def wait_idle(self, limit: float = 120) -> float:
        """Wait until the process uses under 5% of a core (start-up jobs done)."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            a = cpu_seconds(self.pid())
            time.sleep(1)
            if cpu_seconds(self.pid()) - a < 0.05:
                break
        return time.monotonic() - started

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word)) if len(word) > 1 else 0
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        return word[:i] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[i + 1:]
    if kind == "drop" and len(word) > 4:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def cycle(items: list):
    it = [0]

    def nxt():
        it[0] += 1
        return items[it[0] % len(items)]
    return nxt


async def login(base: str, email: str, device: str | None = None) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        body = {"email": email, "password": PASSWORD} | ({"deviceId": device} if device else {})
        r = await c.post("/api/v1/auth/login", json=body)
        r.raise_for_status()
        return r.json()["accessToken"]


def maintain(url: str) -> float:
    """What autovacuum would have done by now: the shared PostgreSQL server of this machine
    runs with ``autovacuum = off``, so without this the tables written during the run (audit
    entries, the change counter, notes) keep the statistics of an empty table and the plans
    cached on pooled connections (planned when the audit table was empty: a sequential scan
    for the chain's last link) are never replanned."""
    async def run() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("VACUUM ANALYZE")
        finally:
            await conn.close()
    t0 = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - t0


def audit_metric(base: str) -> tuple[float, float]:
    """(appends, seconds) of the service's audit-write histogram (GET /metrics)."""
    count = total = 0.0
    for line in httpx.get(f"{base}/metrics", timeout=30).text.splitlines():
        if line.startswith("clienteling_audit_write_seconds_count"):
            count += float(line.split()[-1])
        elif line.startswith("clienteling_audit_write_seconds_sum"):
            total += float(line.split()[-1])
    return count, total


def statements(env: dict, spec: dict) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "statements.py"), f.name], env=env, capture_output=True, text=True, timeout=300)
    os.unlink(f.name)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": out.stderr[-2000:]}


# -- workloads ---------------------------------------------------------------------------------


def w360_requests(port: int, token: str, ids: list[uuid.UUID]) -> list[bytes]:
    h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return [driver.request_bytes("POST", "/graphql", host=f"{HOST}:{port}", headers=h,
                                 body=json.dumps({"query": Q360, "variables": {"id": str(i)}}).encode()) for i in ids]


def rest360_requests(port: int, token: str, ids: list[uuid.UUID]) -> list[list[bytes]]:
    h = {"Authorization": f"Bearer {token}"}
    host = f"{HOST}:{port}"
    return [[driver.request_bytes("GET", f"/api/v1/customers/{i}", host=host, headers=h),
             driver.request_bytes("GET", f"/api/v1/customers/{i}/purchases?limit=10", host=host, headers=h),
             driver.request_bytes("GET", f"/api/v1/customers/{i}/notes?limit=20", host=host, headers=h),
             driver.request_bytes("GET", f"/api/v1/customers/{i}/consents", host=host, headers=h)] for i in ids]


async def ws_fanout(port: int, token: str, manager_token: str, customer: uuid.UUID, subscribers: int, events: int) -> dict:
    """``subscribers`` WebSocket clients subscribe to customerUpdated(customer); the manager
    changes the customer ``events`` times; latency = arrival - just before the PATCH."""
    import websockets

    arrivals: list[list[float]] = [[] for _ in range(events)]
    ready = asyncio.Event()
    subscribed = [0]
    current = [0]

    async def client(n: int) -> None:
        async with websockets.connect(f"ws://{HOST}:{port}/graphql", subprotocols=["graphql-transport-ws"], compression=None,
                                      open_timeout=60, max_queue=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"headers": {"Authorization": f"Bearer {token}"}}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription($id: ID!) { customerUpdated(id: $id) { id firstName tags } }", "variables": {"id": str(customer)}}}))
            subscribed[0] += 1
            if subscribed[0] == subscribers:
                ready.set()
            got = 0
            while got < events:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 120))
                if msg.get("type") == "next":
                    arrivals[current[0]].append(time.perf_counter())
                    got += 1
                elif msg.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif msg.get("type") in ("error", "complete"):
                    raise RuntimeError(msg)

    tasks = []
    for n in range(subscribers):
        tasks.append(asyncio.ensure_future(client(n)))
        if n % 50 == 49:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(ready.wait(), 300)
    await asyncio.sleep(1.0)  # the subscriptions are registered server-side
    latencies, per_event = [], []
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=120, headers={"Authorization": f"Bearer {manager_token}"}) as c:
        for e in range(events):
            current[0] = e
            t0 = time.perf_counter()
            r = await c.patch(f"/api/v1/customers/{customer}", json={"tags": [f"bench-{e}"]})
            r.raise_for_status()
            deadline = time.monotonic() + 120
            while len(arrivals[e]) < subscribers and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            per_event.append((max(arrivals[e]) - t0) * 1000 if arrivals[e] else float("nan"))
            latencies += [(a - t0) * 1000 for a in arrivals[e]]
            await asyncio.sleep(0.2)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = sum(1 for r in results if isinstance(r, Exception))
    return {"subscribers": subscribers, "events": events, "deliveries": len(latencies), "expected": subscribers * events, "client_errors": errors,
            "p50": round(driver.pct(latencies, 50), 1), "p95": round(driver.pct(latencies, 95), 1), "p99": round(driver.pct(latencies, 99), 1),
            "last_of_event_median": round(statistics.median(per_event), 1)}


async def closed(port: int, reqs, conns: int, seconds: float, **kw) -> driver.Result:
    return await driver.closed_loop(HOST, port, cycle(reqs), connections=conns, seconds=seconds, **kw)


# -- main --------------------------------------------------------------------------------------


def main() -> None:  # noqa: C901, PLR0915 - a script, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--lines", type=int, default=2_000_000)
    parser.add_argument("--big-store", type=int, default=20_000, help="customers of the store W5 syncs")
    parser.add_argument("--seconds", type=float, default=15, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating baseline/W1/W2 rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--sqlite-customers", type=int, default=None, help="W8 data set size (default: --customers)")
    parser.add_argument("--skip", default="", help="comma-separated workloads to skip, e.g. W5,W8")
    parser.add_argument("--admin-url", default=os.environ.get("CLIENTELING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--report", default=str(ROOT / "bench" / "REPORT.md"))
    args = parser.parse_args()
    skip = {s.strip().upper() for s in args.skip.split(",") if s.strip()}
    os.sched_setaffinity(0, {1})  # the driver keeps off the server's core
    started_all = time.perf_counter()
    info = machine()
    info["started"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    info["other_load"] = subprocess.run(["sh", "-c", "ps -eo pcpu,comm --sort=-pcpu | head -6"], capture_output=True, text=True).stdout
    # The driver's loop: uvloop (installed with uvicorn[standard]) spends less of core 1 per
    # request and per WebSocket message than asyncio's default loop, so its own lag adds less
    # to the latencies it records (200 WebSocket clients share one driver process in W6).
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        info["driver_loop"] = "uvloop"
    except ImportError:
        info["driver_loop"] = "asyncio"
    log(f"machine: {info['cpu']}, {info['cores']} cores, load {info['load']}")
    res: dict = {"machine": info, "args": vars(args)}

    name = f"bench_{uuid.uuid4().hex[:8]}"
    url = f"{args.admin_url.rsplit('/', 1)[0]}/{name}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    servers: list[Server] = []
    tmpdir = tempfile.mkdtemp(prefix="clienteling-bench-")
    try:
        log(f"building the data set in {name}")
        shape = Shape(customers=args.customers, big_store_customers=args.big_store, purchase_lines=args.lines)
        ds: Dataset = asyncio.run(build_postgres(url, shape))
        res["dataset"] = {"seconds": round(ds.seconds, 1), "counts": ds.counts, "stores": len(ds.stores)}
        log(f"data set ready in {ds.seconds:.0f} s: {ds.counts}")

        secret = secrets.token_urlsafe(48)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
        env.update({"CLIENTELING_DATABASE_URL": url, "CLIENTELING_SECRET_KEY": secret, "CLIENTELING_ACCESS_TOKEN_TTL": "86400",
                    "CLIENTELING_JSON_LOGS": "true", "CLIENTELING_WEBHOOK_SECRET": secrets.token_urlsafe(32), "PYTHONUNBUFFERED": "1"})
        port, bport = free_port(), free_port()
        app = Server("clienteling", [str(EXE), "serve", "--port", str(port), "--log-level", "warning"], env, port)
        servers.append(app)
        app.wait_ready("/ready")
        base = Server("baseline", [str(UVICORN), "bench.baseline_app:app", "--port", str(bport), "--log-level", "warning", "--no-access-log"],
                      env | {"PYTHONPATH": str(ROOT)}, bport)
        servers.append(base)
        base.wait_ready("/")
        idle = app.wait_idle()
        # The first start creates the automatic tasks (birthdays, lapsed clients) in one
        # transaction; its commit stamps every row and holds the audit chain lock meanwhile.
        t0 = time.perf_counter()
        startup_tasks = asyncio.run(_settle(url))
        res["startup"] = {"cpu_idle_after_s": round(idle), "database_settled_after_s": round(idle + time.perf_counter() - t0), "automatic_tasks": startup_tasks}
        log(f"start-up: {res['startup']}")
        autovac = asyncio.run(_autovacuum_setting(url))
        res["autovacuum"] = autovac
        maintain(url)
        log(f"servers up (service pid {app.pid()}, baseline pid {base.pid()}); start-up jobs settled after {idle:.0f} s")
        res["rss_after_start_mib"] = round(rss_kib(app.pid())[0] / 1024)
        base_url = f"http://{HOST}:{port}"

        store0 = ds.stores[0]
        ids = list(ds.customers_by_store[store0])
        rng = random.Random(11)
        rng.shuffle(ids)
        associate = next(e for e, s in ds.staff.items() if s["role"] == "associate" and s["stores"] == [store0])
        manager = next(e for e, s in ds.staff.items() if s["role"] == "store_manager" and s["stores"] == [store0])
        token = asyncio.run(login(base_url, associate))
        mtoken = asyncio.run(login(base_url, manager))
        ctoken = asyncio.run(login(base_url, "compliance@bench.test"))
        sample = ids[:5000]

        # same JSON check
        async def same_json() -> tuple[int, int]:
            same = 0
            async with httpx.AsyncClient(timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
                for cid in sample[:50]:
                    body = {"query": Q360, "variables": {"id": str(cid)}}
                    a = (await c.post(f"{base_url}/graphql", json=body)).json()
                    b = (await c.post(f"http://{HOST}:{bport}/graphql", json=body)).json()
                    same += a == b
            return same, 50
        res["same_json"] = asyncio.run(same_json())
        log(f"baseline answers the same JSON as W1 for {res['same_json'][0]}/{res['same_json'][1]} customers")

        w1 = w360_requests(port, token, sample)
        b1 = w360_requests(bport, token, sample)
        w2 = rest360_requests(port, token, sample)
        ok_360 = lambda status, body: status == 200 and b'"errors"' not in body  # noqa: E731

        # warm-up
        asyncio.run(closed(port, w1, args.connections, 3, check=ok_360))
        asyncio.run(closed(bport, b1, args.connections, 3, check=ok_360))
        asyncio.run(closed(port, w2, args.connections, 3))

        rounds = {"baseline": [], "W1": [], "W2": []}
        pooled = {k: driver.Result() for k in rounds}
        audit = {"W1": [0.0, 0.0], "W2": [0.0, 0.0]}
        for r in range(args.rounds):
            for key, p, reqs, check in (("baseline", bport, b1, ok_360), ("W1", port, w1, ok_360), ("W2", port, w2, None)):
                if autovac == "off":
                    maintain(url)
                before = audit_metric(base_url) if key in audit else None
                result = asyncio.run(closed(p, reqs, args.connections, args.seconds, check=check))
                if before is not None:
                    after = audit_metric(base_url)
                    audit[key][0] += after[0] - before[0]
                    audit[key][1] += after[1] - before[1]
                rounds[key].append(result)
                pooled[key].latencies += result.latencies
                for s, n in result.statuses.items():
                    pooled[key].statuses[s] = pooled[key].statuses.get(s, 0) + n
                pooled[key].transport_errors += result.transport_errors
                pooled[key].seconds += result.seconds
                log(f"round {r + 1} {key}: {result.summary()}")
        res["closed"] = {k: pooled[k].summary() | {"rps_rounds": [round(x.throughput, 1) for x in v],
                                                    "rps_median": round(statistics.median(x.throughput for x in v), 1)} for k, v in rounds.items()}
        res["audit"] = {k: {"appends_per_request": round(a / max(pooled[k].ok, 1), 2), "ms_per_append": round(1000 * t / max(a, 1), 2),
                            "share_of_request_time": round(t / (args.connections * pooled[k].seconds), 3)} for k, (a, t) in audit.items()}
        log(f"audit appends: {res['audit']}")
        res["ratios"] = {k: [round(w.throughput / b.throughput, 3) for w, b in zip(rounds[k], rounds["baseline"])] for k in ("W1", "W2")}

        if autovac == "off":
            maintain(url)
        half = res["closed"]["W1"]["rps_median"] / 2
        w1half = asyncio.run(driver.open_loop(HOST, port, cycle(w1), rate=half, seconds=args.seconds * 2, connections=64))
        res["W1_half"] = w1half.summary() | {"rate": round(half, 1)}
        log(f"W1 at half its max ({half:.0f}/s, open loop): {res['W1_half']}")
        bhalf = asyncio.run(driver.open_loop(HOST, bport, cycle(b1), rate=res["closed"]["baseline"]["rps_median"] / 2, seconds=args.seconds * 2, connections=64))
        res["baseline_half"] = bhalf.summary() | {"rate": round(res["closed"]["baseline"]["rps_median"] / 2, 1)}

        if autovac == "off":
            maintain(url)
        # W3 search with typos
        rows = [s for s in ds.samples]
        qs = []
        for i in range(2000):
            cid, first, last, *_ = rows[rng.randrange(len(rows))]
            qs.append(f"{first} {_typo(fold(last).split(' ')[0], rng)}")
        w3 = [driver.request_bytes("GET", f"/api/v1/customers?q={quote(q)}&limit=20",
                                   host=f"{HOST}:{port}", headers={"Authorization": f"Bearer {token}"}) for q in qs]
        found = asyncio.run(closed(port, w3[:200], 1, 5, keep_bodies=200))
        res["W3_found"] = sum(1 for b in found.bodies if b'"items":[]' not in b), len(found.bodies)
        res["W3_one"] = asyncio.run(closed(port, w3, 1, args.seconds)).summary()
        res["W3_loaded"] = asyncio.run(closed(port, w3, args.connections, args.seconds)).summary()
        log(f"W3 search: 1 connection {res['W3_one']}; {args.connections} connections {res['W3_loaded']}")

        if autovac == "off":
            maintain(url)
        # W4 add a note
        note_h = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        w4 = [driver.request_bytes("POST", f"/api/v1/customers/{cid}/notes", host=f"{HOST}:{port}", headers=note_h,
                                   body=json.dumps({"body": f"Bench note {n}: asked about the new season", "pinned": False}).encode())
              for n, cid in enumerate(sample)]
        res["W4"] = asyncio.run(closed(port, w4, args.connections, args.seconds)).summary()
        log(f"W4 add a note: {res['W4']}")
        res["rss_peak_http_mib"] = round(rss_kib(app.pid())[1] / 1024)

        # statements per request (in-process, same environment)
        def spec(method, path, tok, body=None):  # noqa: ANN001, ANN202
            h = {"Authorization": f"Bearer {tok}"} | ({"Content-Type": "application/json"} if body else {})
            return {"method": method, "path": path, "headers": h, "body": body or ""}
        res["statements"] = statements(env, {
            "W1": [spec("POST", "/graphql", token, json.dumps({"query": Q360, "variables": {"id": str(c)}})) for c in sample[:5]],
            "W2 profile": [spec("GET", f"/api/v1/customers/{c}", token) for c in sample[:5]],
            "W2 purchases": [spec("GET", f"/api/v1/customers/{c}/purchases?limit=10", token) for c in sample[:5]],
            "W2 notes": [spec("GET", f"/api/v1/customers/{c}/notes?limit=20", token) for c in sample[:5]],
            "W2 consents": [spec("GET", f"/api/v1/customers/{c}/consents", token) for c in sample[:5]],
            "W3": [spec("GET", f"/api/v1/customers?q={quote(q)}&limit=20", token) for q in qs[:5]],
            "W4": [spec("POST", f"/api/v1/customers/{c}/notes", token, json.dumps({"body": "Counting note"})) for c in sample[:5]],
        })
        log(f"statements: { {k: v.get('mean') if isinstance(v, dict) else v for k, v in res['statements'].items()} }")

        if autovac == "off":
            maintain(url)
        # W6 live-alert fan-out
        if "W6" not in skip:
            res["W6"] = []
            for n, target in zip((10, 200, 1000), sample[-3:]):
                try:
                    out = asyncio.run(ws_fanout(port, token, mtoken, target, n, 10 if n < 1000 else 5))
                except Exception as exc:  # noqa: BLE001 - reported
                    out = {"subscribers": n, "error": repr(exc)[:300]}
                res["W6"].append(out)
                log(f"W6 {n} subscribers: {out}")
            res["rss_peak_ws_mib"] = round(rss_kib(app.pid())[1] / 1024)

        if autovac == "off":
            maintain(url)
        # W5 first sync of one store with the stock RxDB client, then an incremental change
        if "W5" not in skip:
            res["W5"] = w5(base_url, url, store0, mtoken, associate, app)
            log(f"W5: {res['W5']}")

        if autovac == "off":
            maintain(url)
        # audit chain still valid after every workload (baseline entries included)
        v = httpx.get(f"{base_url}/api/v1/audit/verify", headers={"Authorization": f"Bearer {ctoken}"}, timeout=600)
        res["audit_verify"] = v.json() if v.status_code == 200 else {"status": v.status_code, "body": v.text[:300]}
        log(f"audit chain: {res['audit_verify']}")
        res["rss_peak_mib"] = round(rss_kib(app.pid())[1] / 1024)
        for s in servers:
            s.stop()
        servers.clear()

        # W7 push delivery
        res["W7"] = w7_status()

        # W8: W1 on SQLite
        if "W8" not in skip:
            res["W8"] = w8(args, env, tmpdir)
            log(f"W8: {res['W8']}")
    finally:
        for s in servers:
            s.stop()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        subprocess.run(["rm", "-rf", tmpdir])
    res["total_seconds"] = round(time.perf_counter() - started_all)
    Path(args.report).with_suffix(".json").write_text(json.dumps(res, indent=1, default=str))
    from bench.report import write_report

    write_report(res, Path(args.report))
    log(f"report written to {args.report} ({res['total_seconds']} s in all)")


async def _settle(url: str, quiet: float = 3.0, limit: float = 900.0) -> int:
    """Wait until no other session of the benchmark database is active or inside a
    transaction for ``quiet`` seconds; return the number of tasks then."""
    conn = await asyncpg.connect(url)
    try:
        calm_since = time.monotonic()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            busy = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                       "AND state IN ('active', 'idle in transaction')")
            if busy:
                calm_since = time.monotonic()
            elif time.monotonic() - calm_since >= quiet:
                break
            await asyncio.sleep(0.5)
        return await conn.fetchval("SELECT count(*) FROM task")
    finally:
        await conn.close()


async def _autovacuum_setting(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval("SHOW autovacuum")
    finally:
        await conn.close()


def w5(base_url: str, url: str, store: uuid.UUID, mtoken: str, associate: str, app: Server) -> dict:
    from tests.e2e.rxdb_tablet import Tablet

    with httpx.Client(base_url=base_url, timeout=30) as c:
        r = c.post("/api/v1/devices", json={"id": "bench-tablet", "storeId": str(store)}, headers={"Authorization": f"Bearer {mtoken}"})
        assert r.status_code == 201, r.text
    token = asyncio.run(login(base_url, associate, "bench-tablet"))
    rss_before = rss_kib(app.pid())[0]
    started = time.perf_counter()
    tablet = Tablet(base_url, token, "bench-tablet", collections=["customer"], batch_size=W5_BATCH)
    try:
        result = tablet.sync()
        elapsed = time.perf_counter() - started
        count = tablet.call("count", collection="customer")
        rss = rss_kib(app.pid())

        async def touch() -> list[str]:
            conn = await asyncpg.connect(url)
            try:
                rows = await conn.fetch("UPDATE customer SET tags = '[\"bench\"]' WHERE id IN (SELECT id FROM customer WHERE home_store = $1 "
                                        "ORDER BY id LIMIT 100) RETURNING id", store)
                return [str(r["id"]) for r in rows]
            finally:
                await conn.close()
        t0 = time.perf_counter()
        changed = set(asyncio.run(touch()))
        deadline = time.monotonic() + 60
        incremental = None
        while time.monotonic() < deadline:
            docs = tablet.call("find", collection="customer")
            if sum(1 for d in docs if d["id"] in changed and d.get("tags") == '["bench"]') >= len(changed):
                incremental = time.perf_counter() - t0
                break
            time.sleep(0.05)
        return {"batch": W5_BATCH, "customers": count, "first_sync_s": round(elapsed, 2), "replication_s": round(result["ms"] / 1000, 2),
                "docs_per_s": round(count / (result["ms"] / 1000)), "incremental_100_s": round(incremental, 2) if incremental else None,
                "rss_before_mib": round(rss_before / 1024), "rss_after_mib": round(rss[0] / 1024), "rss_peak_mib": round(rss[1] / 1024)}
    finally:
        tablet.close()


def w7_status() -> dict:
    """W7 needs the push worker and the local receiver (push/, tests/push_receiver.py)."""
    have_worker = "push-worker" in subprocess.run([str(EXE), "--help"], capture_output=True, text=True).stdout
    have_receiver = (ROOT / "tests" / "push_receiver.py").exists()
    runner = ROOT / "bench" / "push_bench.py"
    if have_worker and have_receiver and runner.exists():
        out = subprocess.run([sys.executable, str(runner), "--json"], capture_output=True, text=True, timeout=900)
        try:
            return json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            return {"measured": False, "reason": f"bench/push_bench.py failed: {out.stderr[-500:]}"}
    return {"measured": False, "reason": "the push worker and receiver exist but the push benchmark driver (bench/push_bench.py) was not written in this session"
            if have_worker and have_receiver else "clienteling push-worker or tests/push_receiver.py missing"}


def w8(args, env: dict, tmpdir: str) -> dict:  # noqa: ANN001
    n = args.sqlite_customers or args.customers
    path = os.path.join(tmpdir, "bench.sqlite3")
    log(f"W8: building the SQLite data set ({n:,} customers)")
    lines = int(args.lines * n / args.customers)
    ds = build_sqlite(path, Shape(customers=n, big_store_customers=min(args.big_store, n // 2), purchase_lines=lines))
    port = free_port()
    senv = env | {"CLIENTELING_DATABASE_URL": f"sqlite:///{path}"}
    app = Server("clienteling-sqlite", [str(EXE), "serve", "--port", str(port), "--log-level", "warning"], senv, port)
    try:
        app.wait_ready("/ready", timeout=600)
        app.wait_idle()
        store0 = ds.stores[0]
        ids = list(ds.customers_by_store[store0])
        random.Random(12).shuffle(ids)
        associate = next(e for e, s in ds.staff.items() if s["role"] == "associate" and s["stores"] == [store0])
        token = asyncio.run(login(f"http://{HOST}:{port}", associate))
        reqs = w360_requests(port, token, ids[:5000])
        ok = lambda status, body: status == 200 and b'"errors"' not in body  # noqa: E731
        asyncio.run(closed(port, reqs, args.connections, 3, check=ok))
        r = asyncio.run(closed(port, reqs, args.connections, args.seconds, check=ok))
        one = asyncio.run(closed(port, reqs, 1, args.seconds, check=ok))
        return {"customers": n, "lines": ds.counts.get("purchase_line"), "load_s": round(ds.seconds, 1), "loaded": r.summary(), "one": one.summary(),
                "rss_peak_mib": round(rss_kib(app.pid())[1] / 1024)}
    finally:
        app.stop()


if __name__ == "__main__":
    main()
