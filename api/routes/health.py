"""Liveness and readiness."""

from __future__ import annotations

import logging

from litestar import Response, get

from clienteling import db

__all__ = ["health", "ready"]

log = logging.getLogger("clienteling.health")


@get("/health", tags=["operations"], summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get("/ready", tags=["operations"], summary="The database is reachable and migrations are current")
async def ready() -> Response[dict[str, object]]:
    try:
        await db.current_engine().run_ddl("SELECT 1")
        pending = await db.pending_migrations()
    except Exception as exc:  # noqa: BLE001 - any failure here means not ready
        log.warning("readiness check failed: %s", type(exc).__name__)
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if pending:
        return Response({"status": "unavailable", "database": "ok", "pendingMigrations": pending}, status_code=503)
    return Response({"status": "ok", "database": "ok"})
