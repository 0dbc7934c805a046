"""Database engines: building one from a URL, binding it, migrating it, transactions."""

from __future__ import annotations

import contextlib
import io
from urllib.parse import urlparse

from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

__all__ = [
    "engine_from_url",
    "bind",
    "current_engine",
    "is_bound",
    "is_sqlite",
    "transaction",
    "migrate",
    "pending_migrations",
    "start_pool",
    "close_pool",
    "pool_usage",
]

_current: Engine | None = None


def engine_from_url(url: str) -> Engine:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``postgresql://...``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise ValueError("a sqlite URL needs a path: sqlite:///./clienteling.sqlite3")
        # A generous busy timeout: piccolo opens a connection per query outside transactions.
        return SQLiteEngine(path=path, timeout=30)
    if parsed.scheme in {"postgresql", "postgres"}:
        return PostgresEngine(config={"dsn": url.replace("postgres://", "postgresql://", 1)})
    raise ValueError(f"unsupported database URL scheme {parsed.scheme!r} (use sqlite or postgresql)")


def bind(engine: Engine) -> None:
    """Make ``engine`` the one every table (and piccolo's migration machinery) uses."""
    global _current
    from clienteling.tables import ALL_TABLES

    import piccolo_conf

    _current = engine
    piccolo_conf.DB = engine
    for table in [*ALL_TABLES, Migration]:
        table._meta.db = engine


def current_engine() -> Engine:
    if _current is None:
        raise RuntimeError("no database engine bound; call clienteling.db.bind() first")
    return _current


def is_bound() -> bool:
    return _current is not None


def is_sqlite() -> bool:
    return isinstance(current_engine(), SQLiteEngine)


def transaction():  # noqa: ANN201 - piccolo's transaction context manager types differ per engine
    """A write transaction. On SQLite it takes the write lock up front (``BEGIN IMMEDIATE``)
    so two writers never deadlock upgrading read locks."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def _keep_session(connection: object) -> None:
    """Pool release hook. asyncpg still rolls back an unfinished transaction itself; its
    default reset would also send ``RESET ALL; CLOSE ALL; UNLISTEN *; SELECT
    pg_advisory_unlock_all()``: one more round trip per statement, since piccolo takes a pooled
    connection per query. Nothing here leaves session state behind (only ``SET LOCAL`` and
    transaction-scoped advisory locks; the migration lock has its own connection)."""


async def start_pool(min_size: int = 2, max_size: int = 10) -> None:
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=min_size, max_size=max_size, reset=_keep_session)
    else:
        # WAL lets readers proceed while one writer commits; the setting persists in the file.
        await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_pool() -> None:
    engine = current_engine()
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def pool_usage() -> dict[str, int] | None:
    """The bound PostgreSQL pool's connections by state (``total``, ``in_use``, ``idle``,
    ``max``), or None without a pool (SQLite, or before ``start_pool``)."""
    if _current is None:
        return None
    pool = getattr(_current, "pool", None)
    if pool is None:
        return None
    total, idle = pool.get_size(), pool.get_idle_size()
    return {"total": total, "in_use": total - idle, "idle": idle, "max": pool.get_max_size()}


def _migration_folder() -> str:
    from clienteling.piccolo_app import APP_CONFIG

    return APP_CONFIG.resolved_migrations_folder_path


async def pending_migrations() -> list[str]:
    """Migration ids present in the code but not yet applied to the bound database."""
    manager = BaseMigrationManager()
    modules = manager.get_migration_modules(_migration_folder())
    known = manager.get_migration_ids(modules)
    if not await Migration.table_exists().run():
        return sorted(known)
    applied = set(await Migration.get_migrations_which_ran(app_name="clienteling"))
    return sorted(set(known) - applied)


_MIGRATION_LOCK = 0x4D6967726174  # "Migrat"


async def migrate() -> list[str]:
    """Apply pending migrations to the bound database; return the ids applied. On
    PostgreSQL a session advisory lock makes processes that start together (several
    machines running ``serve``) take turns: the first migrates, the others find nothing
    left to do."""
    engine = current_engine()
    if not isinstance(engine, PostgresEngine):
        return await _migrate_unlocked()
    import asyncpg

    conn = await asyncpg.connect(engine.config["dsn"])
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            return await _migrate_unlocked()
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    finally:
        await conn.close()


async def _migrate_unlocked() -> list[str]:
    from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager

    todo = await pending_migrations()
    if not todo:
        return []
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        manager = ForwardsMigrationManager(app_name="clienteling", migration_id="all")
        await Migration.create_table(if_not_exists=True).run()
        result = await manager.run()
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}\n{out.getvalue()}")
    return todo
