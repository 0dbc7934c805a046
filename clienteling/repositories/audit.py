"""Audit trail storage: a serialized append and ordered reads. There is no update or
delete here, by design."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import msgspec
from piccolo.engine.postgres import PostgresEngine

from clienteling import db
from clienteling.tables import AuditEntry, AuditSubject
from domain.audit import AuditRecord

__all__ = ["lock_chain", "last_link", "append", "append_many", "iterate", "page"]

# Any constant works; it names "the audit chain" among PostgreSQL advisory locks.
_CHAIN_LOCK = 0x436C69656E74  # "Client"


async def lock_chain() -> None:
    """Serialize appenders until the surrounding transaction ends. PostgreSQL: an advisory
    transaction lock shared by every process. SQLite: the write transaction (BEGIN
    IMMEDIATE) already holds the database's single write lock."""
    if isinstance(db.current_engine(), PostgresEngine):
        await AuditEntry.raw("SELECT pg_advisory_xact_lock({})", _CHAIN_LOCK).run()


async def last_link() -> tuple[int, str] | None:
    rows = await AuditEntry.raw("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1").run()
    return (rows[0]["seq"], rows[0]["hash"]) if rows else None


def _row(record: AuditRecord, entry_hash: str) -> AuditEntry:
    return AuditEntry(
        seq=record.seq, occurred_at=record.occurred_at, actor_id=UUID(record.actor_id) if record.actor_id else None,
        actor_role=record.actor_role, actor_stores=record.actor_stores, device_id=record.device_id,
        surface=record.surface, operation=record.operation, action=record.action, customer_ids=record.customer_ids,
        fields=record.fields, purpose=record.purpose, reference=record.reference, request_id=record.request_id,
        prev_hash=record.prev_hash, hash=entry_hash,
    )


async def append(record: AuditRecord, entry_hash: str) -> None:
    await append_many([(record, entry_hash)])


# SQLite binds at most 32,766 parameters per statement; three per subject row.
_SQLITE_SUBJECT_ROWS = 5000


# PostgreSQL: the entries and their subjects in one statement whose text never changes
# (so it is prepared once per connection), whatever the number of entries and customers.
_COLUMNS = ("seq", "occurred_at", "actor_id", "actor_role", "actor_stores", "device_id", "surface", "operation",
            "action", "customer_ids", "fields", "purpose", "reference", "request_id", "prev_hash", "hash")
_JSON_COLUMNS = {"actor_stores", "customer_ids", "fields"}
_ARRAY_TYPES = {"seq": "bigint[]", "occurred_at": "timestamptz[]", "actor_id": "uuid[]"}
_PG_APPEND = (
    "WITH entry AS (INSERT INTO audit_entry ({cols}) SELECT {values} FROM unnest({arrays}) AS t({cols})) "
    "INSERT INTO audit_subject (id, seq, customer) SELECT gen_random_uuid(), s, c FROM unnest({{}}::bigint[], {{}}::uuid[]) AS u(s, c)"
).format(
    cols=", ".join(_COLUMNS),
    values=", ".join(f"{c}::json" if c in _JSON_COLUMNS else c for c in _COLUMNS),
    arrays=", ".join(f"{{}}::{_ARRAY_TYPES.get(c, 'text[]')}" for c in _COLUMNS),
)


_json = msgspec.json.Encoder()


def _columns(entries: list[tuple[AuditRecord, str]]) -> list[list[Any]]:
    """One list per column of ``_COLUMNS`` (JSON columns as JSON text), for ``unnest``."""
    out: list[list[Any]] = [[] for _ in _COLUMNS]
    for record, entry_hash in entries:
        values = msgspec.structs.asdict(record)
        values["actor_id"] = UUID(record.actor_id) if record.actor_id else None
        values["hash"] = entry_hash
        for column, name in zip(out, _COLUMNS):
            value = values[name]
            column.append(_json.encode(value).decode() if name in _JSON_COLUMNS else value)
    return out



async def append_many(entries: list[tuple[AuditRecord, str]]) -> None:
    """Insert consecutive chained entries and their subjects (PostgreSQL: one statement,
    whatever the number of entries and customers; a sync page names up to 2,000)."""
    if not entries:
        return
    pairs = [(record.seq, UUID(c)) for record, _ in entries for c in record.customer_ids]
    if isinstance(AuditEntry._meta.db, PostgresEngine):
        await AuditEntry.raw(_PG_APPEND, *_columns(entries), [p[0] for p in pairs], [p[1] for p in pairs]).run()
        return
    await AuditEntry.insert(*[_row(record, h) for record, h in entries]).run()
    for start in range(0, len(pairs), _SQLITE_SUBJECT_ROWS):
        chunk = pairs[start:start + _SQLITE_SUBJECT_ROWS]
        await AuditSubject.insert(*[AuditSubject(id=uuid4(), seq=seq, customer=c) for seq, c in chunk]).run()


def to_record(row: dict[str, Any]) -> AuditRecord:
    return AuditRecord(
        seq=row["seq"], occurred_at=row["occurred_at"], actor_id=str(row["actor_id"]) if row["actor_id"] else None,
        actor_role=row["actor_role"], actor_stores=row["actor_stores"], device_id=row["device_id"],
        surface=row["surface"], operation=row["operation"], action=row["action"], customer_ids=row["customer_ids"],
        fields=row["fields"], purpose=row["purpose"], reference=row["reference"], request_id=row["request_id"],
        prev_hash=row["prev_hash"],
    )


async def iterate(batch: int = 2000) -> AsyncIterator[tuple[AuditRecord, str]]:
    """Every entry in sequence order, read in batches."""
    after = 0
    while True:
        rows = await AuditEntry.select().where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(batch).output(load_json=True).run()
        for row in rows:
            yield to_record(row), row["hash"]
        if len(rows) < batch:
            return
        after = rows[-1]["seq"]


async def page(*, customer_id: UUID | None, actor_id: UUID | None, action: str | None, since: dt.datetime | None, until: dt.datetime | None, before_seq: int | None, limit: int) -> list[dict[str, Any]]:
    """Newest first, up to ``limit + 1`` rows."""
    where = AuditEntry.seq > 0
    if customer_id is not None:
        subjects = await AuditSubject.select(AuditSubject.seq).where(AuditSubject.customer == customer_id).run()
        seqs = sorted({s["seq"] for s in subjects})
        if not seqs:
            return []
        where = where & AuditEntry.seq.is_in(seqs)
    if actor_id is not None:
        where = where & (AuditEntry.actor_id == actor_id)
    if action is not None:
        where = where & (AuditEntry.action == action)
    if since is not None:
        where = where & (AuditEntry.occurred_at >= since)
    if until is not None:
        where = where & (AuditEntry.occurred_at < until)
    if before_seq is not None:
        where = where & (AuditEntry.seq < before_seq)
    return await AuditEntry.select().where(where).order_by(AuditEntry.seq, ascending=False).limit(limit + 1).output(load_json=True).run()
