"""The access audit: append entries to the hash chain, verify it, and query it.

Design: an entry is appended inside a database transaction that first takes the chain lock
(a PostgreSQL advisory transaction lock shared by all processes; on SQLite the database write
lock), reads the last link and inserts ``seq + 1`` with the hash over its content and the
previous hash. Appends are therefore serialized: no forks, no gaps, with any number of app
processes. A write's entry joins the write's own transaction (both commit or neither); a
read's entry commits before the response is returned, so no personal data leaves without a
durable record of it. ``record`` must be the last statement of a transaction, so the chain
lock is held only for the insert and never while waiting on row locks."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from typing import get_type_hints
from uuid import UUID

import msgspec

from clienteling import db
from clienteling.metrics import AUDIT_WRITE_SECONDS
from clienteling.policy_store import PolicyStore
from clienteling.repositories import audit as repo
from domain.audit import GENESIS_HASH, AuditRecord, ChainVerdict, entry_hash, verify_chain
from domain.errors import Forbidden, ValidationFailed
from domain.pagination import Page, check_limit, decode_cursor, encode_cursor
from domain.staff import Principal

__all__ = ["AuditTrail", "AuditEntryView", "visible_fields"]


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


class AuditTrail:
    def __init__(self, policies: PolicyStore) -> None:
        self.policies = policies

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
    ) -> int:
        """Append one entry; returns its sequence number. ``actor`` None means the system
        itself (retention jobs)."""
        now = dt.datetime.now(dt.timezone.utc)
        started = time.perf_counter()
        async with db.transaction():
            await repo.lock_chain()
            last = await repo.last_link()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
            record = AuditRecord(
                seq=seq,
                occurred_at=now,
                actor_id=str(actor.staff_id) if actor else None,
                actor_role=actor.role.value if actor else "system",
                actor_stores=sorted(str(s) for s in actor.store_ids) if actor else [],
                device_id=actor.device_id if actor else None,
                surface=surface or (actor.surface if actor else "system"),
                operation=(operation or (actor.operation if actor else "") or "")[:120],
                action=action,
                customer_ids=sorted({str(c) for c in customer_ids}),
                fields=sorted(set(fields)),
                purpose=purpose,
                reference=reference,
                request_id=actor.request_id if actor else None,
                prev_hash=prev,
            )
            await repo.append(record, entry_hash(record))
        AUDIT_WRITE_SECONDS.observe(time.perf_counter() - started)
        return seq

    async def verify(self) -> ChainVerdict:
        """Walk the whole chain; the verdict names the first entry that does not fit."""
        records = [item async for item in repo.iterate()]
        return verify_chain(records)

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
