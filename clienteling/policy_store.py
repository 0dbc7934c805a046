"""Holds the permission policy in force.

With a policy file, every process notices a change of the file within ``check_interval``
seconds and swaps the policy for the next request; a file that does not validate is
rejected with a logged message and the previous policy stays in force."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from permissions import Policy, PolicyError, load_default_policy, load_policy

__all__ = ["PolicyStore"]

log = logging.getLogger("clienteling.policy")


class PolicyStore:
    def __init__(self, policy: Policy | None = None, *, path: str | None = None, check_interval: float = 2.0) -> None:
        self.path = Path(path) if path else None
        self.check_interval = check_interval
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._next_check = 0.0
        self._mtime: float | None = None
        if self.path is not None:
            self._mtime = os.stat(self.path).st_mtime
            self._policy = load_policy(self.path.read_bytes())  # invalid at start: fail loudly
        else:
            self._policy = policy or load_default_policy()

    @property
    def current(self) -> Policy:
        if self.path is not None and time.monotonic() >= self._next_check:
            self._check_file()
        return self._policy

    def replace(self, policy: Policy) -> None:
        self._policy = policy

    def reload(self) -> Policy:
        """Load the policy file now; raise :class:`PolicyError` (keeping the old policy) if
        it does not validate."""
        if self.path is None:
            raise PolicyError("no policy file is configured (CLIENTELING_POLICY_FILE); the built-in default is in force")
        with self._lock:
            mtime = os.stat(self.path).st_mtime
            try:
                policy = load_policy(self.path.read_bytes())
            except PolicyError as exc:
                self.last_error = str(exc)
                self._mtime = mtime
                raise
            self._policy = policy
            self._mtime = mtime
            self.last_error = None
            log.info("permission policy reloaded from %s (version %s)", self.path, policy.version)
            return policy

    def _check_file(self) -> None:
        self._next_check = time.monotonic() + self.check_interval
        try:
            mtime = os.stat(self.path).st_mtime  # type: ignore[arg-type]
        except OSError as exc:
            log.error("permission policy file unreadable, keeping the current policy: %s", exc)
            return
        if mtime == self._mtime:
            return
        try:
            self.reload()
        except (PolicyError, OSError) as exc:
            log.error("permission policy file rejected, keeping the current policy: %s", exc)
