"""Wiring helpers: the loyalty rules, VAPID keys, sender and worker configuration from the
settings object (``api.settings.Settings``), so the app factory and the CLI build them the
same way."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from domain.loyalty_ledger import LoyaltyRules, parse_multipliers
from push.sender import WebPushSender
from push.vapid import VapidKeys, load
from push.worker import WorkerConfig

__all__ = ["loyalty_rules", "vapid_keys", "build_sender", "worker_config", "DEMO_VAPID_SUBJECT"]

DEMO_VAPID_SUBJECT = "mailto:demo@clienteling.example"


def loyalty_rules(settings: Any) -> LoyaltyRules:
    return LoyaltyRules(
        points_per_unit=Decimal(settings.loyalty_points_per_unit),
        multipliers=parse_multipliers(settings.loyalty_tier_multipliers),
        points_lifetime_days=settings.loyalty_points_lifetime_days,
        qualification_days=settings.loyalty_qualification_days,
        expiry_notice_days=settings.loyalty_expiry_notice_days,
    )


def vapid_keys(settings: Any) -> VapidKeys | None:
    return load(settings.vapid_private_key) if settings.vapid_private_key else None


def build_sender(settings: Any) -> WebPushSender | None:
    keys = vapid_keys(settings)
    if keys is None:
        return None
    return WebPushSender(keys, settings.vapid_subject or DEMO_VAPID_SUBJECT, timeout=settings.push_timeout_seconds)


def worker_config(settings: Any) -> WorkerConfig:
    return WorkerConfig(
        batch_size=settings.push_batch_size,
        lease_seconds=settings.push_lease_seconds,
        poll_interval=settings.push_poll_interval_seconds,
        max_attempts=settings.push_max_attempts,
        retry_base_seconds=settings.push_retry_base_seconds,
        retry_cap_seconds=settings.push_retry_cap_seconds,
        rate_limit_per_hour=settings.push_rate_limit_per_hour,
        jobs_interval=float(settings.loyalty_jobs_interval_seconds),
    )
