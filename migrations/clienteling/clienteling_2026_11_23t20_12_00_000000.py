"""The audit trail is append-only on PostgreSQL: triggers refuse UPDATE, DELETE and TRUNCATE.

SQLite has no equivalent guard; there the hash chain alone makes tampering evident."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-23T20:12:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit trail is append-only on PostgreSQL"

STATEMENTS = [
    """
CREATE OR REPLACE FUNCTION clienteling_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$""",
    *[
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION clienteling_audit_append_only()"
        for table in ("audit_entry", "audit_subject")
    ],
    *[
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION clienteling_audit_append_only()"
        for table in ("audit_entry", "audit_subject")
    ],
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clienteling", description=DESCRIPTION)

    async def append_only() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in STATEMENTS:  # one per call: prepared statements take one command
                await engine.run_ddl(statement)

    manager.add_raw(append_only)
    return manager
