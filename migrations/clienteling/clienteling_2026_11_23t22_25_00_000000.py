"""Offline sync change sequence: database triggers stamp every synced row with a strictly
increasing position (``sync_seq``) and record removals.

Why triggers: every path that writes a customer, note, task, appointment, wishlist item or
consent record (services, webhooks, erasure, retention, demo data) moves it in the feed
without each one having to remember.

Why at commit (PostgreSQL): transactions can commit out of the order in which they would take
numbers from a sequence, and a pull reading "everything after N" would then skip a row that
commits late. The stamp is a DEFERRABLE INITIALLY DEFERRED constraint trigger: it runs at
commit, and the counter row it increments stays locked until that commit ends, so positions
are handed out in commit order. SQLite serialises writers, so plain triggers are enough there.

A consent record also stamps its customer (consent gates which fields the customer document
shows). A customer leaving a store or a client book, and any hard delete, leaves a
``sync_removal`` row so tablets that held the document receive a tombstone.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-23T22:25:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "offline sync: change-sequence and removal triggers"

SYNCED = ("customer", "consent_record", "note", "wishlist_item", "task", "appointment")
# The customer a row belongs to (for removals): column name per table.
OWNER = {"consent_record": "customer", "note": "customer", "wishlist_item": "customer", "task": "customer", "appointment": "customer"}
COLLECTION = {
    "customer": "Customer",
    "consent_record": "Consent",
    "note": "Note",
    "wishlist_item": "WishlistItem",
    "task": "Task",
    "appointment": "Appointment",
}

PG_STATEMENTS = [
    "INSERT INTO sync_counter (name, value) VALUES ('sync', 0) ON CONFLICT (name) DO NOTHING",
    """
CREATE OR REPLACE FUNCTION clienteling_sync_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
  INSERT INTO sync_counter (name, value) VALUES ('sync', 1)
    ON CONFLICT (name) DO UPDATE SET value = sync_counter.value + 1
    RETURNING value INTO v;
  EXECUTE format('UPDATE %I SET sync_seq = $1 WHERE id = $2', TG_TABLE_NAME) USING v, NEW.id;
  IF TG_TABLE_NAME = 'consent_record' THEN
    UPDATE customer SET sync_seq = v WHERE id = NEW.customer;
  END IF;
  RETURN NULL;
END
$$""",
    """
CREATE OR REPLACE FUNCTION clienteling_sync_customer_exit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.home_store IS DISTINCT FROM NEW.home_store AND OLD.home_store IS NOT NULL THEN
    INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, store_id, created_at)
      VALUES (0, 'Customer', OLD.id::text, OLD.id, OLD.home_store, now());
  END IF;
  IF OLD.primary_associate IS NOT NULL AND OLD.primary_associate IS DISTINCT FROM NEW.primary_associate
     AND OLD.primary_associate IS DISTINCT FROM NEW.secondary_associate THEN
    INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, staff_id, created_at)
      VALUES (0, 'Customer', OLD.id::text, OLD.id, OLD.primary_associate, now());
  END IF;
  IF OLD.secondary_associate IS NOT NULL AND OLD.secondary_associate IS DISTINCT FROM NEW.secondary_associate
     AND OLD.secondary_associate IS DISTINCT FROM NEW.primary_associate THEN
    INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, staff_id, created_at)
      VALUES (0, 'Customer', OLD.id::text, OLD.id, OLD.secondary_associate, now());
  END IF;
  RETURN NULL;
END
$$""",
    """
CREATE OR REPLACE FUNCTION clienteling_sync_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, created_at)
    VALUES (0, TG_ARGV[0], OLD.id::text,
            CASE WHEN TG_TABLE_NAME = 'customer' THEN OLD.id ELSE (to_jsonb(OLD) ->> 'customer')::uuid END,
            now());
  RETURN NULL;
