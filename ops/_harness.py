"""Shared pieces of the fault and load scripts: a throwaway PostgreSQL cluster (never the
shared one on 5432), a throwaway Redis, the service as a subprocess, and RESULTS.md.

Every address used is on this machine (127.0.0.1 or a Unix socket in /tmp)."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "ops" / "RESULTS.md"
PG_BIN = Path(os.environ.get("CLIENTELING_PG_BIN", "/usr/lib/postgresql/15/bin"))
DEMO_PASSWORD = "clienteling-demo"

__all__ = ["PgCluster", "RedisServer", "Service", "free_port", "record_result"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PgCluster:
    """A PostgreSQL cluster of its own in a temporary directory, on its own port."""

    def __init__(self, port: int = 55432) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="clienteling-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "pg.log"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]), check=True, stdout=subprocess.DEVNULL)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *args]), check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "-o", f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1", "restart")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A redis-server of its own (no persistence) on its own port."""

    def __init__(self, port: int = 56379) -> None:
        self.port = port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        for _ in range(50):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True).stdout.strip() == b"PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Service:
    """``clienteling serve --demo`` on a free port with the given database (and Redis)."""

    def __init__(self, database_url: str, *, redis_url: str | None = None, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workdir = Path(tempfile.mkdtemp(prefix="clienteling-svc-"))
        self.log_path = self.workdir / "service.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTELING_")}
        env.update({"CLIENTELING_DATABASE_URL": database_url, "CLIENTELING_SECRET_KEY": secrets.token_urlsafe(48), "PYTHONUNBUFFERED": "1"})
        if redis_url:
            env["CLIENTELING_REDIS_URL"] = redis_url
        env.update(extra_env or {})
        script = Path(sys.executable).with_name("clienteling")
        cmd = [str(script)] if script.exists() else [sys.executable, "-m", "api.cli"]
        self.proc = subprocess.Popen([*cmd, "serve", "--demo", "--port", str(self.port)], cwd=self.workdir, env=env, stdout=self.log_path.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited:\n{self.output()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"service not ready:\n{self.output()[-3000:]}")
            time.sleep(0.3)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def login(self, email: str) -> dict[str, str]:
        r = httpx.post(f"{self.base_url}/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}, timeout=30)
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['accessToken']}"}

    def rss_kib(self) -> int:
        """Resident memory of the server process and its children (uvicorn runs in-process)."""
        total = 0
        pids = [self.proc.pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()]
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            m = re.search(r"VmRSS:\s+(\d+) kB", status)
            total += int(m.group(1)) if m else 0
        return total

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def record_result(name: str, ok: bool, lines: list[str]) -> None:
    """Replace this scenario's section of ops/RESULTS.md with the latest run."""
    header = "# Fault and load results\n\nThe last run of each script under `ops/`; every script rewrites its own section.\n"
    text = RESULTS.read_text() if RESULTS.exists() else header
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"## {name}\n\nLast run: {stamp}, {os.cpu_count()} cores shared with other work. Verdict: **{'PASS' if ok else 'FAIL'}**\n\n" + "\n".join(lines) + "\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
