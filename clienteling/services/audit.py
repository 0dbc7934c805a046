"""The access audit: append entries to the hash chain, verify it, and query it.

Design: entries are appended inside a database transaction that first takes the chain lock
(a PostgreSQL advisory transaction lock shared by all processes; on SQLite the database write
lock), reads the last link and inserts ``seq + 1, seq + 2, ...`` with the hash over each
entry's content and the previous hash. Appends are therefore serialized: no forks, no gaps,
with any number of app processes. A write's entry joins the write's own transaction (both
commit or neither); ``record`` must then be the last statement of that transaction, so the
chain lock is held only for the insert and never while waiting on row locks.

A read's entry is durable before any of the data it describes leaves: during an HTTP
request it is held until the response is about to be sent and then appended with the
request's other entries (``api.audit_flush``: a customer 360 records about five; if they
cannot be written, the response is an error instead); elsewhere (WebSocket subscriptions,
jobs) ``record`` returns once it is written. Those appends are group-committed: the entries
that concurrent requests of a process submit while one chain transaction is running are
written together by the next one (one lock, one multi-row insert), instead of one chain
transaction each. The guarantee per entry is unchanged; only the number of lock holds
drops."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, get_type_hints
from uuid import UUID

import msgspec

from clienteling import db
from clienteling.metrics import AUDIT_BATCH_ENTRIES, AUDIT_WRITE_SECONDS
from clienteling.policy_store import PolicyStore
from clienteling.repositories import audit as repo
from domain.audit import GENESIS_HASH, AuditRecord, ChainVerdict, ChainVerifier, entry_hash
from domain.errors import Forbidden, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.staff import Principal

__all__ = ["AuditTrail", "AuditEntryView", "RequestEntries", "visible_fields"]


# An entry as compliance officers read it: the chained record's fields (camelCase on the
# wire, like the rest of the API) plus the entry's own hash. Derived from AuditRecord, whose
# own field names must not change: they are part of the hashed canonical encoding.
AuditEntryView = msgspec.defstruct(
    "AuditEntryView",
    [*((name, hint) for name, hint in get_type_hints(AuditRecord).items()), ("hash", str)],
    rename="camel",
    frozen=True,
    kw_only=True,
    module=__name__,
)


def visible_fields(access: dict[str, str]) -> list[str]:
    """Field names a decision let through, masked ones marked: ``["email:masked", ...]``."""
    return sorted(f if a == "full" else f"{f}:{a}" for f, a in access.items() if a != "none")


# At most this many entries per chain transaction; the rest wait for the next one.
MAX_BATCH = 200

_Draft = dict[str, Any]


class _GroupCommit:
    """Collects the drafts submitted on one event loop and writes them with ``flush`` in as
    few chain transactions as the load allows: a writer task drains the queue while drafts
    keep arriving, then ends. Each submitter gets its entries' sequence numbers, or the
    exception that stopped its batch (so a database outage fails every read it covers)."""

    def __init__(self, flush: Callable[[list[_Draft]], Awaitable[list[int]]]) -> None:
        self._flush = flush
        self._pending: list[tuple[list[_Draft], asyncio.Future[list[int]]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, drafts: list[_Draft]) -> list[int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._pending.append((drafts, future))
        if self._writer is None:
            # A fresh context: the writer must not inherit a caller's transaction or request.
            self._writer = loop.create_task(self._drain(), context=contextvars.Context())
        return await future

    def _take(self) -> list[tuple[list[_Draft], asyncio.Future[list[int]]]]:
        """The submissions for the next chain transaction: whole submissions (a request's
        entries stay together), up to MAX_BATCH entries unless one alone is larger."""
        taken, size = [], 0
        while self._pending and (not taken or size + len(self._pending[0][0]) <= MAX_BATCH):
            item = self._pending.pop(0)
            taken.append(item)
            size += len(item[0])
        return taken

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._take()
                try:
                    seqs = await self._flush([draft for drafts, _ in batch for draft in drafts])
                except Exception as exc:  # noqa: BLE001 - handed to every submitter of the batch
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:
                    for _, future in batch:
                        future.cancel()
                    raise
                start = 0
                for drafts, future in batch:
                    if not future.done():
                        future.set_result(seqs[start:start + len(drafts)])
                    start += len(drafts)
        except BaseException:
            # Cancelled (the loop is shutting down): nobody is left to write the rest.
            for _, future in self._pending:
                future.cancel()
            self._pending = []
            raise
        finally:
            self._writer = None


class RequestEntries:
    """The read entries of one HTTP request, held until the response is about to be sent
    and then appended together (api.audit_flush does that). Once flushed, the buffer is
    closed: later entries (a streamed body, a background task) are appended at once."""

    __slots__ = ("drafts", "closed")

    def __init__(self) -> None:
        self.drafts: list[_Draft] = []
        self.closed = False


_request_entries: contextvars.ContextVar[RequestEntries | None] = contextvars.ContextVar("audit_request_entries", default=None)


class AuditTrail:
    def __init__(self, policies: PolicyStore) -> None:
        self.policies = policies
        # One queue per event loop (a process has one; the test suite makes one per test).
        self._groups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _GroupCommit] = weakref.WeakKeyDictionary()
        self._last_group: tuple[weakref.ref[asyncio.AbstractEventLoop], _GroupCommit] | None = None

    async def record(
        self,
        actor: Principal | None,
        *,
        action: str,
        customer_ids: Iterable[UUID],
        fields: Iterable[str] = (),
        purpose: str | None = None,
        reference: str | None = None,
        surface: str | None = None,
        operation: str | None = None,
    ) -> int | None:
        """Append one entry; returns its sequence number once it is durable. Inside a
        transaction the entry joins it. Outside one, during an HTTP request (see
        :meth:`deferring`), it is held and appended with the request's other entries before
        the response is sent (None is returned); otherwise it is group-committed with the
        concurrent entries of other requests. ``actor`` None means the system itself (retention jobs)."""
        started = time.perf_counter()
        draft: _Draft = dict(
            occurred_at=dt.datetime.now(dt.timezone.utc),
            actor_id=str(actor.staff_id) if actor else None,
            actor_role=actor.role.value if actor else "system",
            actor_stores=sorted(str(s) for s in actor.store_ids) if actor else [],
            device_id=actor.device_id if actor else None,
            surface=surface or (actor.surface if actor else "system"),
            operation=(operation or (actor.operation if actor else "") or "")[:120],
            action=action,
            # Normalized here, so a malformed id fails its own caller, not a whole batch.
            customer_ids=sorted({str(c) if type(c) is UUID else str(UUID(str(c))) for c in customer_ids}),
            fields=sorted(set(fields)),
            purpose=purpose,
            reference=reference,
            request_id=actor.request_id if actor else None,
        )
        if db.current_engine().transaction_exists():
            (seq,) = await self._append([draft])
        else:
            pending = _request_entries.get()
            if pending is not None and not pending.closed:
                pending.drafts.append(draft)
                return None
            (seq,) = await self._group().submit([draft])
        AUDIT_WRITE_SECONDS.observe(time.perf_counter() - started)
        return seq

    def _group(self) -> _GroupCommit:
        loop = asyncio.get_running_loop()
        last = self._last_group
        if last is not None and last[0]() is loop:  # a process has one loop: skip the weak mapping
            return last[1]
        group = self._groups.get(loop)
        if group is None:
            group = self._groups[loop] = _GroupCommit(self._append)
        self._last_group = (weakref.ref(loop), group)
        return group

    @contextlib.contextmanager
    def deferring(self) -> Iterator[RequestEntries]:
        """Hold the read entries recorded in this context (one HTTP request) for
        :meth:`flush`, which must run before any of the response leaves."""
        entries = RequestEntries()
        token = _request_entries.set(entries)
        try:
            yield entries
        finally:
            _request_entries.reset(token)

    async def flush(self, entries: RequestEntries) -> None:
        """Append the held entries in one chain transaction (shared with other requests'
        concurrent flushes) and close the buffer. Raises if they could not be written: the
        response must then not be sent."""
        entries.closed = True
        drafts, entries.drafts = entries.drafts, []
        if drafts:
            started = time.perf_counter()
            await self._group().submit(drafts)
            AUDIT_WRITE_SECONDS.observe(time.perf_counter() - started)

    @staticmethod
    async def _append(drafts: list[_Draft]) -> list[int]:
        """Chain ``drafts`` after the last entry in one transaction (or the caller's)."""
        async with db.transaction():
            last = await repo.chain_head()
            seq, prev = (last[0], last[1]) if last else (0, GENESIS_HASH)
            entries = []
            for draft in drafts:
                seq += 1
                record = AuditRecord(seq=seq, prev_hash=prev, **draft)
                prev = entry_hash(record)
                entries.append((record, prev))
            await repo.append_many(entries)
        AUDIT_BATCH_ENTRIES.observe(len(entries))
        return [record.seq for record, _ in entries]

    async def verify(self) -> ChainVerdict:
        """Walk the whole chain in sequence order, in constant memory; the verdict names the
        first entry that does not fit."""
        verifier = ChainVerifier()
        async for record, stored in repo.iterate():
            bad = verifier.feed(record, stored)
            if bad is not None:
                return bad
        return verifier.verdict()

    async def query(
        self,
        principal: Principal,
        *,
        customer_id: UUID | None,
        actor_id: UUID | None,
        action: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int | None,
        cursor: str | None,
    ) -> Page[AuditEntryView]:
        self.require_reader(principal)
        limit = check_limit(limit)
        before = None
        if cursor:
            (value,) = decode_cursor(cursor, 1)
            if not isinstance(value, int):
                raise ValidationFailed("The cursor is not valid", extra={"field": "cursor"})
            before = value
        if since and until and since >= until:
            raise ValidationFailed("from must be before to", extra={"field": "from"})
        rows = await repo.page(customer_id=customer_id, actor_id=actor_id, action=action, since=since, until=until, before_seq=before, limit=limit)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            AuditEntryView(hash=r["hash"], **msgspec.structs.asdict(repo.to_record(r)))
            for r in rows
        ]
        return Page(items=items, next_cursor=encode_cursor([rows[-1]["seq"]]) if more else None)

    def require_reader(self, principal: Principal) -> None:
        if not self.policies.current.allows(principal.role, "read_audit"):
            raise Forbidden("Your role may not read the audit trail")
