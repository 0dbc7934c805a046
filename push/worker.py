"""The push delivery worker: outbox -> deliveries -> push services.

A round (1) fans undispatched outbox events out into one delivery per subscription of the
recipient (a member's devices, or the staff devices of a store) and (2) leases due
deliveries, both in one transaction; (3) reads the send-time facts of all the round's
members in a few statements, (4) checks and sends the deliveries, ``concurrency``
recipients at a time (one recipient's one after the other, oldest first), and (5) records
the outcomes in one transaction. A running worker overlaps its rounds: while one round is
being sent, the next is claimed, and the previous one recorded.

Several workers may run at once on PostgreSQL: fan-out and claims take rows with ``FOR
UPDATE SKIP LOCKED``, a lease names the worker and a fresh token that fences the outcome
writes, and a killed worker's leases simply expire and the rows are claimed again. SQLite
runs one worker.

The checks (``push.send_checks``: erasure, restriction, consent, account, preferences,
quiet hours, rate limit) are made at send time, so a withdrawal between enqueue and send
stops the message. The facts they use are read for the whole round right after the claim;
a member's are read again before a send when they are more than a second old, and before
each further message to the same member in the round. The rate limit also counts this
worker's messages that were accepted but are not recorded yet.

Answers: 201 delivered; 404/410 the subscription is removed; 413 recorded, never retried;
429, 5xx and network errors are retried with exponential back-off and jitter, never sooner
than ``Retry-After``; after the last attempt (or another 4xx) a dead letter that operators
can list and replay. Every message delivered to a member gets an audit entry, durable
before its outcome is recorded. Delivery is at-least-once: a worker killed after the push
service accepted a message but before recording it sends it again after its lease expires
(the Topic header lets the push service replace the undelivered copy)."""

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
from domain.push import SEND_RULES
from push.fan_out import fan_out
from push.outcomes import Outcome, RetryPolicy, answer_outcome
from push.send_checks import RATE_WINDOW, member_decision, staff_decision
from push.sender import PushSender, PushTarget
from push.templates import render

if TYPE_CHECKING:
    from clienteling.services.audit import AuditTrail
    from clienteling.services.loyalty import LoyaltyService

__all__ = ["WorkerConfig", "PushWorker", "RoundReport", "BackgroundWorker"]

log = logging.getLogger("clienteling.push")

# A member's send-time facts older than this are read again before a message goes out.
_FRESH_SECONDS = 1.0
# The outbox lag gauge is refreshed at most this often by a running worker.
_LAG_EVERY_SECONDS = 1.0


class WorkerConfig(msgspec.Struct, frozen=True, kw_only=True):
    batch_size: int = 50
    lease_seconds: float = 60.0
    poll_interval: float = 1.0
    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    rate_limit_per_hour: int = 10
    jobs_interval: float = 3600.0
    concurrency: int = 32  # recipients in flight: a remote push service answers in tens of milliseconds


class RoundReport(msgspec.Struct, kw_only=True):
    fanned_out: int = 0
    claimed: int = 0
    outcomes: dict[str, int] = msgspec.field(default_factory=dict)


