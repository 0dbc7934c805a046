"""The push delivery worker: outbox -> deliveries -> push services.

Each round it (1) fans undispatched outbox events out into one delivery per subscription of
the recipient (a member's devices, or the staff devices of a store), in one transaction per
batch; (2) leases due deliveries and sends them. Several workers may run at once on
PostgreSQL: both steps claim rows with ``FOR UPDATE SKIP LOCKED``, a lease names the worker
and a fresh token that fences the outcome write, and a killed worker's leases simply expire
and the rows are claimed again. SQLite runs one worker.

Consent (``push_notifications``), GDPR restriction and erasure, the member's preferences
(event types), quiet hours and the per-member rate limit are all checked at send time, so a
withdrawal between enqueue and send stops the message. Quiet hours and the rate limit defer,
they never drop.

Answers: 201 delivered; 404/410 the subscription is removed; 413 recorded, never retried;
429, 5xx and network errors are retried with exponential back-off and jitter, never sooner
than ``Retry-After``; after the last attempt (or another 4xx) a dead letter that operators
can list and replay. Delivery is at-least-once: a worker killed after the push service
accepted a message but before recording it sends it again after its lease expires (the
Topic header lets the push service replace the undelivered copy)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from clienteling import db
from clienteling.metrics import OUTBOX_LAG_SECONDS, PUSH_DELIVERIES
from clienteling.repositories import outbox as outbox_repo
from clienteling.repositories import push as repo
from domain.consent import ConsentEvent, active_purposes
from domain.push import LANGUAGES, MEMBER_EVENT_TYPES, SEND_RULES, parse_retry_after, quiet_until, retry_delay
from push.sender import PushSender, PushTarget
from push.templates import render

if TYPE_CHECKING:
    from clienteling.services.audit import AuditTrail
    from clienteling.services.loyalty import LoyaltyService

__all__ = ["WorkerConfig", "PushWorker", "RoundReport"]

log = logging.getLogger("clienteling.push")


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True):
    batch_size: int = 50
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    rate_limit_per_hour: int = 10
    jobs_interval: float = 3600.0
    concurrency: int = 8


class RoundReport(msgspec.Struct, kw_only=True):
    fanned_out: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = msgspec.field(default_factory=dict)


class _Decision(msgspec.Struct, frozen=True, kw_only=True):
    action: str  # send | suppress | cancel | defer
    reason: str = ""
    language: str = "en"
    until: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _staff_language(store: dict[str, Any] | None) -> str:
    if not store:
        return "en"
    if store.get("code") == "BCN":
        return "ca"
    return {"ES": "es", "RO": "ro"}.get(store.get("country") or "", "en")


class PushWorker:
    def __init__(
        self,
        sender: PushSender,
        config: WorkerConfig | None = None,
        *,
        audit: "AuditTrail | None" = None,
        loyalty: "LoyaltyService | None" = None,
        worker_id: str | None = None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.sender = sender
        self.config = config or WorkerConfig()
        self.audit = audit
        self.loyalty = loyalty
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock or _now
        self._jobs_due = 0.0

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; errors are logged (by type) and the loop carries on."""
        log.info("push worker %s started", self.worker_id)
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            busy = False
            try:
                if self.loyalty is not None and loop.time() >= self._jobs_due:
                    self._jobs_due = loop.time() + self.config.jobs_interval
                    report = await self.loyalty.run_jobs(self.clock())
                    if report.expired_customers or report.expiring_notices or report.birthday_notices:
                        log.info("loyalty jobs: %d customers' points expired, %d expiry notices, %d birthday notices",
                                 report.expired_customers, report.expiring_notices, report.birthday_notices)
                result = await self.run_once()
                busy = result.claimed >= self.config.batch_size or result.fanned_out > 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a database blip must not end the worker
                log.warning("push worker round failed (%s); retrying", type(exc).__name__)
            if not busy:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.config.poll_interval)
        log.info("push worker %s stopped", self.worker_id)

    async def run_once(self) -> RoundReport:
        report = RoundReport()
        report.fanned_out = await self.fan_out()
        claims = await self._claim()
        report.claimed = len(claims)
        limit = asyncio.Semaphore(self.config.concurrency)

        # One recipient's deliveries go one after the other (the rate limit counts what was
        # just sent); different recipients concurrently.
        groups: dict[Any, list[dict[str, Any]]] = {}
        for claim in claims:
            groups.setdefault(claim["customer"] or claim["staff"] or claim["id"], []).append(claim)

        async def recipient(batch: list[dict[str, Any]]) -> None:
            async with limit:
                for claim in sorted(batch, key=lambda c: c["created_at"]):
                    outcome = await self._deliver(claim)
                    report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1

        await asyncio.gather(*(recipient(b) for b in groups.values()))
        await self._measure_lag()
        return report

    async def drain(self, *, rounds: int = 50) -> RoundReport:
        """Run rounds until nothing is due (tests and ``push-worker --once``)."""
        total = RoundReport()
        for _ in range(rounds):
            r = await self.run_once()
            total.fanned_out += r.fanned_out
            total.claimed += r.claimed
            for k, v in r.outcomes.items():
                total.outcomes[k] = total.outcomes.get(k, 0) + v
            if not r.claimed and not r.fanned_out:
                break
        return total

    # --- fan-out ----------------------------------------------------------------------------

    async def fan_out(self) -> int:
        now = self.clock()
        async with db.transaction():
            events = await outbox_repo.claim_undispatched(self.config.batch_size)
            for event in events:
                rows = []
                if event["kind"] in MEMBER_EVENT_TYPES and event["customer"] is not None:
                    for sub_id in await repo.member_targets(event["customer"]):
                        rows.append(self._delivery(event, sub_id, customer=event["customer"], staff=None, now=now))
                elif event["kind"] == "vip_check_in" and event["store"] is not None:
                    for sub_id, staff_id in await repo.store_staff_targets(event["store"]):
                        rows.append(self._delivery(event, sub_id, customer=None, staff=staff_id, now=now))
                await repo.insert_deliveries(rows)
                await outbox_repo.mark_dispatched(event["id"], len(rows), now)
        return len(events)

    @staticmethod
    def _delivery(event: dict[str, Any], sub_id: UUID, *, customer: UUID | None, staff: UUID | None, now: dt.datetime) -> dict[str, Any]:
        return {
            "id": uuid.uuid4(), "key": f"{event['id']}:{sub_id}", "event": event["id"], "subscription_id": sub_id,
            "customer": customer, "staff": staff, "kind": event["kind"], "status": "pending", "attempts": 0,
            "next_attempt_at": now,
        }

    # --- sending ----------------------------------------------------------------------------

    async def _claim(self) -> list[dict[str, Any]]:
        now = self.clock()
        async with db.transaction():
            return await repo.claim_due(
                now=now, limit=self.config.batch_size, worker=self.worker_id,
                lease_until=now + dt.timedelta(seconds=self.config.lease_seconds),
            )

    async def _decide(self, claim: dict[str, Any], now: dt.datetime) -> _Decision:
        kind = claim["kind"]
        if claim["customer"] is not None:
            ctx = await repo.send_context(claim["customer"])
            if ctx is None or ctx["erased_at"] is not None or ctx["deleted_at"] is not None:
                return _Decision(action="cancel", reason="erased")
            if ctx["restricted_at"] is not None:
                return _Decision(action="suppress", reason="restricted")
            member = ctx["member"]
            if member is None or not member["active"]:
                return _Decision(action="suppress", reason="no_member_account")
            consents = [ConsentEvent(purpose=r["purpose"], status=r["status"], occurred_at=r["occurred_at"], expires_at=r["expires_at"]) for r in ctx["consents"]]
            if "push_notifications" not in active_purposes(consents, now):
                return _Decision(action="suppress", reason="no_consent")
            if kind not in (member["event_types"] or []):
                return _Decision(action="suppress", reason="preference")
            tz = member["time_zone"] or ctx["store_time_zone"] or "UTC"
            until = quiet_until(now, member["quiet_start"], member["quiet_end"], tz)
            if until is not None:
                return _Decision(action="defer", reason="quiet_hours", until=until)
            recent = await repo.delivered_since(claim["customer"], now - dt.timedelta(hours=1))
            if len(recent) >= self.config.rate_limit_per_hour:
                return _Decision(action="defer", reason="rate_limited", until=recent[0] + dt.timedelta(hours=1, seconds=1))
            language = member["language"] or ctx["language"] or "en"
            return _Decision(action="send", language=language if language in LANGUAGES else "en")
        ctx = await repo.staff_context(claim["staff"], claim["store"]) if claim["staff"] is not None else None
        if ctx is None or not ctx["active"]:
            return _Decision(action="suppress", reason="staff_inactive")
        if kind == "vip_check_in" and claim["event_customer"] is not None:
            subject = await repo.send_context(claim["event_customer"])
            if subject is None or subject["erased_at"] is not None or subject["restricted_at"] is not None:
                return _Decision(action="suppress", reason="restricted")
            consents = [ConsentEvent(purpose=r["purpose"], status=r["status"], occurred_at=r["occurred_at"], expires_at=r["expires_at"]) for r in subject["consents"]]
            if "in_store_recognition" not in active_purposes(consents, now):
                return _Decision(action="suppress", reason="no_consent")
        return _Decision(action="send", language=_staff_language(ctx["store"]))

    async def _deliver(self, claim: dict[str, Any]) -> str:
        """Check, send and record one claimed delivery; returns the outcome label."""
        now = self.clock()
        token: str = claim["claim_token"]
        decision = await self._decide(claim, now)
        if decision.action == "defer":
            await repo.release(claim["id"], token, decision.until or now)
            return self._count("deferred")
        if decision.action in ("suppress", "cancel"):
            status = "suppressed" if decision.action == "suppress" else "cancelled"
            await repo.finish(claim["id"], token, {"status": status, "last_error": decision.reason})
            return self._count(status)
        target = await repo.target(claim["subscription_id"]) if claim["subscription_id"] else None
        if target is None:
            await repo.finish(claim["id"], token, {"status": "gone", "last_error": "subscription removed"})
            return self._count("gone")
        kind = claim["kind"]
        data = dict(claim["data"] or {})
        if kind == "vip_check_in" and claim["event_customer"] is not None:
            data["customerId"] = str(claim["event_customer"])
        payload = render(kind, decision.language, data)
        rules = SEND_RULES[kind]
        result = await self.sender.send(
            PushTarget(endpoint=target["endpoint"], p256dh=target["p256dh"], auth=target["auth"]),
            payload, ttl=rules.ttl, urgency=rules.urgency, topic=kind,
        )
        attempts = claim["attempts"] + 1
        done = self.clock()
        status = result.status
        if status is not None and 200 <= status <= 202:
            async with db.transaction():
                if not await repo.finish(claim["id"], token, {"status": "delivered", "attempts": attempts, "delivered_at": done, "last_status_code": status}):
                    return self._count("lease_lost")
                await repo.mark_subscription_used(target["id"], done)
                if self.audit is not None and claim["customer"] is not None:
                    # The member's loyalty figures left for their device: audited like any disclosure.
                    await self.audit.record(
                        None, action="push", customer_ids=[claim["customer"]], fields=[f"push.{kind}"], surface="push",
                        operation=f"push {kind}",
                    )
            return self._count("delivered")
        if status in (404, 410):
            async with db.transaction():
                await repo.finish(claim["id"], token, {"status": "gone", "attempts": attempts, "last_status_code": status})
                await repo.delete_subscription(target["id"])
            log.info("push subscription gone (%d); removed", status)
            return self._count("gone")
        if status == 413:
            await repo.finish(claim["id"], token, {"status": "too_large", "attempts": attempts, "last_status_code": status})
            return self._count("too_large")
        retryable = status is None or status == 429 or status >= 500
        if retryable and attempts < self.config.max_attempts:
            delay = retry_delay(
                attempts, base=self.config.retry_base_seconds, cap=self.config.retry_cap_seconds,
                retry_after=parse_retry_after(result.retry_after, done),
            )
            await repo.finish(claim["id"], token, {
                "status": "pending", "attempts": attempts, "last_status_code": status,
                "last_error": result.error or f"HTTP {status}", "next_attempt_at": done + dt.timedelta(seconds=delay),
            })
            return self._count("retry")
        await repo.finish(claim["id"], token, {
            "status": "dead", "attempts": attempts, "last_status_code": status, "last_error": result.error or f"HTTP {status}",
        })
        log.warning("push delivery dead-lettered after %d attempts (last answer %s)", attempts, status if status is not None else result.error)
        return self._count("dead")

    @staticmethod
    def _count(outcome: str) -> str:
        PUSH_DELIVERIES.labels(outcome).inc()
        return outcome

    async def _measure_lag(self) -> None:
        now = self.clock()
        oldest = [t for t in (await outbox_repo.oldest_undispatched(), await repo.oldest_due(now)) if t is not None]
        OUTBOX_LAG_SECONDS.set(max(0.0, (now - min(oldest)).total_seconds()) if oldest else 0.0)


class BackgroundWorker:
    """Runs a :class:`PushWorker` as a task of the app process (``serve``'s single-machine
    default, ``CLIENTELING_PUSH_WORKER_IN_SERVE``); ``stop`` ends it between rounds."""

    def __init__(self, worker: PushWorker) -> None:
        self.worker = worker
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self.worker.run(self._stop), name="push-worker")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None
