"""Customer name search by exact words: a table of the distinct name words, and an index of
each customer's words by store (PostgreSQL only).

Why: the trigram index on ``(home_store, name_key)`` (migration 2026-11-24T01:10:00) hands a
typo search every row of the store that shares trigrams with the query (about 1,400 rows of
a 20,000-customer store for "maria gheorghlu"), and each is rechecked with
``strict_word_similarity``: most of the search's time. But :mod:`domain.search` decides per
word (a query word is a name word, starts one, or is close to one by trigram similarity), so
the database can look the query words up among the few thousand distinct words of all
names first, and then fetch exactly the customers having one of the matching words for every
query word, from an index of whole words, without any recheck.

- ``customer_name_words(name_key)``: the words of a folded name as the search splits them
  (runs of letters and digits, as ``domain.search.words``; PostgreSQL's ``[[:alnum:]]``
  follows the database's ``LC_CTYPE``, which must be a UTF-8 locale, as ``C.UTF-8`` or
  ``en_US.UTF-8``, for names in non-Latin scripts: pg_trgm needs the same).
- ``customer_store_name_words``: GIN on ``(home_store, customer_name_words(name_key))``
  (``btree_gin`` for the store): ``words && ARRAY[...]`` per query word, the store inside the
  index search.
- ``customer_name_word(word)``: every word used by at least one customer row, live,
  soft-deleted or not yet erased, with a GIN trigram index for the typo lookup
  (``customer_name_word_matches``). Triggers keep it in step with ``customer`` in the
  writer's transaction, whoever writes (services, erasure, imports, test factories).
  A word no customer row uses any more is deleted with the last row's change: erasure
  rewrites the name to "Erased Erased", and a rare surname would single the person out.

Concurrency (READ COMMITTED, PostgreSQL's default and what the application runs): there is
no use count, so writers of customers sharing a common word ("maria") never update, and so
never queue on, the same word row. A writer adding a name takes ``FOR KEY SHARE`` locks on
its words (inserting the missing ones first), which do not conflict with one another, as a
foreign key check does. A writer removing a name's words looks whether each is still used;
only for a word that looks unused it locks the word ``FOR UPDATE`` (waiting for any
transaction that is adding a customer with it) and looks again with a fresh snapshot
before deleting it; an adder finding its word deleted meanwhile inserts it again. Both take
their locks in word order, so two single-row writes never deadlock; a deadlock needs two
multi-row transactions where one adds the word that the other is deleting as its last use,
and PostgreSQL then aborts one of them (the caller may retry). Cost, measured on 200,000
customers: about 0.15 ms more per customer insert, and about 3 ms per rename or deletion
that drops a common word ("maria": its GIN posting list is read to see it is still used).
Under REPEATABLE READ the
second look would not see a customer committed meanwhile: keep name writes in READ
COMMITTED (SERIALIZABLE is safe: its conflict detection aborts one of the two).

The old trigram index is dropped: after this change only ``customer_name_word`` is searched
by trigrams (SQLite keeps its FTS5 table, see migration 2026-11-23T21:00:00).

``customer_name_word_rebuild()`` recomputes the table from ``customer`` (the migration fills
it with it; a bulk load that ran with triggers off calls it).

SQLite: nothing to do.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-11-24T06:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "customer search: distinct name words with a trigram index, customers by exact word"

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    # Immutable and inlined (a plain SQL expression), so the index expression and the
    # search's condition are the same expression.
    """CREATE OR REPLACE FUNCTION customer_name_words(name_key text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_remove(regexp_split_to_array(name_key, '[^[:alnum:]]+'), '')""",
    "CREATE TABLE IF NOT EXISTS customer_name_word (word text PRIMARY KEY)",
    # No pending list (fastupdate off): a search never reads unmerged entries, and a
    # customer write adds only a few entries (its store and its words), or none to the
    # words' index.
    "CREATE INDEX IF NOT EXISTS customer_name_word_trgm ON customer_name_word USING gin (word gin_trgm_ops) WITH (fastupdate = off)",
    """CREATE INDEX IF NOT EXISTS customer_store_name_words ON customer
USING gin (home_store, customer_name_words(name_key)) WITH (fastupdate = off)""",
    # The words of customer_name_word close to each query word: pg_trgm similarity of at
    # least 0.3 (a margin under domain.search's 0.35, which Python applies exactly) or a
    # word start. The threshold is the function's own, whatever the session's.
    """CREATE OR REPLACE FUNCTION customer_name_word_matches(terms text[]) RETURNS TABLE (term integer, word text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET pg_trgm.similarity_threshold = 0.3
AS $$
BEGIN
    RETURN QUERY
    SELECT t.n::integer, w.word FROM unnest(terms) WITH ORDINALITY AS t(term, n)
    CROSS JOIN LATERAL (
        SELECT cw.word FROM customer_name_word cw WHERE cw.word % t.term OR cw.word LIKE t.term || '%'
    ) w;
END
$$""",
    # Make sure every word exists and hold it (FOR KEY SHARE) until commit, so no
    # concurrent release deletes it under a customer about to commit.
    """CREATE OR REPLACE FUNCTION customer_name_word_hold(added text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    wanted text[] := ARRAY(SELECT DISTINCT u FROM unnest(added) AS u WHERE u <> '' ORDER BY 1);
    held integer;
BEGIN
    IF cardinality(wanted) = 0 THEN
        RETURN;
    END IF;
    LOOP
        INSERT INTO customer_name_word (word) SELECT u FROM unnest(wanted) AS u ORDER BY 1 ON CONFLICT DO NOTHING;
        SELECT count(*) INTO held FROM (
            SELECT 1 FROM customer_name_word WHERE word = ANY (wanted) ORDER BY word FOR KEY SHARE
        ) AS locked;
        -- A word deleted by a concurrent release between the two statements: insert it again.
        EXIT WHEN held = cardinality(wanted);
    END LOOP;
END
$$""",
    # Delete the words that no customer row uses any more. Each statement of a volatile
    # function sees a fresh snapshot in READ COMMITTED: the second look, after the lock,
    # sees what a concurrent adder (waited for through the lock) committed. Only a bitmap
    # scan of the GIN index answers "does a row still use this word": the planner underrates
    # the regular expression, and a scan in name order hoping to meet the word soon would
    # read the whole table when the word is gone, the case that matters (a rare surname).
    """CREATE OR REPLACE FUNCTION customer_name_word_release(removed text[]) RETURNS void
LANGUAGE plpgsql
SET enable_seqscan = off SET enable_indexscan = off SET enable_indexonlyscan = off
AS $$
DECLARE
    w text;
BEGIN
    FOR w IN SELECT DISTINCT u FROM unnest(removed) AS u WHERE u <> '' ORDER BY 1 LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM customer c WHERE customer_name_words(c.name_key) @> ARRAY[w]);
        PERFORM 1 FROM customer_name_word WHERE word = w FOR UPDATE;
        IF FOUND AND NOT EXISTS (SELECT 1 FROM customer c WHERE customer_name_words(c.name_key) @> ARRAY[w]) THEN
            DELETE FROM customer_name_word WHERE word = w;
        END IF;
    END LOOP;
END
$$""",
    """CREATE OR REPLACE FUNCTION customer_name_word_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM customer_name_word_hold(ARRAY(SELECT u FROM inserted, unnest(customer_name_words(inserted.name_key)) AS u));
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE FUNCTION customer_name_word_after_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM customer_name_word_release(ARRAY(SELECT u FROM deleted, unnest(customer_name_words(deleted.name_key)) AS u));
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE FUNCTION customer_name_word_after_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_words text[] := customer_name_words(OLD.name_key);
    new_words text[] := customer_name_words(NEW.name_key);
BEGIN
    PERFORM customer_name_word_hold(ARRAY(SELECT unnest(new_words) EXCEPT SELECT unnest(old_words)));
    PERFORM customer_name_word_release(ARRAY(SELECT unnest(old_words) EXCEPT SELECT unnest(new_words)));
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE FUNCTION customer_name_word_after_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_name_word;
    RETURN NULL;
END
$$""",
    # Statement triggers for inserts and deletes (one pass over a bulk insert's words); a
    # row trigger for renames (transition tables cannot be limited to a column's updates).
    "DROP TRIGGER IF EXISTS customer_name_word_insert ON customer",
    """CREATE TRIGGER customer_name_word_insert AFTER INSERT ON customer
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION customer_name_word_after_insert()""",
    "DROP TRIGGER IF EXISTS customer_name_word_delete ON customer",
    """CREATE TRIGGER customer_name_word_delete AFTER DELETE ON customer
REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION customer_name_word_after_delete()""",
    "DROP TRIGGER IF EXISTS customer_name_word_update ON customer",
    """CREATE TRIGGER customer_name_word_update AFTER UPDATE OF name_key ON customer
FOR EACH ROW WHEN (OLD.name_key IS DISTINCT FROM NEW.name_key) EXECUTE FUNCTION customer_name_word_after_update()""",
    "DROP TRIGGER IF EXISTS customer_name_word_truncate ON customer",
    """CREATE TRIGGER customer_name_word_truncate AFTER TRUNCATE ON customer
FOR EACH STATEMENT EXECUTE FUNCTION customer_name_word_after_truncate()""",
    # The table recomputed from customer, customer writes blocked meanwhile: for this
    # migration and for loads that ran with triggers off (session_replication_role).
    """CREATE OR REPLACE FUNCTION customer_name_word_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE customer IN SHARE MODE;
    DELETE FROM customer_name_word w USING (
        SELECT word FROM customer_name_word EXCEPT SELECT unnest(customer_name_words(name_key)) FROM customer
    ) AS unused WHERE w.word = unused.word;
    INSERT INTO customer_name_word (word)
    SELECT DISTINCT u FROM customer, unnest(customer_name_words(name_key)) AS u ON CONFLICT DO NOTHING;
END
$$""",
    "SELECT customer_name_word_rebuild()",
    "DROP INDEX IF EXISTS customer_store_name_key_trgm",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="clienteling", description=DESCRIPTION)

    async def name_words() -> None:
        engine = engine_finder()
        if isinstance(engine, PostgresEngine):
            for statement in POSTGRES:  # one per call: prepared statements take one command
                await engine.run_ddl(statement)

    manager.add_raw(name_words)
    return manager
