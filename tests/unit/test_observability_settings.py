"""Operations settings: pool sizes, shutdown grace, the trace exporter."""

from __future__ import annotations

import importlib.util

import pytest

from api.settings import SettingsError, load_settings

BASE = {"CLIENTELING_SECRET_KEY": "k" * 40}


def test_pool_min_above_max_is_refused_naming_both() -> None:
    with pytest.raises(SettingsError, match="CLIENTELING_DB_POOL_MIN .* CLIENTELING_DB_POOL_MAX"):
        load_settings({**BASE, "CLIENTELING_DB_POOL_MIN": "20", "CLIENTELING_DB_POOL_MAX": "10"})


def test_pool_sizes_and_shutdown_grace_are_read() -> None:
    s = load_settings({**BASE, "CLIENTELING_DB_POOL_MIN": "4", "CLIENTELING_DB_POOL_MAX": "40", "CLIENTELING_SHUTDOWN_GRACE_SECONDS": "45"})
    assert (s.db_pool_min, s.db_pool_max, s.shutdown_grace_seconds) == (4, 40, 45)
    assert load_settings(BASE).shutdown_grace_seconds == 20 and load_settings(BASE).otel_exporter is None


def test_shutdown_grace_out_of_range_is_refused() -> None:
    with pytest.raises(SettingsError, match="CLIENTELING_SHUTDOWN_GRACE_SECONDS"):
        load_settings({**BASE, "CLIENTELING_SHUTDOWN_GRACE_SECONDS": "0"})


def test_unknown_trace_exporter_is_refused() -> None:
    with pytest.raises(SettingsError, match="CLIENTELING_OTEL_EXPORTER: must be one of console, otlp"):
        load_settings({**BASE, "CLIENTELING_OTEL_EXPORTER": "jaeger"})


def test_trace_exporter_off_spellings() -> None:
    assert load_settings({**BASE, "CLIENTELING_OTEL_EXPORTER": "none"}).otel_exporter is None


@pytest.mark.skipif(importlib.util.find_spec("opentelemetry") is None or importlib.util.find_spec("opentelemetry.sdk") is None,
                    reason="the otel extra is not installed")
def test_console_exporter_is_accepted_when_the_sdk_is_installed() -> None:
    assert load_settings({**BASE, "CLIENTELING_OTEL_EXPORTER": "Console"}).otel_exporter == "console"
