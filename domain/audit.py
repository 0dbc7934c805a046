"""The audit trail's pure rules: the canonical encoding of an entry, the hash chain, and its
verification.

Each entry's hash is SHA-256 over the canonical JSON of every field but the hash itself,
including ``prev_hash``, the previous entry's hash. Sequence numbers start at 1 and have no
gaps. Changing, removing or inserting an entry therefore breaks either a hash, a link or
the sequence at a point :func:`verify_chain` names."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Literal

import msgspec

__all__ = ["GENESIS_HASH", "AuditRecord", "ChainVerdict", "ChainVerifier", "entry_hash", "verify_chain", "ACTIONS"]

GENESIS_HASH = "0" * 64

ACTIONS = (
    "read", "list", "search", "create", "update", "note_read", "note_create", "break_glass",
    "consent_read", "consent_record", "export", "erase", "restrict", "unrestrict", "retention_erase",
    "task_read", "task_write", "appointment_read", "appointment_write", "wishlist_read", "wishlist_write",
    "purchase_read", "timeline_read",
)


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    occurred_at: dt.datetime
    actor_id: str | None
    actor_role: str
    actor_stores: list[str]
    device_id: str | None
    surface: str
    operation: str
    action: str
    customer_ids: list[str]
    fields: list[str]
    purpose: str | None
    reference: str | None
    request_id: str | None
    prev_hash: str


_encoder = msgspec.json.Encoder(order="deterministic")


def entry_hash(record: AuditRecord) -> str:
    """SHA-256 of the canonical encoding (fields in declaration order, UTC microseconds)."""
    canonical = msgspec.structs.replace(record, occurred_at=record.occurred_at.astimezone(dt.timezone.utc))
    return hashlib.sha256(_encoder.encode(canonical)).hexdigest()


class ChainVerdict(msgspec.Struct, rename="camel", omit_defaults=True):
    ok: bool
    entries: int
    first_bad_entry: int | None = None
    problem: Literal["hash_mismatch", "broken_link", "sequence_gap"] | None = None


class ChainVerifier:
    """Checks ``(record, stored_hash)`` pairs fed one at a time in sequence order, so a chain
    of any length is verified in constant memory. :meth:`feed` returns the verdict at the
    first bad entry (and nothing until then); :meth:`verdict` is the verdict so far."""

    def __init__(self) -> None:
        self._expected_seq = 1
        self._prev = GENESIS_HASH
        self._count = 0

    def feed(self, record: AuditRecord, stored: str) -> ChainVerdict | None:
        self._count += 1
        count = self._count
        if record.seq != self._expected_seq:
            first_bad = self._expected_seq if record.seq > self._expected_seq else record.seq
            return ChainVerdict(ok=False, entries=count, first_bad_entry=first_bad, problem="sequence_gap")
        if record.prev_hash != self._prev:
            return ChainVerdict(ok=False, entries=count, first_bad_entry=record.seq, problem="broken_link")
        if entry_hash(record) != stored:
            return ChainVerdict(ok=False, entries=count, first_bad_entry=record.seq, problem="hash_mismatch")
        self._prev = stored
        self._expected_seq += 1
        return None

    def verdict(self) -> ChainVerdict:
        return ChainVerdict(ok=True, entries=self._count)


def verify_chain(entries: Iterable[tuple[AuditRecord, str]]) -> ChainVerdict:
    """Check ``(record, stored_hash)`` pairs in sequence order; stop at the first bad one."""
    verifier = ChainVerifier()
    for record, stored in entries:
        bad = verifier.feed(record, stored)
        if bad is not None:
            return bad
    return verifier.verdict()
