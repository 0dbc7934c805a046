"""Customer rows: lookups, the scoped listing, search candidates, inserts and versioned updates.

Row scope is applied here, from the :class:`permissions.RowScope` the service obtained from
the policy: no query over customers runs without it.

Search: :func:`search_candidates` narrows the table with an index to at most
:data:`CANDIDATE_LIMIT` rows that may match (PostgreSQL: the query words are looked up among
the distinct words of customers' names, ``customer_name_word`` with a ``pg_trgm`` index, and
the customers having matching words are read from a GIN index of whole words that also holds
``home_store``, see migration 2026-11-24T06:40:00; SQLite: the FTS5 trigram table that
triggers keep in step with ``customer``, see migration 2026-11-23T21:00:00), and
:mod:`domain.search` decides in Python which match and how well, identically on both
engines; :func:`page_rows` then reads the page's rows with their consent ledgers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import reduce
from typing import Any
from uuid import UUID

import msgspec
from piccolo.columns import JSON, JSONB
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from clienteling.tables import ConsentRecord, Customer
from domain.consent import ConsentEvent
from domain.search import EXACT, PREFIX, SearchSpec, phone_pattern, term_score, words
from permissions import RowScope

__all__ = [
    "SearchSpec",
    "CANDIDATE_LIMIT",
    "get",
    "get_many",
    "get_many_with_ledgers",
    "sort_key",
    "page",
    "search_candidates",
    "page_rows",
    "contact_matches",
    "similar_names",
    "insert",
    "update",
    "consent_events",
    "scope_where",
]

# Ranked search looks at no more than this many rows per kind of match (names, phone, ...),
# the best by the database's own measure; a search matching more pages through those.
CANDIDATE_LIMIT = 500

# The columns ranking needs (the page's rows are loaded in full afterwards: a search in a
# store finds a handful of rows, but a common surname fills CANDIDATE_LIMIT, and reading 500
# rows whole would cost more than reading the page again).
_LEAN = (
    Customer.id, Customer.name_key, Customer.email_key, Customer.phone_key, Customer.loyalty_number,
    Customer.primary_associate, Customer.secondary_associate, Customer.birthdate,
)
_LEAN_SQL = ", ".join(f'"customer"."{c._meta.db_column_name}"' for c in _LEAN)


def _book(staff_id: UUID):  # noqa: ANN202 - piccolo combination
    return (Customer.primary_associate == staff_id) | (Customer.secondary_associate == staff_id)


def scope_where(scope: RowScope):  # noqa: ANN201
    """The WHERE clause for a row scope (and never deleted rows)."""
    alive = Customer.deleted_at.is_null()
    if scope.kind == "all":
        return alive
    if scope.kind == "store":
        if not scope.store_ids:
            return alive & (Customer.id.is_null())  # matches nothing
        return alive & Customer.home_store.is_in(list(scope.store_ids))
    return alive & _book(scope.staff_id)


def _gated(spec: SearchSpec, field: str, staff_id: UUID, cond):  # noqa: ANN001, ANN202
    """``cond`` limited to where the caller may match ``field``; None where nowhere."""
    where = spec.allowed.get(field)
    if where == "scope":
        return cond
    if where == "book":
        return cond & _book(staff_id)
    return None


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _fts_query(query_words: list[str]) -> str | None:
    """An FTS5 query: for each word of two letters or more, any of its trigrams (padded
    like the indexed text), so a typo still shares most of them; words ANDed. One-letter
    words are left to Python (a trigram index cannot look them up)."""
    groups = []
    for w in query_words:
        if len(w) < 2:
            continue
        padded = f" {w} "
        grams = sorted({padded[i:i + 3] for i in range(len(padded) - 2)})
        groups.append("(" + " OR ".join(_fts_phrase(g) for g in grams) + ")")
    return " AND ".join(groups) if groups else None


def _birthday_sql(birthday: tuple[int, int] | None, sqlite: bool) -> tuple[str, list[Any]]:
    if birthday is None:
        return "", []
    month, day = birthday
    if sqlite:
        return " AND strftime('%m-%d', \"customer\".\"birthdate\") = {}", [f"{month:02d}-{day:02d}"]
    return ' AND EXTRACT(MONTH FROM "customer"."birthdate") = {} AND EXTRACT(DAY FROM "customer"."birthdate") = {}', [month, day]


# PostgreSQL name search, in two statements of fixed text (prepared once per connection),
# both through indexes (migration 2026-11-24T06:40:00):
#
# 1. The distinct words of customers' names close to each query word of two letters or
#    more (``customer_name_word_matches``: trigram similarity >= 0.3 or a word start, from
#    the small ``customer_name_word`` table), which Python filters with domain.search's own
#    rule (whole word, word start, similarity >= FUZZY_MIN_SIMILARITY) and scores.
# 2. The customers having, for each query word, one of its words (``words && $n``, the
#    row scope inside the GIN index on (home_store, customer_name_words(name_key)): no
#    recheck, the index holds whole words), and for a one-letter query word a word starting
#    with it (a filter: a letter would match too many words to look them up). So without the
#    limit the candidates are exactly the rows where every query word matches some word of
#    the name by domain.search's rule (Python then also wants distinct words per query word).
#    When more than ``limit`` match, the best come first: per query word, domain.search's
#    score of the row's best word (1000 whole word, 900 word start, else similarity * 800),
#    summed, then the name.
_PG_WORD_MATCHES = "SELECT term, word FROM customer_name_word_matches({}::text[])"
_PG_NAME_WORDS = "customer_name_words(\"customer\".\"name_key\")"
_LEAN_NAMES = ", ".join(f'"{c._meta.db_column_name}"' for c in _LEAN)
_PG_ONE_LETTER = "(^|[^[:alnum:]])"  # a word starts here, as customer_name_words splits


async def _pg_term_words(query_words: list[str]) -> list[list[tuple[str, int]]] | None:
    """For each query word, the name words it matches with domain.search's score of each,
    best first (none looked up for a one-letter word); None when a query word of two
    letters or more matches no word of any name (then no customer matches)."""
    long_words = [w for w in query_words if len(w) >= 2]
    found: dict[int, list[str]] = defaultdict(list)
    if long_words:
        for row in await Customer.raw(_PG_WORD_MATCHES, long_words).run():
            found[row["term"] - 1].append(row["word"])
    out: list[list[tuple[str, int]]] = []
    n = 0
    for w in query_words:
        if len(w) < 2:
            out.append([])
            continue
        scored = sorted(((word, term_score(w, [word])) for word in found[n]), key=lambda ws: (-ws[1], ws[0]))
        n += 1
        scored = [ws for ws in scored if ws[1] > 0]
        if not scored:
            return None
        out.append(scored)
    return out


def _pg_name_candidates_query(scope: RowScope, query_words: list[str], term_words: list[list[tuple[str, int]]], birthday: tuple[int, int] | None, limit: int):  # noqa: ANN202 - piccolo raw query
    """The PostgreSQL candidate query for ``query_words`` whose matching name words are
    ``term_words`` (from :func:`_pg_term_words`)."""
    nw, rw = _PG_NAME_WORDS, "c.words_"
    extra, extra_args = _birthday_sql(birthday, sqlite=False)
    conds, cond_args, scores, score_args = [], [], [], []
    for w, scored in zip(query_words, term_words):
        if len(w) < 2:
            conds.append('"customer"."name_key" ~ {}')
            cond_args.append(_PG_ONE_LETTER + w)  # a letter or digit: nothing to escape
            scores.append(f"CASE WHEN {{}} = ANY({rw}) THEN {EXACT} ELSE {PREFIX} END")
            score_args.append(w)
            continue
        conds.append(f"{nw} && {{}}::text[]")
        cond_args.append([word for word, _ in scored])
        prefixes = [word for word, s in scored if s == PREFIX]
        fuzzy = [(word, s) for word, s in scored if s < PREFIX]
        scores.append(
            f"CASE WHEN {{}} = ANY({rw}) THEN {EXACT} WHEN {rw} && {{}}::text[] THEN {PREFIX} "
            f"ELSE (SELECT max(m.s) FROM unnest({{}}::text[], {{}}::int[]) AS m(w, s) WHERE m.w = ANY({rw})) END"
        )
        score_args += [w, prefixes, [word for word, _ in fuzzy], [s for _, s in fuzzy]]
    # The matching rows with their words (OFFSET 0: split once per row, not per use), then
    # the best ``limit`` of them.
    sql = (
        f"SELECT {_LEAN_NAMES} FROM (SELECT {_LEAN_SQL}, {nw} AS words_ FROM customer "
        f"WHERE {{}} AND {' AND '.join(conds)}{extra} OFFSET 0) AS c "
        f'ORDER BY {" + ".join(scores)} DESC, "name_key", "id" LIMIT {{}}'
    )
    return Customer.raw(sql, scope_where(scope).querystring, *cond_args, *extra_args, *score_args, limit)


async def _name_candidates_query(scope: RowScope, query_words: list[str], birthday: tuple[int, int] | None, limit: int):  # noqa: ANN202 - piccolo raw query
    """The candidate query of :func:`_name_candidates`, None when nothing can match
    (PostgreSQL: after looking the query words up among the names' words)."""
    if isinstance(Customer._meta.db, PostgresEngine):
        term_words = await _pg_term_words(query_words)
        if term_words is None:
            return None
        return _pg_name_candidates_query(scope, query_words, term_words, birthday, limit)
    where = scope_where(scope).querystring
    extra, extra_args = _birthday_sql(birthday, sqlite=True)
    fts = _fts_query(query_words)
    # One-letter words: a word start in the indexed text (LIKE scans the FTS table for
    # patterns under three letters, fine at shop scale).
    starts = "".join(" AND customer_name_fts.name LIKE {}" for w in query_words if len(w) < 2)
    start_args = [f"% {w}%" for w in query_words if len(w) < 2]
    # CROSS JOIN keeps the full-text table as the outer loop; bm25 (rank) puts the rows
    # sharing the most (and rarest) trigrams first.
    sql = (
        f"SELECT {_LEAN_SQL} FROM customer_name_fts "
        "CROSS JOIN customer_name_search_id ON customer_name_search_id.id = customer_name_fts.rowid "
        'CROSS JOIN customer ON "customer"."id" = customer_name_search_id.customer_id '
        f"WHERE {'customer_name_fts MATCH {} AND ' if fts else ''}{{}}{starts}{extra} "
        f'ORDER BY {"customer_name_fts.rank, " if fts else ""}"customer"."name_key", "customer"."id" LIMIT {{}}'
    )
    return Customer.raw(sql, *([fts] if fts else []), where, *start_args, *extra_args, limit)


async def _name_candidates(scope: RowScope, query_words: list[str], birthday: tuple[int, int] | None, limit: int) -> list[dict[str, Any]]:
    query = await _name_candidates_query(scope, query_words, birthday, limit)
    return [] if query is None else await query.run()


async def _lean(where, limit: int) -> list[dict[str, Any]]:  # noqa: ANN001
    return await Customer.select(*_LEAN).where(where).order_by(Customer.name_key, Customer.id).limit(limit).run()


async def search_candidates(scope: RowScope, spec: SearchSpec, *, limit: int = CANDIDATE_LIMIT) -> list[dict[str, Any]] | None:
    """Reachable rows that may match ``spec`` (a superset: :mod:`domain.search` decides),
    at most ``limit`` per kind of match, each matched only on fields the caller may match
    on. ``None`` when the search can match on nothing the caller may read."""
    found: dict[UUID, dict[str, Any]] = {}
    searched = False
    alive = scope_where(scope)
    if spec.names_allowed:
        query_words = [w for t in spec.terms for w in words(t)]
        if query_words:
            searched = True
            for row in await _name_candidates(scope, query_words, None, limit):
                found[row["id"]] = row
    exact = []
    if spec.email:
        exact.append(_gated(spec, "email", scope.staff_id, Customer.email_key == spec.email))
    if spec.card:
        exact.append(_gated(spec, "loyalty_number", scope.staff_id, Customer.loyalty_number == spec.card))
    if spec.digits and len(spec.digits) >= 4:
        exact.append(_gated(spec, "phone", scope.staff_id, Customer.phone_key.like(f"%{phone_pattern(spec.digits)}%")))
    for cond in exact:
        if cond is None:
            continue
        searched = True
        for row in await _lean(alive & cond, limit):
            found.setdefault(row["id"], row)
    return list(found.values()) if searched else None


# A row's consent ledger as one JSON array, in the statement that reads the row.
_LEDGER = QueryString(
    "(SELECT json_agg(json_build_object('purpose', r.purpose, 'status', r.status, "
    "'occurred_at', r.occurred_at, 'expires_at', r.expires_at)) "
    'FROM consent_record r WHERE r.customer = "customer"."id") AS "consent_ledger"'
)
_LEDGER_TYPE = list[ConsentEvent]


async def page_rows(ids: list[UUID]) -> tuple[list[dict[str, Any]], dict[UUID, list[ConsentEvent]]]:
    """The live rows among ``ids`` (as :func:`get_many`) and the consent ledger of each (as
    :func:`consent_events`): a page of search results. PostgreSQL reads both in one
    statement."""
    if not ids:
        return [], defaultdict(list)
    if not isinstance(Customer._meta.db, PostgresEngine):
        rows = await get_many(ids)
        return rows, await consent_events([r["id"] for r in rows])
    rows = (
        await Customer.select(*Customer.all_columns(), _LEDGER)
        .where(Customer.id.is_in(ids) & Customer.deleted_at.is_null())
        .output(load_json=True)
        .run()
    )
    ledgers: dict[UUID, list[ConsentEvent]] = defaultdict(list)
    for row in rows:
        ledger = row.pop("consent_ledger")
        if ledger:
            ledgers[row["id"]] = msgspec.json.decode(ledger, type=_LEDGER_TYPE)
    return rows, ledgers


async def contact_matches(scope: RowScope, *, email_key: str | None, phone_digits: str | None, limit: int = 50) -> list[dict[str, Any]]:
    """Reachable rows with this email or this phone number (see
    :func:`domain.search.phone_pattern`), for duplicate detection."""
    conds = []
    if email_key:
        conds.append(Customer.email_key == email_key)
    if phone_digits:
        conds.append(Customer.phone_key.like(f"%{phone_pattern(phone_digits)}"))
    if not conds:
        return []
    return await _lean(scope_where(scope) & reduce(lambda a, b: a | b, conds), limit)


async def similar_names(scope: RowScope, query_words: list[str], *, birthday: tuple[int, int], limit: int = CANDIDATE_LIMIT) -> list[dict[str, Any]]:
    """Reachable rows born on that month and day whose name may be close to ``query_words``
    (a superset), for duplicate detection."""
    if not query_words:
        return []
    return await _name_candidates(scope, query_words, birthday, limit)


# The columns piccolo decodes with load_json; fixed-text reads decode them the same way.
_JSON_COLUMNS = tuple(c._meta.db_column_name for c in Customer._meta.columns if isinstance(c, (JSON, JSONB)))
# PostgreSQL: the customer 360, search pages and every reach check read rows by id. Fixed
# text (prepared once per connection; building the piccolo select cost ~200 us per call).
_PG_ROWS_BY_ID = "SELECT * FROM customer WHERE id = ANY({}::uuid[]) AND deleted_at IS NULL"


def _decode_json_columns(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:
        for column in _JSON_COLUMNS:
            if isinstance(row[column], str):
                row[column] = msgspec.json.decode(row[column])
    return rows


async def _rows_by_id(ids: list[UUID]) -> list[dict[str, Any]]:
    return _decode_json_columns(await Customer.raw(_PG_ROWS_BY_ID, list(ids)).run())


# PostgreSQL: the rows by id (as _PG_ROWS_BY_ID) with each one's consent ledger as parallel
# arrays (one aggregate pass, so the arrays line up); asyncpg decodes them to the same Python
# values as the ledger read of consent_events.
_PG_ROWS_WITH_LEDGERS = (
    'SELECT c.*, l.purposes AS "ledger_purposes_", l.statuses AS "ledger_statuses_", '
    'l.occurred AS "ledger_occurred_", l.expires AS "ledger_expires_" FROM customer c CROSS JOIN LATERAL ('
    "SELECT array_agg(r.purpose) AS purposes, array_agg(r.status) AS statuses, array_agg(r.occurred_at) AS occurred, "
    "array_agg(r.expires_at) AS expires FROM consent_record r WHERE r.customer = c.id) l "
    "WHERE c.id = ANY({}::uuid[]) AND c.deleted_at IS NULL"
)


async def get_many_with_ledgers(ids: list[UUID]) -> tuple[list[dict[str, Any]], dict[UUID, list[ConsentEvent]]] | None:
    """The live rows among ``ids`` (as :func:`get_many`) and the consent ledger of each (as
    :func:`consent_events`, ``[]`` for a row without one) in one statement, on PostgreSQL.
    None on SQLite, where it would take two statements: read the ledgers when needed."""
    if not isinstance(Customer._meta.db, PostgresEngine):
        return None
    if not ids:
        return [], {}
    rows = await Customer.raw(_PG_ROWS_WITH_LEDGERS, list(ids)).run()
    ledgers: dict[UUID, list[ConsentEvent]] = {}
    for row in rows:
        purposes, statuses = row.pop("ledger_purposes_"), row.pop("ledger_statuses_")
        occurred, expires = row.pop("ledger_occurred_"), row.pop("ledger_expires_")
        ledgers[row["id"]] = [
            ConsentEvent(purpose=p, status=st, occurred_at=at, expires_at=ex)
            for p, st, at, ex in zip(purposes or (), statuses or (), occurred or (), expires or ())
        ]
    return _decode_json_columns(rows), ledgers


async def get(customer_id: UUID) -> dict[str, Any] | None:
    if isinstance(Customer._meta.db, PostgresEngine):
        rows = await _rows_by_id([customer_id])
        return rows[0] if rows else None
    return (
        await Customer.select()
        .where((Customer.id == customer_id) & Customer.deleted_at.is_null())
        .output(load_json=True)
        .first()
        .run()
    )


async def get_many(ids: list[UUID]) -> list[dict[str, Any]]:
    if not ids:
        return []
    if isinstance(Customer._meta.db, PostgresEngine):
        return await _rows_by_id(ids)
    return await Customer.select().where(Customer.id.is_in(ids) & Customer.deleted_at.is_null()).output(load_json=True).run()


async def sort_key(customer_id: UUID) -> str | None:
    """The sort key of a row (deleted or not), to resume a listing after it."""
    row = await Customer.select(Customer.name_key).where(Customer.id == customer_id).first().run()
    return row["name_key"] if row else None


async def page(scope: RowScope, *, after: tuple[str, UUID] | None, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` reachable rows ordered by (name, id) after the cursor."""
    where = scope_where(scope)
    if after is not None:
        key, last_id = after
        where = where & ((Customer.name_key > key) | ((Customer.name_key == key) & (Customer.id > last_id)))
    return (
        await Customer.select()
        .where(where)
        .order_by(Customer.name_key, Customer.id)
        .limit(limit + 1)
        .output(load_json=True)
        .run()
    )


async def insert(values: dict[str, Any]) -> None:
    await Customer.insert(Customer(**values)).run()


async def update(customer_id: UUID, values: dict[str, Any], expected_version: int) -> bool:
    """Apply ``values`` if the row is still at ``expected_version``; bump the version.
    False means someone else changed it first (no lost update)."""
    columns = {getattr(Customer, k): v for k, v in values.items()}
    columns[Customer.version] = expected_version + 1
    columns[Customer.updated_at] = dt.datetime.now(dt.timezone.utc)
    rows = (
        await Customer.update(columns)
        .where((Customer.id == customer_id) & (Customer.version == expected_version) & Customer.deleted_at.is_null())
        .returning(Customer.id)
        .run()
    )
    return bool(rows)


async def consent_events(customer_ids: list[UUID]) -> dict[UUID, list[ConsentEvent]]:
    """The consent ledger of each customer, for :func:`domain.consent.active_purposes`."""
    out: dict[UUID, list[ConsentEvent]] = defaultdict(list)
    if not customer_ids:
        return out
    if isinstance(ConsentRecord._meta.db, PostgresEngine):
        rows = await ConsentRecord.raw(
            "SELECT customer, purpose, status, occurred_at, expires_at FROM consent_record WHERE customer = ANY({}::uuid[])",
            list(customer_ids),
        ).run()
    else:
        rows = (
            await ConsentRecord.select(
                ConsentRecord.customer, ConsentRecord.purpose, ConsentRecord.status,
                ConsentRecord.occurred_at, ConsentRecord.expires_at,
            )
            .where(ConsentRecord.customer.is_in(customer_ids))
            .run()
        )
    for r in rows:
        out[r["customer"]].append(
            ConsentEvent(purpose=r["purpose"], status=r["status"], occurred_at=r["occurred_at"], expires_at=r["expires_at"])
        )
    return out
