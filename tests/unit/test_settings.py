"""Settings read from an environment mapping."""

from __future__ import annotations

import pytest

from api.settings import SettingsError, load_settings

SECRET = "k" * 40


def env(**overrides: str) -> dict[str, str]:
    values = {"CLIENTELING_SECRET_KEY": SECRET}
    values.update({f"CLIENTELING_{k}": v for k, v in overrides.items()})
    return values


def _error(values: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(values)
    return str(info.value)


def test_defaults_apply_when_only_the_secret_is_set() -> None:
    settings = load_settings(env())
    assert settings.secret_key == SECRET
    assert settings.database_url == "sqlite:///./clienteling.sqlite3" and not settings.is_postgres
    assert settings.redis_url is None
    assert settings.access_token_ttl == 900 and settings.refresh_token_ttl == 30 * 24 * 3600
    assert settings.graphiql is True and settings.demo is False


def test_values_from_the_environment_override_defaults() -> None:
    settings = load_settings(env(DATABASE_URL="postgresql://app@db.internal/clienteling", ACCESS_TOKEN_TTL="300", REDIS_URL="redis://cache:6379/0", DEMO="yes", GRAPHIQL="off"))
    assert settings.is_postgres and settings.access_token_ttl == 300 and settings.redis_url == "redis://cache:6379/0"
    assert settings.demo is True and settings.graphiql is False


def test_missing_secret_key_names_the_variable() -> None:
    assert "CLIENTELING_SECRET_KEY" in _error({})


def test_empty_secret_key_names_the_variable() -> None:
    assert "CLIENTELING_SECRET_KEY" in _error({"CLIENTELING_SECRET_KEY": ""})


def test_short_secret_key_is_refused() -> None:
    message = _error({"CLIENTELING_SECRET_KEY": "k" * 31})
    assert "CLIENTELING_SECRET_KEY" in message and "short" in message


def test_bad_database_url_scheme_names_the_variable() -> None:
    message = _error(env(DATABASE_URL="mysql://db/clienteling"))
    assert "CLIENTELING_DATABASE_URL" in message and "mysql" in message


def test_sqlite_url_without_three_slashes_is_refused() -> None:
    assert "CLIENTELING_DATABASE_URL" in _error(env(DATABASE_URL="sqlite://clienteling.sqlite3"))


def test_postgres_url_without_host_is_refused() -> None:
    assert "CLIENTELING_DATABASE_URL" in _error(env(DATABASE_URL="postgresql:///clienteling"))


def test_non_integer_access_token_ttl_names_the_variable() -> None:
    message = _error(env(ACCESS_TOKEN_TTL="15m"))
    assert "CLIENTELING_ACCESS_TOKEN_TTL" in message and "15m" in message


def test_out_of_range_access_token_ttl_names_the_variable() -> None:
    assert "CLIENTELING_ACCESS_TOKEN_TTL" in _error(env(ACCESS_TOKEN_TTL="5"))


def test_bad_redis_url_names_the_variable() -> None:
    assert "CLIENTELING_REDIS_URL" in _error(env(REDIS_URL="http://cache:6379"))


def test_bad_bool_names_the_variable() -> None:
    message = _error(env(DEMO="maybe"))
    assert "CLIENTELING_DEMO" in message and "maybe" in message


def test_bad_vapid_subject_names_the_variable() -> None:
    assert "CLIENTELING_VAPID_SUBJECT" in _error(env(VAPID_SUBJECT="ops@example.com"))


def test_retention_days_defaults_to_three_years_and_is_bounded() -> None:
    assert load_settings(env()).retention_days == 1095
    assert load_settings(env(RETENTION_DAYS="730")).retention_days == 730
    for bad in ("10", "40000", "three"):
        assert "CLIENTELING_RETENTION_DAYS" in _error(env(RETENTION_DAYS=bad))


def test_commands_that_sign_no_tokens_run_without_the_secret_key() -> None:
    from api.settings import load_settings

    assert load_settings({}, require_secret=False).secret_key == ""
    import pytest

    from api.settings import SettingsError

    with pytest.raises(SettingsError, match="CLIENTELING_SECRET_KEY"):
        load_settings({})
    with pytest.raises(SettingsError, match="too short"):
        load_settings({"CLIENTELING_SECRET_KEY": "short"}, require_secret=False)


def test_push_and_loyalty_settings_are_checked_and_named() -> None:
    assert "CLIENTELING_VAPID_PRIVATE_KEY" in _error(env(VAPID_PRIVATE_KEY="nope", VAPID_SUBJECT="mailto:a@b.c"))
    from push.vapid import generate

    assert "CLIENTELING_VAPID_SUBJECT" in _error(env(VAPID_PRIVATE_KEY=generate().private_key))
    assert "CLIENTELING_PUSH_LEASE_SECONDS" in _error(env(PUSH_LEASE_SECONDS="5", PUSH_TIMEOUT_SECONDS="10"))
    assert "CLIENTELING_LOYALTY_TIER_MULTIPLIERS" in _error(env(LOYALTY_TIER_MULTIPLIERS="gold=2"))
    assert "CLIENTELING_LOYALTY_POINTS_PER_UNIT" in _error(env(LOYALTY_POINTS_PER_UNIT="lots"))
    assert "CLIENTELING_PUSH_ALLOW_HTTP_LOOPBACK" in _error(env(PUSH_ALLOW_HTTP_LOOPBACK="maybe"))
    s = load_settings(env(PUSH_ALLOW_HTTP_LOOPBACK="1"))
    assert s.push_allow_http_loopback is True and s.push_worker_in_serve is True
