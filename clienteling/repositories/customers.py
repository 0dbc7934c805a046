"""Customer rows: lookups, the scoped listing, search candidates, inserts and versioned updates.

Row scope is applied here, from the :class:`permissions.RowScope` the service obtained from
the policy: no query over customers runs without it.

Search: :func:`search_candidates` narrows the table with an index to at most
:data:`CANDIDATE_LIMIT` rows that may match (PostgreSQL: ``pg_trgm`` word similarity on
``name_key`` in a GIN index that also holds ``home_store``, see migration
2026-11-24T01:10:00; SQLite: the FTS5 trigram table that triggers keep in step with
``customer``, see migration 2026-11-23T21:00:00), and :mod:`domain.search` decides in Python
which match and how well, identically on both engines; :func:`page_rows` then reads the
page's rows with their consent ledgers.
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
from domain.search import FUZZY_MIN_SIMILARITY, SearchSpec, phone_pattern, words
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
# PostgreSQL candidates for one query word of two characters or more: close to a whole word
# of the name (strict_word_similarity, ``<<%``, is at least domain.search's similarity to
# that word), or the start of a word (word_similarity, ``<%``, is k/(k+1) >= 2/3 for a word
# of k >= 2 letters that starts a name word, while a query word sharing only a two-letter
# start with a name word stays at 0.5 or below). So these thresholds let through every row
# Python accepts and little else; the margin covers pg_trgm's float4 arithmetic. Both
# operators use the GIN trigram index.
_STRICT_WORD_SIMILARITY_THRESHOLD = round(FUZZY_MIN_SIMILARITY - 0.05, 2)
_WORD_START_THRESHOLD = 0.51

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


# The candidate query's settings, for its transaction only (``set_config(..., true)`` is
# ``SET LOCAL``), in one statement. Sequential scans stay off: the planner costs the trigram
# operators like a cheap comparison, and on a small scope it could otherwise scan the
# scope's rows and evaluate them on every one.
#
# Plans: the statement is prepared once per connection and soon runs a generic plan (made
# without the values). For a store, the generic plan searches the index with the first query
# word, whatever it is, so "maria gheorghlu" rechecks every María of the store (31 ms) where
# a plan made for these words starts from the rarer one (9 ms): a store's search gets a
# custom plan. Over every store the planner's estimates for a word are too low (it counts the
# rows that match, not the many more the index must hand over for a recheck) and a custom
# plan would start from a single common word ("carla": 25,000 rows rechecked, 130 ms), while
# the generic plan intersects the words' index results: other scopes keep it.
_SEARCH_SETTINGS = (
    "SELECT set_config('pg_trgm.strict_word_similarity_threshold', {}, true), "
    "set_config('pg_trgm.word_similarity_threshold', {}, true), set_config('enable_seqscan', 'off', true), "
    "set_config('plan_cache_mode', {}, true)"
)


def _search_setting_args(scope: RowScope) -> tuple[str, str, str]:
    plans = "force_custom_plan" if scope.kind == "store" else "auto"
    return str(_STRICT_WORD_SIMILARITY_THRESHOLD), str(_WORD_START_THRESHOLD), plans


def _name_candidates_query(scope: RowScope, query_words: list[str], birthday: tuple[int, int] | None, limit: int):  # noqa: ANN202 - piccolo raw query
    """The candidate query of :func:`_name_candidates` (PostgreSQL: to run after
    :data:`_SEARCH_SETTINGS`)."""
    engine = Customer._meta.db
    where = scope_where(scope).querystring
    if isinstance(engine, PostgresEngine):
        extra, extra_args = _birthday_sql(birthday, sqlite=False)
        nk = '"customer"."name_key"'
        matches, closeness, match_args, closeness_args = [], [], [], []
        for w in query_words:  # letters and digits only (domain.search.words)
            if len(w) < 2:
                matches.append(f"({nk} LIKE {{}} OR {nk} ~ {{}})")
                match_args += [f"{w}%", f"[^[:alnum:]]{w}"]
                closeness.append("0.9")
            else:
                matches.append(f"({{}} <<% {nk} OR {{}} <% {nk})")
                match_args += [w, w]
                # The order approximates domain.search's (whole word 1, word start 0.9, else
                # similarity), so the best are kept when more than ``limit`` match.
                closeness.append(f"GREATEST(strict_word_similarity({{}}, {nk}), CASE WHEN {{}} <% {nk} THEN 0.9 ELSE 0 END)")
                closeness_args += [w, w]
        # The row scope is part of the index search: customer_store_name_key_trgm holds
        # (home_store, name_key trigrams) (btree_gin), so a store's search only visits the
        # rows of its stores that share trigrams with the query (migration
        # 2026-11-24T01:10:00). Other scopes use the same index on the name alone. The
        # planner prefers it to reading the store through its btree index and testing every
        # row (0.15 s for 20,000 customers) by a wide margin (estimated costs 1,600 against
        # 15,500 for that store); for a store of a few hundred customers it may read the
        # store, which is as quick.
        sql = (
            f"SELECT {_LEAN_SQL} FROM customer WHERE {{}} AND {' AND '.join(matches)}{extra} "
            f'ORDER BY {" + ".join(closeness)} DESC, {nk}, "customer"."id" LIMIT {{}}'
        )
        return Customer.raw(sql, where, *match_args, *extra_args, *closeness_args, limit)
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
    engine = Customer._meta.db
    query = _name_candidates_query(scope, query_words, birthday, limit)
    if isinstance(engine, PostgresEngine):
        async with engine.transaction():
            await Customer.raw(_SEARCH_SETTINGS, *_search_setting_args(scope)).run()
            return await query.run()
    return await query.run()


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
