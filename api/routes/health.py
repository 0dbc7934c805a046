"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import logging

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec

from clienteling import db

__all__ = ["health", "ready"]

log = logging.getLogger("clienteling.health")

# A database that does not answer within this is as good as unreachable for a load balancer.
READY_TIMEOUT_SECONDS = 3.0


@get("/health", tags=["operations"], summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/ready", tags=["operations"], summary="The database is reachable and migrations are current",
    responses={503: ResponseSpec(data_container=dict[str, object], description="Not ready: the database is unreachable or behind", generate_examples=False)},
)
async def ready() -> Response[dict[str, object]]:
    """200 when the database answers and has every migration of this code; otherwise 503
    with ``reason``: ``DATABASE_UNREACHABLE`` (no answer within 3 s, or an error) or
    ``MIGRATIONS_PENDING`` (with the ids in ``pendingMigrations``)."""
    try:
        pending = await asyncio.wait_for(_check_database(), READY_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure here means not ready
        log.warning("readiness check failed: %s", type(exc).__name__)
        return Response({"status": "unavailable", "reason": "DATABASE_UNREACHABLE", "database": "unreachable"}, status_code=503)
    if pending:
        return Response(
            {"status": "unavailable", "reason": "MIGRATIONS_PENDING", "database": "ok", "pendingMigrations": pending},
            status_code=503,
        )
    return Response({"status": "ok", "database": "ok"})


async def _check_database() -> list[str]:
    await db.current_engine().run_ddl("SELECT 1")
    return await db.pending_migrations()
