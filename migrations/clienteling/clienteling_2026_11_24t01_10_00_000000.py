"""Customer name search by store: one GIN index on ``(home_store, name_key gin_trgm_ops)``.

Why: a store's associate searches only the customers of their stores, but with a trigram
index on the name alone every search matched the name over the whole table first (the
common ``maria`` alone has tens of thousands of index entries on 200,000 customers) and the
store was filtered out afterwards, row by row. With the store in the same GIN index
(``btree_gin`` gives ``uuid`` a GIN operator class), the index scan itself keeps only the
store's rows, and the table is visited for those alone.

This index replaces ``customer_name_key_trgm``: a multicolumn GIN index serves a condition
on any subset of its columns as well as a single-column one, so searches over every store
or over a client book use it on the name alone, and every write to a customer maintains one
trigram index instead of two.

SQLite: nothing to do (its search uses the FTS5 table of migration 2026-11-23T21:00:00).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-24T01:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "customer search: one GIN index on (home_store, name_key trigrams)"

POSTGRES = [
    # A trusted extension (PostgreSQL 13+), shipped with postgresql-contrib like pg_trgm.
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE INDEX IF NOT EXISTS customer_store_name_key_trgm ON customer USING gin (home_store, name_key gin_trgm_ops)",
    "DROP INDEX IF EXISTS customer_name_key_trgm",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clienteling", description=DESCRIPTION)

    async def store_name_index() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES:  # one per call: prepared statements take one command
                await engine.run_ddl(statement)

    manager.add_raw(store_name_index)
    return manager
