"""Automatic persisted queries (Apollo protocol) and an optional allow-list.

A client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": "..."}``; a known
hash runs the stored text, an unknown one answers ``PERSISTED_QUERY_NOT_FOUND`` so the
client resends with the text, which is checked against the hash and remembered. Each
process keeps its own bounded cache: a client that lands on another process simply resends
once. With an allow-list (a JSON object ``{sha256: query}`` from the official apps' build),
only listed operations run: text queries and unknown hashes are refused."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

__all__ = ["PersistedQueries", "PersistedQueryError", "load_allowlist"]


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def load_allowlist(path: str) -> dict[str, str]:
    """Read ``{hash: query}``; every hash must match its query."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError("the allow-list must be a JSON object of sha256 hash -> query text")
    for digest, query in data.items():
        if sha256(query) != digest.lower():
            raise ValueError(f"allow-list entry {digest[:12]}… does not match its query's SHA-256")
    return {k.lower(): v for k, v in data.items()}


class PersistedQueries:
    def __init__(self, *, capacity: int = 2000, allowlist: dict[str, str] | None = None) -> None:
        self.capacity = capacity
        self.allowlist = allowlist
        self._cache: OrderedDict[str, str] = OrderedDict()

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The query text to run, or :class:`PersistedQueryError` with an Apollo code."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if self.allowlist is not None and query is not None:
                raise PersistedQueryError("PERSISTED_QUERY_REQUIRED", "Only persisted operations of the official apps are accepted")
            return query
        if not isinstance(persisted, dict) or persisted.get("version") != 1 or not isinstance(persisted.get("sha256Hash"), str):
            raise PersistedQueryError("PERSISTED_QUERY_NOT_SUPPORTED", "persistedQuery must be {version: 1, sha256Hash: <hex>}")
        digest = persisted["sha256Hash"].lower()
        if self.allowlist is not None:
            if digest not in self.allowlist:
                raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
            return self.allowlist[digest]
        if query is not None:
            if sha256(query) != digest:
                raise PersistedQueryError("PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query")
            self._remember(digest, query)
            return query
        stored = self._cache.get(digest)
        if stored is None:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        self._cache.move_to_end(digest)
        return stored

    def _remember(self, digest: str, query: str) -> None:
        self._cache[digest] = query
        self._cache.move_to_end(digest)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
