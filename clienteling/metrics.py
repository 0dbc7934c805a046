"""Application metrics (Prometheus). Label values are route templates, operation names and
outcomes: never ids or personal data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = ["AUDIT_WRITE_SECONDS", "GRAPHQL_OPERATIONS", "EVENTS_PUBLISHED", "DB_POOL_CONNECTIONS", "LOGIN_ATTEMPTS"]

AUDIT_WRITE_SECONDS = Histogram(
    "clienteling_audit_write_seconds", "Time to append one audit entry (lock, link, insert)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
GRAPHQL_OPERATIONS = Counter(
    "clienteling_graphql_operations_total", "GraphQL operations by type, name and outcome",
    ["type", "name", "outcome"],
)
EVENTS_PUBLISHED = Counter("clienteling_events_published_total", "Real-time events published", ["kind"])
DB_POOL_CONNECTIONS = Gauge("clienteling_db_pool_connections", "PostgreSQL pool connections", ["state"], multiprocess_mode="livesum")
LOGIN_ATTEMPTS = Counter("clienteling_login_attempts_total", "Staff sign-ins by outcome", ["outcome"])


# -- offline sync ----------------------------------------------------------------------------

SYNC_PULLED = Counter("clienteling_sync_pull_documents_total", "Documents delivered by sync pulls and streams.", ["collection"])
SYNC_PUSHED = Counter("clienteling_sync_push_rows_total", "Rows pushed by tablets, by outcome (apply, create, delete, noop, conflict, refused).", ["collection", "outcome"])


def sync_pulled(collection: str, count: int) -> None:
    if count:
        SYNC_PULLED.labels(collection).inc(count)


def sync_pushed(collection: str, outcome: str) -> None:
    SYNC_PUSHED.labels(collection, outcome).inc()