class _Round(msgspec.Struct, kw_only=True):
    """Claimed deliveries and the send-time facts of their members and subscriptions."""

    fanned_out: int
    claims: list[dict[str, Any]]
    contexts: dict[UUID, dict[str, Any]] = msgspec.field(default_factory=dict)
    recent: dict[UUID, dict[UUID, dt.datetime]] = msgspec.field(default_factory=dict)
    targets: dict[UUID, dict[str, Any]] = msgspec.field(default_factory=dict)
    claimed_at: float = 0.0  # loop time
    read_at: float = 0.0  # loop time


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


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
        self._retry = RetryPolicy(max_attempts=self.config.max_attempts, base_seconds=self.config.retry_base_seconds,
                                  cap_seconds=self.config.retry_cap_seconds)
        self._jobs_due = 0.0
        self._lag_due = 0.0
        # Messages accepted by a push service whose outcome is not recorded yet, per member
        # (delivery id -> when): the rate limit counts them.
        self._unrecorded: dict[UUID, dict[UUID, dt.datetime]] = {}

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until ``stop`` is set; errors are logged (by type) and the loop carries on.
        While a full round is being sent the next one is claimed, and a round is recorded
        while the next one is sent."""
        log.info("push worker %s started", self.worker_id)
        loop = asyncio.get_running_loop()
        ahead: asyncio.Task[_Round] | None = None
        recording: asyncio.Task[list[str]] | None = None
        try:
            while not stop.is_set():
                busy = False
                try:
                    await self._loyalty_jobs(loop)
                    task, ahead = ahead, None
                    current = await task if task is not None else await self._prepare()
                    busy = len(current.claims) >= self.config.batch_size or current.fanned_out > 0
                    if current.claims:
                        if busy:
                            ahead = asyncio.create_task(self._prepare())
                        outcomes = await self._send(current)
                        await self._settle(recording)
                        recording = asyncio.create_task(self._record(outcomes))
                    else:
                        await self._settle(recording)
                        recording = None
                    if loop.time() >= self._lag_due:
                        self._lag_due = loop.time() + _LAG_EVERY_SECONDS
                        await self._measure_lag()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a database blip must not end the worker
                    log.warning("push worker round failed (%s); retrying", type(exc).__name__)
                if not busy:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=self.config.poll_interval)
        finally:
            await self._settle(recording)
            if ahead is not None:
                with contextlib.suppress(Exception):
                    await self._release(await ahead)
            await self.aclose()
        log.info("push worker %s stopped", self.worker_id)

    async def _loyalty_jobs(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loyalty is None or loop.time() < self._jobs_due:
            return
        self._jobs_due = loop.time() + self.config.jobs_interval
        report = await self.loyalty.run_jobs(self.clock())
        if report.expired_customers or report.expiring_notices or report.birthday_notices:
            log.info("loyalty jobs: %d customers' points expired, %d expiry notices, %d birthday notices",
                     report.expired_customers, report.expiring_notices, report.birthday_notices)

    @staticmethod
    async def _settle(recording: "asyncio.Task[list[str]] | None") -> None:
        """Wait for a round's outcomes to be written; a failure is logged (the deliveries
        keep their leases and are sent again when those expire)."""
        if recording is None:
            return
        try:
            await recording
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            log.warning("push worker could not record a round (%s); its deliveries are retried when their leases expire", type(exc).__name__)

    async def aclose(self) -> None:
        """Close the sender's connections to push services (reopened on the next send)."""
        await self.sender.aclose()

    async def run_once(self) -> RoundReport:
        """One round, start to finish: everything it sent is recorded when it returns."""
        current = await self._prepare()
        report = RoundReport(fanned_out=current.fanned_out, claimed=len(current.claims))
        if current.claims:
            for outcome in await self._record(await self._send(current)):
                report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
        await self._measure_lag()
        return report

    async def drain(self, *, rounds: int = 50) -> RoundReport:
        """Run rounds until nothing is due (tests and ``push-worker --once``)."""
        total = RoundReport()
        try:
            for _ in range(rounds):
                r = await self.run_once()
                total.fanned_out += r.fanned_out
                total.claimed += r.claimed
                for k, v in r.outcomes.items():
                    total.outcomes[k] = total.outcomes.get(k, 0) + v
                if not r.claimed and not r.fanned_out:
                    break
        finally:
            await self.aclose()
        return total

    # --- fan-out and claim ------------------------------------------------------------------

    async def fan_out(self) -> int:
        """Fan undispatched outbox events out into deliveries; returns how many events."""
        async with db.transaction():
            return await fan_out(self.config.batch_size, self.clock())

    async def _prepare(self) -> _Round:
        """Fan out and lease the due deliveries (one transaction), then read what the
        send-time checks need about all of them."""
        loop = asyncio.get_running_loop()
        now = self.clock()
        async with db.transaction():
            fanned_out = await fan_out(self.config.batch_size, now)
            claims = await repo.claim_due(
                now=now, limit=self.config.batch_size, worker=self.worker_id,
                lease_until=now + dt.timedelta(seconds=self.config.lease_seconds),
            )
        claimed_at = loop.time()
        if not claims:
            return _Round(fanned_out=fanned_out, claims=[])
        members = {c["customer"] for c in claims if c["customer"] is not None}
        return _Round(
            fanned_out=fanned_out, claims=claims, claimed_at=claimed_at,
            contexts=await repo.send_contexts(members),
            recent=await repo.delivered_since(members, now - RATE_WINDOW),
            targets=await repo.targets({c["subscription_id"] for c in claims if c["subscription_id"] is not None}),
            read_at=loop.time(),
        )

    async def _renew(self, claims: list[dict[str, Any]]) -> list[dict[str, Any]]:
        until = self.clock() + dt.timedelta(seconds=self.config.lease_seconds)
        kept: set[UUID] = set()
        tokens: dict[str, list[UUID]] = {}
        for claim in claims:
            tokens.setdefault(claim["claim_token"], []).append(claim["id"])
        for token, ids in tokens.items():
            kept |= await repo.renew_leases(ids, token, until)
        return [c for c in claims if c["id"] in kept]

    async def _release(self, current: _Round) -> None:
        """Give back claims that will not be sent (the worker is stopping)."""
        tokens: dict[str, list[UUID]] = {}
        for claim in current.claims:
            tokens.setdefault(claim["claim_token"], []).append(claim["id"])
        for token, ids in tokens.items():
            await repo.finish(ids, token, {})

    # --- sending ----------------------------------------------------------------------------

    async def _send(self, current: _Round) -> list[Outcome]:
        """Check and send the round's deliveries, ``concurrency`` recipients at a time, one
        recipient's one after the other and oldest first. A delivery whose check fails on an
        error keeps its lease, and is tried again when that expires."""
        claims = current.claims
        if asyncio.get_running_loop().time() - current.claimed_at > self.config.lease_seconds / 4:
            # Claimed a while ago (while a slow round was being sent): renew the lease first,
            # and leave out what another worker has claimed since it expired.
            claims = await self._renew(claims)
        groups: dict[Any, list[dict[str, Any]]] = {}
        for claim in sorted(claims, key=lambda c: c["created_at"]):
            groups.setdefault(claim["customer"] or claim["staff"] or claim["id"], []).append(claim)
        recipients = iter(groups.values())
        outcomes: list[Outcome] = []

        async def lane() -> None:
            for batch in recipients:  # shared: each lane takes the next recipient
                for n, claim in enumerate(batch):
                    try:
                        outcomes.append(await self._deliver(claim, current, reread=n > 0))
                    except Exception as exc:  # noqa: BLE001 - one delivery's database blip must not cost the round
                        log.warning("push delivery check failed (%s); retried when its lease expires", type(exc).__name__)

        await asyncio.gather(*(lane() for _ in range(min(self.config.concurrency, len(groups)))))
        return outcomes

    async def _deliver(self, claim: dict[str, Any], current: _Round, *, reread: bool) -> Outcome:
        """Check and send one claimed delivery. ``reread``: read the member's facts again (a
        further message to them in this round)."""
        now = self.clock()
        stale = reread or asyncio.get_running_loop().time() - current.read_at > _FRESH_SECONDS
        sub_id = claim["subscription_id"]
        target = ((await repo.targets([sub_id])) if stale else current.targets).get(sub_id) if sub_id else None
        customer = claim["customer"]
        if customer is not None:
            if stale:
                ctx = (await repo.send_contexts([customer])).get(customer)
                recent = (await repo.delivered_since([customer], now - RATE_WINDOW)).get(customer, {})
            else:
                ctx, recent = current.contexts.get(customer), current.recent.get(customer, {})
            times = sorted(t for t in {**recent, **self._unrecorded.get(customer, {})}.values() if t >= now - RATE_WINDOW)
            decision = member_decision(claim["kind"], ctx, times, now, rate_limit=self.config.rate_limit_per_hour)
        else:
            decision = await staff_decision(claim, now)
        if decision.action == "defer":
            return Outcome(claim=claim, label="deferred", values={"next_attempt_at": decision.until or now})
        if decision.action in ("suppress", "cancel"):
            status = "suppressed" if decision.action == "suppress" else "cancelled"
            return Outcome(claim=claim, label=status, values={"status": status, "last_error": decision.reason})
        if target is None:
            return Outcome(claim=claim, label="gone", values={"status": "gone", "last_error": "subscription removed"})
        kind = claim["kind"]
        data = dict(claim["data"] or {})
        if kind == "vip_check_in" and claim["event_customer"] is not None:
            data["customerId"] = str(claim["event_customer"])
        rules = SEND_RULES[kind]
        result = await self.sender.send(
            PushTarget(endpoint=target["endpoint"], p256dh=target["p256dh"], auth=target["auth"]),
            render(kind, decision.language, data), ttl=rules.ttl, urgency=rules.urgency, topic=kind,
        )
        done = self.clock()
        outcome = answer_outcome(claim, target["id"], result, at=done, retry=self._retry)
        if outcome.label == "delivered" and customer is not None:
            self._unrecorded.setdefault(customer, {})[claim["id"]] = done
        return outcome

    # --- recording --------------------------------------------------------------------------

    async def _record(self, outcomes: list[Outcome]) -> list[str]:
        """Audit the round's delivered messages, then write its outcomes in one transaction:
        one statement per distinct outcome (most of a round shares one), each fenced by the
        claim token. Returns the outcome labels (``lease_lost`` where the fence held)."""
        if not outcomes:
            return []
        delivered = [o for o in outcomes if o.label == "delivered"]
        written: set[UUID] = set()
        try:
            if self.audit is not None:
                # The members' loyalty figures left for their devices: audited like any
                # disclosure, outside the transaction and together (the trail commits them as
                # a group).
                audit = self.audit
                await asyncio.gather(*(
                    audit.record(None, action="push", customer_ids=[o.claim["customer"]], fields=[f"push.{o.claim['kind']}"],
                                 surface="push", operation=f"push {o.claim['kind']}")
                    for o in delivered if o.claim["customer"] is not None
                ))
            done = self.clock()
            groups: dict[tuple[str, tuple[tuple[str, Any], ...]], list[UUID]] = {}
            for o in outcomes:
                values = {**o.values, "delivered_at": done} if o.label == "delivered" else o.values
                groups.setdefault((o.claim["claim_token"], tuple(sorted(values.items()))), []).append(o.claim["id"])
            async with db.transaction():
                for (token, values), ids in groups.items():
                    written |= await repo.finish(ids, token, dict(values))
                await repo.mark_subscriptions_used({o.subscription for o in delivered if o.claim["id"] in written and o.subscription}, done)
                # The push service's word that a subscription is gone holds even if the lease did not.
                await repo.delete_subscriptions({o.subscription for o in outcomes if o.label == "gone" and o.subscription})
        finally:
            for o in delivered:
                sent = self._unrecorded.get(o.claim["customer"])
                if sent is not None:
                    sent.pop(o.claim["id"], None)
                    if not sent:
                        del self._unrecorded[o.claim["customer"]]
        return [self._count(o.label if o.claim["id"] in written else "lease_lost") for o in outcomes]

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
