"""A tablet for the e2e tests: the stock RxDB client in a Node process (``rxdb/tablet.mjs``),
driven one JSON command per line. Its dependencies are pinned in ``rxdb/package-lock.json``
and installed with ``npm ci`` the first time a test needs them."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

RXDB_DIR = Path(__file__).with_name("rxdb")


def ensure_node_modules() -> None:
    if (RXDB_DIR / "node_modules" / "rxdb").exists():
        return
    if shutil.which("npm") is None:
        pytest.fail("npm is needed for the RxDB end-to-end tests (Node 20)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=RXDB_DIR, check=True, timeout=300)


class Tablet:
    def __init__(self, base_url: str, token: str, device: str, *, collections: list[str] | None = None, batch_size: int = 1000) -> None:
        ensure_node_modules()
        config = {"baseUrl": base_url, "token": token, "device": device, "batchSize": batch_size}
        if collections:
            config["collections"] = collections
        self.device = device
        self.proc = subprocess.Popen(
            ["node", str(RXDB_DIR / "tablet.mjs"), json.dumps(config)], cwd=RXDB_DIR,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def call(self, cmd: str, timeout: float = 60, **args: Any) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"tablet {self.device}: {cmd} timed out; stderr: {self._stderr()}") from None
        if line is None:
            raise AssertionError(f"tablet {self.device} exited; stderr: {self._stderr()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise AssertionError(f"tablet {self.device}: {cmd} failed: {answer['error']}")
        return answer["result"]

    def _stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def sync(self) -> dict[str, Any]:
        return self.call("sync", timeout=120)

    def docs(self, collection: str) -> dict[str, dict[str, Any]]:
        return {d["id"]: d for d in self.call("find", collection=collection)}

    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        return self.call("get", collection=collection, id=doc_id)

    def wait_for(self, collection: str, doc_id: str, check, timeout: float = 15) -> dict[str, Any] | None:  # noqa: ANN001
        """Wait (without asking for a pull: only the stream can bring it) until ``check(doc)``."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self.get(collection, doc_id)
            if check(doc):
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"tablet {self.device}: {collection} {doc_id} never matched; last {doc}")
            time.sleep(0.2)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("exit", timeout=10)
            except AssertionError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
