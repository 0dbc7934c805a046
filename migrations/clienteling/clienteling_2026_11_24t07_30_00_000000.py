"""The audit chain's head in one statement: take the chain lock, then read the last link.

Why: every append (a request's read entries, a write's entry, a group commit of live-alert
deliveries) ran ``SELECT pg_advisory_xact_lock(...)`` and then ``SELECT seq, hash FROM
audit_entry ORDER BY seq DESC LIMIT 1``: two round trips while holding nothing else. As one
statement the read would use the snapshot taken when the statement started, before the lock
was granted, and could miss the entry the previous holder committed meanwhile (a fork). In a
VOLATILE PL/pgSQL function each statement takes its own snapshot (READ COMMITTED, what the
application runs), so the read inside ``audit_chain_head`` sees everything committed before
the lock was granted, as the second statement did.

SQLite: nothing to do (its write transaction is the lock; see clienteling/repositories/audit.py).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-24T07:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit: lock the chain and read its last link in one statement"

POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_chain_head(lock_key bigint) RETURNS TABLE (seq bigint, hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    -- a new snapshot, taken after the lock was granted
    RETURN QUERY SELECT e.seq, e.hash::text FROM audit_entry e ORDER BY e.seq DESC LIMIT 1;
END
$$""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clienteling", description=DESCRIPTION)

    async def chain_head() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES:
                await engine.run_ddl(statement)

    manager.add_raw(chain_head)
    return manager
