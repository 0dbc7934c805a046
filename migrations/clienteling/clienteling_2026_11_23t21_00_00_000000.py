"""Typo-tolerant customer search indexes, one kind per engine.

PostgreSQL: ``pg_trgm`` and GIN trigram indexes on ``customer.name_key`` (the ``<%``
word-similarity operator used by the search) and on ``customer.phone_key`` (a phone typed
in any formatting is matched as ``LIKE '%digits%'``). ``unaccent`` is deliberately not used:
``name_key`` is already folded in Python (``domain.text.fold``: lower case, diacritics
stripped, ß->ss, ł->l ...) and queries are folded by the same function, so the index holds
exactly what is compared. An ``unaccent()`` index expression would need an immutable wrapper
and could fold some letters differently from Python. ``email_key`` (btree) and
``loyalty_number`` (unique) already serve their exact matches.

SQLite: an FTS5 table with the ``trigram`` tokenizer over `` name_key `` (hyphens, apostrophes
and full stops turned into spaces, as pg_trgm and domain.search split words on them, and
padded with a space each side, so word starts and ends are trigrams too), kept in step with
``customer`` by
triggers, so every writer (services, seeding, erasure, test factories) maintains it in the
writer's own transaction. FTS5 rows are keyed by ``customer_name_search_id.id``, a stable
integer per customer: the customer table's implicit rowid may change on VACUUM. Existing
customers are backfilled.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

ID = "2026-11-23T21:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "customer search: pg_trgm indexes on PostgreSQL, FTS5 trigram index on SQLite"

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_name_key_trgm ON customer USING gin (name_key gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_phone_key_trgm ON customer USING gin (phone_key gin_trgm_ops)",
]

_SEARCH_ID = "(SELECT id FROM customer_name_search_id WHERE customer_id = {row}.id)"
_TEXT = "' ' || replace(replace(replace({row}.name_key, '-', ' '), '''', ' '), '.', ' ') || ' '"

SQLITE = [
    """CREATE TABLE IF NOT EXISTS customer_name_search_id (
    id INTEGER PRIMARY KEY,
    customer_id UUID NOT NULL UNIQUE
)""",
    "CREATE VIRTUAL TABLE IF NOT EXISTS customer_name_fts USING fts5(name, tokenize = 'trigram')",
    # OR IGNORE / OR REPLACE: an upsert that replaces a row never leaves the index behind.
    f"""CREATE TRIGGER IF NOT EXISTS customer_name_fts_insert AFTER INSERT ON customer BEGIN
    INSERT OR IGNORE INTO customer_name_search_id (customer_id) VALUES (new.id);
    INSERT OR REPLACE INTO customer_name_fts (rowid, name) VALUES ({_SEARCH_ID.format(row="new")}, {_TEXT.format(row="new")});
END""",
    f"""CREATE TRIGGER IF NOT EXISTS customer_name_fts_update AFTER UPDATE OF name_key ON customer
WHEN old.name_key IS NOT new.name_key BEGIN
    UPDATE customer_name_fts SET name = {_TEXT.format(row="new")} WHERE rowid = {_SEARCH_ID.format(row="new")};
END""",
    f"""CREATE TRIGGER IF NOT EXISTS customer_name_fts_delete AFTER DELETE ON customer BEGIN
    DELETE FROM customer_name_fts WHERE rowid = {_SEARCH_ID.format(row="old")};
    DELETE FROM customer_name_search_id WHERE customer_id = old.id;
END""",
    "INSERT OR IGNORE INTO customer_name_search_id (customer_id) SELECT id FROM customer",
    f"""INSERT OR REPLACE INTO customer_name_fts (rowid, name)
SELECT s.id, {_TEXT.format(row="c")} FROM customer c JOIN customer_name_search_id s ON s.customer_id = c.id""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clienteling", description=DESCRIPTION)

    async def search_indexes() -> None:
        engine = engine_finder()
        statements = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE if isinstance(engine, SQLiteEngine) else []
        for statement in statements:  # one per call: prepared statements take one command
            await engine.run_ddl(statement)

    manager.add_raw(search_indexes)
    return manager
