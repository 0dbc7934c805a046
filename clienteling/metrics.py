"""Application metrics (Prometheus). Label values are route templates, operation names and
outcomes: never ids or personal data.

Each area keeps its metrics together under a heading below; to add an area, append a new
section (and its names to ``__all__``) rather than editing the others. Metric names are part
of the operators' dashboards: never rename one."""

from __future__ import annotations

import threading

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "AUDIT_WRITE_SECONDS",
    "AUDIT_BATCH_ENTRIES",
    "GRAPHQL_OPERATIONS",
    "EVENTS_PUBLISHED",
    "DB_POOL_CONNECTIONS",
    "LOGIN_ATTEMPTS",
    "BoundedNames",
    "PUSH_DELIVERIES",
    "OUTBOX_LAG_SECONDS",
]


class BoundedNames:
    """Turns client-chosen names (GraphQL operation names) into label values of bounded
    cardinality: names in ``known`` always keep their own label; other well-formed names do
    until ``cap`` distinct ones have been seen in this process; the rest become ``other``."""

    def __init__(self, known: frozenset[str] | set[str] = frozenset(), *, cap: int = 100) -> None:
        self._known = frozenset(known)
        self._seen: set[str] = set()
        self._cap = cap
        self._lock = threading.Lock()

    def label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if len(name) > 64 or not name.isidentifier():
            return "other"
        if name in self._known or name in self._seen:
            return name
        with self._lock:
            if len(self._seen) < self._cap:
                self._seen.add(name)
                return name
        return "other"


# --- audit trail -------------------------------------------------------------------------
AUDIT_WRITE_SECONDS = Histogram(
    "clienteling_audit_write_seconds", "Time to append one audit entry (lock, link, insert)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
# One observation per chain transaction: how many entries it appended (group commit).
AUDIT_BATCH_ENTRIES = Histogram(
    "clienteling_audit_append_batch_entries", "Audit entries appended per chain transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200),
)

# --- GraphQL -----------------------------------------------------------------------------
GRAPHQL_OPERATIONS = Counter(
    "clienteling_graphql_operations_total", "GraphQL operations by type, name and outcome",
    ["type", "name", "outcome"],
)

# --- real-time events --------------------------------------------------------------------
EVENTS_PUBLISHED = Counter("clienteling_events_published_total", "Real-time events published", ["kind"])

# --- database ----------------------------------------------------------------------------
# state: total (open connections), in_use, idle, max (the configured ceiling). Set from the
# pool each time /metrics is scraped; PostgreSQL only (SQLite has no pool).
DB_POOL_CONNECTIONS = Gauge("clienteling_db_pool_connections", "PostgreSQL pool connections", ["state"], multiprocess_mode="livesum")

# --- staff sign-in -----------------------------------------------------------------------
LOGIN_ATTEMPTS = Counter("clienteling_login_attempts_total", "Staff sign-ins by outcome", ["outcome"])


# -- offline sync ----------------------------------------------------------------------------

SYNC_PULLED = Counter("clienteling_sync_pull_documents_total", "Documents delivered by sync pulls and streams.", ["collection"])
SYNC_PUSHED = Counter("clienteling_sync_push_rows_total", "Rows pushed by tablets, by outcome (apply, create, delete, noop, conflict, refused).", ["collection", "outcome"])


def sync_pulled(collection: str, count: int) -> None:
    if count:
        SYNC_PULLED.labels(collection).inc(count)


def sync_pushed(collection: str, outcome: str) -> None:
    SYNC_PUSHED.labels(collection, outcome).inc()


# -- web push delivery -----------------------------------------------------------------------

PUSH_DELIVERIES = Counter(
    "clienteling_push_deliveries_total",
    "Push delivery attempts by outcome (delivered, retry, gone, too_large, dead, suppressed, cancelled, deferred, lease_lost).",
    ["outcome"],
)
OUTBOX_LAG_SECONDS = Gauge(
    "clienteling_outbox_lag_seconds",
    "Age of the oldest outbox event not yet fanned out or push delivery due but not sent.",
    multiprocess_mode="max",
)