END
$$""",
    *[
        f"CREATE CONSTRAINT TRIGGER {table}_sync_stamp_insert AFTER INSERT ON {table} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION clienteling_sync_stamp()"
        for table in (*SYNCED, "sync_removal")
    ],
    *[
        f"CREATE CONSTRAINT TRIGGER {table}_sync_stamp_update AFTER UPDATE ON {table} "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "WHEN (NEW.sync_seq IS NOT DISTINCT FROM OLD.sync_seq) EXECUTE FUNCTION clienteling_sync_stamp()"
        for table in SYNCED
    ],
    "CREATE TRIGGER customer_sync_exit AFTER UPDATE ON customer FOR EACH ROW "
    "EXECUTE FUNCTION clienteling_sync_customer_exit()",
    *[
        f"CREATE TRIGGER {table}_sync_deleted AFTER DELETE ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION clienteling_sync_deleted('{COLLECTION[table]}')"
        for table in SYNCED
    ],
    # Keyset pulls walk (sync_seq, id); the customer pull also filters by home store.
    *[f"CREATE INDEX IF NOT EXISTS {table}_sync_seq_id ON {table} (sync_seq, id)" for table in SYNCED],
    "CREATE INDEX IF NOT EXISTS customer_store_sync_seq_id ON customer (home_store, sync_seq, id)",
    "CREATE INDEX IF NOT EXISTS sync_removal_seq_id ON sync_removal (sync_seq, id)",
]

_NOW = "strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')"
_BUMP = "INSERT INTO sync_counter (name, value) VALUES ('sync', 1) ON CONFLICT (name) DO UPDATE SET value = value + 1;"
_CURRENT = "(SELECT value FROM sync_counter WHERE name = 'sync')"


def _sqlite_statements() -> list[str]:
    out = ["INSERT INTO sync_counter (name, value) VALUES ('sync', 0) ON CONFLICT (name) DO NOTHING"]
    for table in (*SYNCED, "sync_removal"):
        extra = f" UPDATE customer SET sync_seq = {_CURRENT} WHERE id = NEW.customer;" if table == "consent_record" else ""
        out.append(
            f"CREATE TRIGGER {table}_sync_stamp_insert AFTER INSERT ON {table} BEGIN {_BUMP} "
            f"UPDATE {table} SET sync_seq = {_CURRENT} WHERE id = NEW.id;{extra} END"
        )
        if table == "sync_removal":
            continue
        out.append(
            f"CREATE TRIGGER {table}_sync_stamp_update AFTER UPDATE ON {table} "
            f"WHEN NEW.sync_seq IS OLD.sync_seq BEGIN {_BUMP} "
            f"UPDATE {table} SET sync_seq = {_CURRENT} WHERE id = NEW.id; END"
        )
        owner = "OLD.id" if table == "customer" else f"OLD.{OWNER[table]}"
        out.append(
            f"CREATE TRIGGER {table}_sync_deleted AFTER DELETE ON {table} BEGIN "
            "INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, created_at) "
            f"VALUES (0, '{COLLECTION[table]}', OLD.id, {owner}, {_NOW}); END"
        )
        out.append(f"CREATE INDEX IF NOT EXISTS {table}_sync_seq_id ON {table} (sync_seq, id)")
    out += [
        "CREATE TRIGGER customer_sync_exit_store AFTER UPDATE OF home_store ON customer "
        "WHEN OLD.home_store IS NOT NEW.home_store AND OLD.home_store IS NOT NULL BEGIN "
        "INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, store_id, created_at) "
        f"VALUES (0, 'Customer', OLD.id, OLD.id, OLD.home_store, {_NOW}); END",
        "CREATE TRIGGER customer_sync_exit_primary AFTER UPDATE OF primary_associate, secondary_associate ON customer "
        "WHEN OLD.primary_associate IS NOT NULL AND OLD.primary_associate IS NOT NEW.primary_associate "
        "AND OLD.primary_associate IS NOT NEW.secondary_associate BEGIN "
        "INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, staff_id, created_at) "
        f"VALUES (0, 'Customer', OLD.id, OLD.id, OLD.primary_associate, {_NOW}); END",
        "CREATE TRIGGER customer_sync_exit_secondary AFTER UPDATE OF primary_associate, secondary_associate ON customer "
        "WHEN OLD.secondary_associate IS NOT NULL AND OLD.secondary_associate IS NOT NEW.secondary_associate "
        "AND OLD.secondary_associate IS NOT NEW.primary_associate BEGIN "
        "INSERT INTO sync_removal (sync_seq, collection, doc_id, customer_id, staff_id, created_at) "
        f"VALUES (0, 'Customer', OLD.id, OLD.id, OLD.secondary_associate, {_NOW}); END",
        "CREATE INDEX IF NOT EXISTS customer_store_sync_seq_id ON customer (home_store, sync_seq, id)",
        "CREATE INDEX IF NOT EXISTS sync_removal_seq_id ON sync_removal (sync_seq, id)",
    ]
    return out


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clienteling", description=DESCRIPTION)

    async def triggers() -> None:
        engine = engine_finder()
        statements = PG_STATEMENTS if isinstance(engine, PostgresEngine) else _sqlite_statements()
        for statement in statements:  # one per call: prepared statements take one command
            await engine.run_ddl(statement)

    manager.add_raw(triggers)
    return manager
