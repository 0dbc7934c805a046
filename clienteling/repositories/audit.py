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

__all__ = ["chain_head", "append", "append_many", "iterate", "page"]

# Any constant works; it names "the audit chain" among PostgreSQL advisory locks.
_CHAIN_LOCK = 0x436C69656E74  # "Client"


async def chain_head() -> tuple[int, str] | None:
    """Take the chain lock, serializing appenders until the surrounding transaction ends,
    and return the last link (None for an empty chain). PostgreSQL: an advisory transaction
    lock shared by every process, taken and followed by the read in one statement
    (``audit_chain_head``, migration 2026-11-24T07:30:00: its read sees what the previous
    holder committed). SQLite: the write transaction (BEGIN IMMEDIATE) already holds the
    database's single write lock."""
    if isinstance(db.current_engine(), PostgresEngine):
        rows = await AuditEntry.raw("SELECT seq, hash FROM audit_chain_head({})", _CHAIN_LOCK).run()
    else:
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
# The entries travel as one JSON array (msgspec encodes it in one C call), not as one
# array parameter per column: asyncpg encodes array parameters element by element, which
# cost about as much as the rest of a live-alert delivery's audit entry.
_COLUMNS = ("seq", "occurred_at", "actor_id", "actor_role", "actor_stores", "device_id", "surface", "operation",
            "action", "customer_ids", "fields", "purpose", "reference", "request_id", "prev_hash", "hash")
_COLUMN_TYPES = {"seq": "bigint", "occurred_at": "timestamptz", "actor_id": "uuid", "actor_stores": "json",
                 "customer_ids": "json", "fields": "json"}
_PG_APPEND = (
    "WITH t AS (SELECT * FROM json_to_recordset({{}}::json) AS t({typed})), "
    "entry AS (INSERT INTO audit_entry ({cols}) SELECT {cols} FROM t) "
    "INSERT INTO audit_subject (id, seq, customer) "
    "SELECT gen_random_uuid(), t.seq, c::uuid FROM t CROSS JOIN json_array_elements_text(t.customer_ids) AS c"
).format(
    cols=", ".join(_COLUMNS),
    typed=", ".join(f"{c} {_COLUMN_TYPES.get(c, 'text')}" for c in _COLUMNS),
)

_json = msgspec.json.Encoder()


def _entries_json(entries: list[tuple[AuditRecord, str]]) -> str:
    """The entries as one JSON array of objects named like ``_COLUMNS`` (timestamps in
    RFC 3339 with microseconds, so PostgreSQL reads back the instant that was hashed)."""
    rows = []
    for record, entry_hash in entries:
        values = msgspec.structs.asdict(record)
        values["hash"] = entry_hash
        rows.append(values)
    return _json.encode(rows).decode()


async def append_many(entries: list[tuple[AuditRecord, str]]) -> None:
    """Insert consecutive chained entries and their subjects (PostgreSQL: one statement,
    whatever the number of entries and customers; a sync page names up to 2,000)."""
    if not entries:
        return
    if isinstance(AuditEntry._meta.db, PostgresEngine):
        await AuditEntry.raw(_PG_APPEND, _entries_json(entries)).run()
        return
    pairs = [(record.seq, UUID(c)) for record, _ in entries for c in record.customer_ids]
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
