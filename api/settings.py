"""Settings: one typed object, read from the environment (and an optional ``.env``) once.

A missing or malformed setting raises :class:`SettingsError` naming the variable, so the
service fails at start rather than on the first request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse

import msgspec

__all__ = ["Settings", "SettingsError", "load_settings"]

PREFIX = "CLIENTELING_"


class SettingsError(ValueError):
    pass


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = "sqlite:///./clienteling.sqlite3"
    secret_key: str
    redis_url: str | None = None
    vapid_private_key: str | None = None
    vapid_subject: str | None = None
    webhook_secret: str | None = None
    access_token_ttl: int = 900  # seconds
    refresh_token_ttl: int = 30 * 24 * 3600
    max_body_bytes: int = 1_048_576
    db_pool_min: int = 2
    db_pool_max: int = 10
    graphiql: bool = True
    policy_file: str | None = None
    graphql_allowlist: str | None = None
    # Production may turn schema introspection off; the committed schema/ files document it.
    graphql_introspection: bool = True
    # Total cost limit of a GraphQL operation (graphql_schema/cost.py).
    graphql_max_cost: int = 50_000
    metrics_token: str | None = None
    json_logs: bool = True
    demo: bool = False
    # Failed sign-ins before an account or a client address is slowed down (429).
    login_max_failures_account: int = 5
    login_max_failures_ip: int = 30
    login_window_seconds: int = 900
    # GDPR retention: customers inactive this many days are anonymised by `retention run`.
    retention_days: int = 1095
    # Graceful shutdown: how long in-flight requests may take to finish after SIGTERM.
    shutdown_grace_seconds: int = 20
    # A client that stops sending its request body for this long gets 408 (slowloris).
    request_body_timeout_seconds: int = 30
    # OpenTelemetry trace exporter: None (off), "otlp" or "console" (see api/tracing.py).
    otel_exporter: str | None = None

    # Web Push delivery and the loyalty programme (docs/push.md).
    push_allow_http_loopback: bool = False
    push_worker_in_serve: bool = True
    push_timeout_seconds: float = 10.0
    push_lease_seconds: float = 60.0
    push_poll_interval_seconds: float = 1.0
    push_batch_size: int = 50
    push_max_attempts: int = 8
    push_retry_base_seconds: float = 30.0
    push_retry_cap_seconds: float = 3600.0
    push_rate_limit_per_hour: int = 10
    loyalty_points_per_unit: str = "1"
    loyalty_tier_multipliers: str = "member=1,silver=1.25,gold=1.5,platinum=2"
    loyalty_points_lifetime_days: int = 730
    loyalty_qualification_days: int = 365
    loyalty_expiry_notice_days: int = 14
    loyalty_jobs_interval_seconds: int = 3600

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{PREFIX}{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{PREFIX}{name} must be true or false, got {raw!r}")


def load_settings(env: Mapping[str, str] | None = None, *, require_secret: bool = True) -> Settings:
    """Read and validate every setting; the first problem found is raised, naming the variable."""
    if env is None:
        _load_dotenv()
        env = os.environ
    db = env.get(PREFIX + "DATABASE_URL") or "sqlite:///./clienteling.sqlite3"
    scheme = urlparse(db).scheme
    if scheme not in {"sqlite", "postgresql", "postgres"}:
        raise SettingsError(
            f"{PREFIX}DATABASE_URL must start with sqlite:/// or postgresql://, got scheme {scheme!r}"
        )
    if scheme == "sqlite" and not db.startswith("sqlite:///"):
        raise SettingsError(f"{PREFIX}DATABASE_URL: a SQLite URL looks like sqlite:///./clienteling.sqlite3")
    if scheme != "sqlite" and not urlparse(db).hostname and "host=" not in db:
        raise SettingsError(f"{PREFIX}DATABASE_URL: a PostgreSQL URL needs a host")

    secret = env.get(PREFIX + "SECRET_KEY")
    if not secret and not require_secret:
        secret = ""  # commands that sign no tokens (migrate, audit verify, ...) do not need it
    elif not secret:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY is not set: give it at least 32 random characters "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if secret and len(secret) < 32:
        raise SettingsError(f"{PREFIX}SECRET_KEY is too short: it needs at least 32 characters")

    redis = env.get(PREFIX + "REDIS_URL") or None
    if redis and urlparse(redis).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError(f"{PREFIX}REDIS_URL must start with redis://, rediss:// or unix://")

    subject = env.get(PREFIX + "VAPID_SUBJECT") or None
    if subject and not subject.startswith(("mailto:", "https://")):
        raise SettingsError(f"{PREFIX}VAPID_SUBJECT must be a mailto: or https: URL")

    policy_file = env.get(PREFIX + "POLICY_FILE") or None
    if policy_file:
        from permissions import PolicyError, load_policy

        try:
            with open(policy_file, "rb") as fh:
                load_policy(fh.read())
        except OSError as exc:
            raise SettingsError(f"{PREFIX}POLICY_FILE cannot be read: {exc}") from None
        except PolicyError as exc:
            raise SettingsError(f"{PREFIX}POLICY_FILE does not validate: {exc}") from None

    allowlist = env.get(PREFIX + "GRAPHQL_ALLOWLIST") or None
    if allowlist:
        from graphql_schema.persisted import load_allowlist

        try:
            load_allowlist(allowlist)
        except (OSError, ValueError) as exc:
            raise SettingsError(f"{PREFIX}GRAPHQL_ALLOWLIST is not a valid allow-list: {exc}") from None

    metrics_token = env.get(PREFIX + "METRICS_TOKEN") or None
    if metrics_token is not None and len(metrics_token) < 16:
        raise SettingsError(f"{PREFIX}METRICS_TOKEN is too short: use at least 16 characters")

    pool_min, pool_max = _int(env, "DB_POOL_MIN", 2, 1, 100), _int(env, "DB_POOL_MAX", 10, 1, 500)
    if pool_min > pool_max:
        raise SettingsError(f"{PREFIX}DB_POOL_MIN ({pool_min}) must not exceed {PREFIX}DB_POOL_MAX ({pool_max})")

    otel_exporter = (env.get(PREFIX + "OTEL_EXPORTER") or "").strip().lower() or None
    if otel_exporter in {"none", "off"}:
        otel_exporter = None
    if otel_exporter is not None:
        from api.tracing import TracingUnavailable, check_exporter

        try:
            check_exporter(otel_exporter)
        except TracingUnavailable as exc:
            raise SettingsError(f"{PREFIX}OTEL_EXPORTER: {exc}") from None

    return Settings(
        shutdown_grace_seconds=_int(env, "SHUTDOWN_GRACE_SECONDS", 20, 1, 3600),
        request_body_timeout_seconds=_int(env, "REQUEST_BODY_TIMEOUT_SECONDS", 30, 1, 600),
        otel_exporter=otel_exporter,
        metrics_token=metrics_token,
        json_logs=_bool(env, "JSON_LOGS", True),
        graphql_allowlist=allowlist,
        graphql_introspection=_bool(env, "GRAPHQL_INTROSPECTION", True),
        graphql_max_cost=_int(env, "GRAPHQL_MAX_COST", 50_000, 100, 10_000_000),
        policy_file=policy_file,
        database_url=db,
        secret_key=secret,
        redis_url=redis,
        vapid_private_key=env.get(PREFIX + "VAPID_PRIVATE_KEY") or None,
        vapid_subject=subject,
        webhook_secret=env.get(PREFIX + "WEBHOOK_SECRET") or None,
        access_token_ttl=_int(env, "ACCESS_TOKEN_TTL", 900, 30, 86_400),
        refresh_token_ttl=_int(env, "REFRESH_TOKEN_TTL", 30 * 24 * 3600, 300, 365 * 86_400),
        max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_048_576, 1024, 100 * 1_048_576),
        db_pool_min=pool_min,
        db_pool_max=pool_max,
        graphiql=_bool(env, "GRAPHIQL", True),
        demo=_bool(env, "DEMO", False),
        login_max_failures_account=_int(env, "LOGIN_MAX_FAILURES_ACCOUNT", 5, 1, 1000),
        login_max_failures_ip=_int(env, "LOGIN_MAX_FAILURES_IP", 30, 1, 100_000),
        login_window_seconds=_int(env, "LOGIN_WINDOW_SECONDS", 900, 10, 86_400),
        retention_days=_int(env, "RETENTION_DAYS", 1095, 30, 36_500),
        **_push_and_loyalty(env),
    )


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{PREFIX}{name} must be between {low:g} and {high:g}, got {raw}")
    return value


def _push_and_loyalty(env: Mapping[str, str]) -> dict[str, object]:
    """Web Push and loyalty settings (docs/push.md), each checked and named when wrong."""
    from decimal import Decimal, InvalidOperation

    key = env.get(PREFIX + "VAPID_PRIVATE_KEY") or None
    if key:
        from push.vapid import VapidKeyError, load

        try:
            load(key)
        except VapidKeyError as exc:
            raise SettingsError(f"{PREFIX}VAPID_PRIVATE_KEY {exc}") from None
        if not env.get(PREFIX + "VAPID_SUBJECT"):
            raise SettingsError(f"{PREFIX}VAPID_SUBJECT is required with {PREFIX}VAPID_PRIVATE_KEY (mailto: or https: contact)")
    timeout = _float(env, "PUSH_TIMEOUT_SECONDS", 10.0, 0.5, 120.0)
    lease = _float(env, "PUSH_LEASE_SECONDS", 60.0, 1.0, 3600.0)
    if lease < 2 * timeout:
        raise SettingsError(f"{PREFIX}PUSH_LEASE_SECONDS ({lease:g}) must be at least twice {PREFIX}PUSH_TIMEOUT_SECONDS ({timeout:g})")
    base = _float(env, "PUSH_RETRY_BASE_SECONDS", 30.0, 0.01, 86_400.0)
    cap = _float(env, "PUSH_RETRY_CAP_SECONDS", 3600.0, 0.01, 7 * 86_400.0)
    if cap < base:
        raise SettingsError(f"{PREFIX}PUSH_RETRY_CAP_SECONDS must not be below {PREFIX}PUSH_RETRY_BASE_SECONDS")
    per_unit = env.get(PREFIX + "LOYALTY_POINTS_PER_UNIT") or "1"
    try:
        if not Decimal("0") <= Decimal(per_unit) <= Decimal("1000"):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise SettingsError(f"{PREFIX}LOYALTY_POINTS_PER_UNIT must be a number between 0 and 1000, got {per_unit!r}") from None
    multipliers = env.get(PREFIX + "LOYALTY_TIER_MULTIPLIERS") or "member=1,silver=1.25,gold=1.5,platinum=2"
    from domain.loyalty_ledger import parse_multipliers

    try:
        parse_multipliers(multipliers)
    except ValueError as exc:
        raise SettingsError(f"{PREFIX}LOYALTY_TIER_MULTIPLIERS: {exc}") from None
    return {
        "push_allow_http_loopback": _bool(env, "PUSH_ALLOW_HTTP_LOOPBACK", False),
        "push_worker_in_serve": _bool(env, "PUSH_WORKER_IN_SERVE", True),
        "push_timeout_seconds": timeout,
        "push_lease_seconds": lease,
        "push_poll_interval_seconds": _float(env, "PUSH_POLL_INTERVAL_SECONDS", 1.0, 0.05, 60.0),
        "push_batch_size": _int(env, "PUSH_BATCH_SIZE", 50, 1, 1000),
        "push_max_attempts": _int(env, "PUSH_MAX_ATTEMPTS", 8, 1, 50),
        "push_retry_base_seconds": base,
        "push_retry_cap_seconds": cap,
        "push_rate_limit_per_hour": _int(env, "PUSH_RATE_LIMIT_PER_HOUR", 10, 1, 10_000),
        "loyalty_points_per_unit": per_unit,
        "loyalty_tier_multipliers": multipliers,
        "loyalty_points_lifetime_days": _int(env, "LOYALTY_POINTS_LIFETIME_DAYS", 730, 1, 36_500),
        "loyalty_qualification_days": _int(env, "LOYALTY_QUALIFICATION_DAYS", 365, 1, 3650),
        "loyalty_expiry_notice_days": _int(env, "LOYALTY_EXPIRY_NOTICE_DAYS", 14, 0, 365),
        "loyalty_jobs_interval_seconds": _int(env, "LOYALTY_JOBS_INTERVAL_SECONDS", 3600, 5, 86_400),
    }


def _load_dotenv() -> None:
    """Values in ``./.env`` fill in what the real environment does not set."""
    if os.path.exists(".env"):
        from dotenv import load_dotenv

        load_dotenv(".env", override=False)
