"""Integration webhooks: purchases, returns and check-ins pushed in by POS, e-commerce and
loyalty systems (SPEC §5).

Every delivery is authenticated by an HMAC-SHA256 signature over its raw bytes before
anything is parsed, and applied exactly once per ``kind:externalId``: in one transaction
the key is looked up, claimed, the change applied, the answer stored and the audit entry
appended. A retry with the same payload gets the stored answer verbatim and changes
nothing; the same ``externalId`` with another payload is a conflict. Two deliveries of one
key racing each other meet at the key's primary key: the loser rolls back and answers what
the winner stored. Payload values are never logged.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID, uuid4

import msgspec

from clienteling import db
from clienteling.repositories import customers as customer_repo
from clienteling.repositories import integrations as repo
from clienteling.services.outbox import emit
from domain.consent import active_purposes
from domain.loyalty_ledger import LoyaltyEventIn
from domain.events import Event, store_channel
from domain.integrations import (
    CheckInAccepted,
    CheckInIn,
    CurrencyMismatch,
    IdempotencyConflict,
    IntegrationKind,
    IntegrationsDisabled,
    PurchaseAccepted,
    PurchaseIn,
    ReturnAccepted,
    ReturnIn,
    SignatureInvalid,
    TotalMismatch,
    UnknownCustomer,
    UnknownPurchase,
    UnknownStore,
    check_not_future,
    decode_payload,
    line_total,
    payload_digest,
    signature_valid,
    to_eur,
)

if TYPE_CHECKING:
    from clienteling.events import EventBus
    from clienteling.services.loyalty import LoyaltyService
    from clienteling.services.audit import AuditTrail

__all__ = ["IntegrationService", "Delivery", "POST_PURCHASE_FOLLOW_UP"]

log = logging.getLogger("clienteling.integrations")

POST_PURCHASE_FOLLOW_UP = dt.timedelta(days=3)
"""When the primary associate's post-purchase task falls due, counted from the sale."""

_OPERATION: dict[IntegrationKind, str] = {
    "purchase": "POST /api/v1/integrations/purchases",
    "return": "POST /api/v1/integrations/returns",
    "check_in": "POST /api/v1/integrations/check-ins",
    "loyalty_event": "POST /api/v1/integrations/loyalty-events",
}

_P = TypeVar("_P", PurchaseIn, ReturnIn, CheckInIn, LoyaltyEventIn)


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a delivery: the first one's, or the stored copy on a retry."""

    status_code: int
    result: dict[str, Any]


class _Applied(msgspec.Struct, kw_only=True):
    result: dict[str, Any]
    customer_id: UUID
    alert: Event | None = None


def _utc(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.timezone.utc)


def _replay(stored: dict[str, Any], digest: str) -> Delivery:
    if stored["payload_sha256"] != digest:
        raise IdempotencyConflict("This externalId was already delivered with a different payload; use a new externalId for a new event")
    return Delivery(status_code=stored["status_code"], result=stored["result"])


# An address sending this many bad signatures within the window is throttled (429).
BAD_SIGNATURE_LIMIT = 20
BAD_SIGNATURE_WINDOW = 900


class IntegrationService:
    def __init__(
        self,
        audit: "AuditTrail",
        events: "EventBus | None" = None,
        *,
        webhook_secret: str | None,
        clock: Callable[[], dt.datetime] | None = None,
        loyalty: "LoyaltyService | None" = None,
    ) -> None:
        self.audit = audit
        self.events = events
        # Points earned and reversed in the webhook's own transaction (None: no programme).
        self.loyalty = loyalty
        self._secret = webhook_secret
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))

    # --- abuse: bad signatures per client address ------------------------------------------

    async def guarded(self, client_ip: str, receive: Callable[[], Awaitable[Delivery]]) -> Delivery:
        """Run one webhook delivery, throttling an address that keeps sending bad signatures
        (a correct integration never does): after ``BAD_SIGNATURE_LIMIT`` failures within
        ``BAD_SIGNATURE_WINDOW`` seconds it is refused with 429 for a growing delay, on every
        process (the counters live in the database, like sign-in throttling)."""
        import time

        from clienteling.repositories import auth as throttle_repo
        from domain.errors import TooManyRequests

        key = "webhook-ip:" + client_ip
        now = int(time.time())
        blocked_until = await throttle_repo.throttle_blocked_until([key])
        if blocked_until > now:
            raise TooManyRequests("Too many webhook deliveries with a bad signature; try again later", retry_after=blocked_until - now)
        try:
            return await receive()
        except SignatureInvalid:
            failures = await throttle_repo.record_failure(key, now, BAD_SIGNATURE_WINDOW)
            if failures >= BAD_SIGNATURE_LIMIT:
                await throttle_repo.block(key, now + min(30 * 2 ** (failures - BAD_SIGNATURE_LIMIT), BAD_SIGNATURE_WINDOW))
            raise

    # --- the three webhooks ---------------------------------------------------------------

    async def receive_purchase(self, raw: bytes, signature: str | None) -> Delivery:
        """Record a sale: the purchase and its lines, the customer's ``last_purchase_at``
        and ``lifetime_value``, and a follow-up task for their primary associate."""
        payload = self._accept(raw, signature, PurchaseIn)
        total = Decimal(payload.total)
        if line_total(payload.lines) != total:
            raise TotalMismatch(f"total is {payload.total} but the lines add up to {line_total(payload.lines)}")
        to_eur(total, payload.currency)  # refuses an unsupported currency before any write
        return await self._deliver("purchase", payload, self._apply_purchase)

    async def receive_return(self, raw: bytes, signature: str | None) -> Delivery:
        """Record goods brought back and take the refund off the customer's lifetime value."""
        payload = self._accept(raw, signature, ReturnIn)
        total = Decimal(payload.total)
        if line_total(payload.lines) != total:
            raise TotalMismatch(f"total is {payload.total} but the lines add up to {line_total(payload.lines)}")
        to_eur(total, payload.currency)
        return await self._deliver("return", payload, self._apply_return)

    async def receive_check_in(self, raw: bytes, signature: str | None) -> Delivery:
        """Record a customer entering a store. A VIP who currently consents to
        ``in_store_recognition`` (and whose processing is not restricted) raises a
        ``vip_check_in`` alert on that store's channel, once, after the commit."""
        payload = self._accept(raw, signature, CheckInIn)
        return await self._deliver("check_in", payload, self._apply_check_in)

    async def receive_loyalty_event(self, raw: bytes, signature: str | None) -> Delivery:
        """A redemption or balance adjustment from the loyalty engine, applied to the
        ledger (``services.loyalty``) exactly once per ``externalId``."""
        payload = self._accept(raw, signature, LoyaltyEventIn)
        return await self._deliver("loyalty_event", payload, self._apply_loyalty_event)

    # --- the delivery protocol ------------------------------------------------------------

    def _accept(self, raw: bytes, signature: str | None, kind: type[_P]) -> _P:
        """Authenticate the raw bytes, then parse them: nothing unsigned is even decoded."""
        if not self._secret:
            raise IntegrationsDisabled("Set CLIENTELING_WEBHOOK_SECRET to accept integration webhooks")
        if not signature_valid(self._secret, raw, signature):
            log.warning("rejected a %s webhook: %s signature", kind.__name__, "wrong" if signature else "missing")
            raise SignatureInvalid("Sign the raw body: X-Clienteling-Signature: sha256=<hex HMAC-SHA256>")
        payload = decode_payload(raw, kind)
        check_not_future(payload.occurred_at, self._clock())
        return payload

    async def _deliver(self, kind: IntegrationKind, payload: _P, apply: Callable[[_P], Awaitable[_Applied]]) -> Delivery:
        key = f"{kind}:{payload.external_id}"
        digest = payload_digest(payload)
        try:
            async with db.transaction():
                stored = await repo.delivery(key)
                if stored is not None:
                    return _replay(stored, digest)
                await repo.claim(key, digest)
                applied = await apply(payload)
                await repo.settle(key, 201, applied.result)
                await self.audit.record(
                    None, action="create", customer_ids=[applied.customer_id], fields=[kind],
                    surface="integration", operation=_OPERATION[kind],
                )
        except Exception as exc:
            if not repo.is_duplicate(exc):
                raise
            # Lost a race with the same delivery (its transaction is rolled back): answer
            # what the winner stored.
            stored = await repo.delivery(key)
            if stored is None:
                raise IdempotencyConflict("This externalId is already taken by a record that did not come through this webhook") from None
            return _replay(stored, digest)
        if applied.alert is not None and self.events is not None:
            assert applied.alert.store_id is not None
            await self.events.publish([store_channel(applied.alert.store_id)], applied.alert)
        log.info("accepted a %s webhook", kind)
        return Delivery(status_code=201, result=applied.result)

    async def _customer(self, payload: PurchaseIn | ReturnIn | CheckInIn | LoyaltyEventIn, *, lock: bool) -> dict[str, Any]:
        row = await repo.customer(customer_id=payload.customer_id, loyalty_number=payload.loyalty_number, lock=lock)
        if row is None:
            field = "customerId" if payload.customer_id is not None else "loyaltyNumber"
            raise UnknownCustomer(f"No customer matches this {field}", extra={"field": field})
        return row

    async def _require_store(self, store_id: UUID | None) -> None:
        if store_id is not None and not await repo.store_exists(store_id):
            raise UnknownStore("No store has this storeId", extra={"field": "storeId"})

    # --- the changes ----------------------------------------------------------------------

    async def _apply_purchase(self, p: PurchaseIn) -> _Applied:
        customer = await self._customer(p, lock=True)
        await self._require_store(p.store_id)
        purchase_id, at, total = uuid4(), _utc(p.occurred_at), Decimal(p.total)
        await repo.insert_purchase(
            {
                "id": purchase_id, "external_id": p.external_id, "customer": customer["id"], "store": p.store_id,
                "channel": p.channel, "occurred_at": at, "currency": p.currency, "total": total,
            },
            [
                {"id": uuid4(), "purchase": purchase_id, "sku": line.sku, "name": line.name,
                 "quantity": line.quantity, "unit_price": Decimal(line.unit_price)}
                for line in p.lines
            ],
        )
        await repo.add_sale(customer["id"], at=at, amount_eur=to_eur(total, p.currency))
        if self.loyalty is not None:
            await self.loyalty.earn_for_purchase(customer["id"], purchase_id=purchase_id, amount_eur=to_eur(total, p.currency), at=at)
        task_alert = await self._follow_up(customer, purchase_id, at)
        result = PurchaseAccepted(purchase_id=purchase_id, customer_id=customer["id"])
        return _Applied(result=msgspec.to_builtins(result), customer_id=customer["id"], alert=task_alert)

    async def _follow_up(self, customer: dict[str, Any], purchase_id: UUID, at: dt.datetime) -> Event | None:
        """The primary associate's post-purchase task, and the ``task_assigned`` alert to
        publish after commit. None without an active primary associate, nor for a customer
        whose processing is restricted (GDPR Art. 18: the sale is stored, the customer is
        not worked on)."""
        if customer["primary_associate"] is None or not customer["associate_active"] or customer["restricted_at"] is not None:
            return None
        task_id = uuid4()
        await repo.insert_task(
            {
                "id": task_id, "customer": customer["id"], "store": customer["home_store"],
                "assignee": customer["primary_associate"], "kind": "post_purchase",
                "title": "Post-purchase follow-up", "due_at": at + POST_PURCHASE_FOLLOW_UP,
                "source_ref": f"purchase:{purchase_id}",
            }
        )
        return Event(
            kind="task_assigned", occurred_at=self._clock(), customer_id=customer["id"],
            store_id=customer["home_store"], staff_id=customer["primary_associate"], ref_id=task_id,
        )

    async def _apply_return(self, r: ReturnIn) -> _Applied:
        customer = await self._customer(r, lock=True)
        await self._require_store(r.store_id)
        purchase_id = None
        if r.purchase_external_id is not None:
            purchase = await repo.purchase_by_external_id(r.purchase_external_id)
            if purchase is None or purchase["customer"] != customer["id"]:
                raise UnknownPurchase("No purchase of this customer has this purchaseExternalId", extra={"field": "purchaseExternalId"})
            if purchase["currency"] != r.currency:
                raise CurrencyMismatch(f"The purchase is in {purchase['currency']}, the return in {r.currency}")
            purchase_id = purchase["id"]
        return_id, total = uuid4(), Decimal(r.total)
        await repo.insert_return(
            {
                "id": return_id, "external_id": r.external_id, "purchase": purchase_id, "customer": customer["id"],
                "store": r.store_id, "occurred_at": _utc(r.occurred_at), "currency": r.currency, "total": total,
                "lines": msgspec.to_builtins(r.lines),
            }
        )
        await repo.subtract_refund(customer["id"], amount_eur=to_eur(total, r.currency))
        if self.loyalty is not None:
            await self.loyalty.reverse_for_return(
                customer["id"], return_id=return_id, purchase_id=purchase_id, refund_eur=to_eur(total, r.currency), at=_utc(r.occurred_at),
            )
        return _Applied(result=msgspec.to_builtins(ReturnAccepted(return_id=return_id)), customer_id=customer["id"])

    async def _apply_check_in(self, c: CheckInIn) -> _Applied:
        customer = await self._customer(c, lock=True)
        await self._require_store(c.store_id)
        check_in_id, at = uuid4(), _utc(c.occurred_at)
        await repo.insert_check_in(
            {"id": check_in_id, "external_id": c.external_id, "customer": customer["id"], "store": c.store_id, "occurred_at": at}
        )
        alert = None
        if customer["vip"] and customer["restricted_at"] is None:
            ledger = await customer_repo.consent_events([customer["id"]])
            if "in_store_recognition" in active_purposes(ledger[customer["id"]], self._clock()):
                alert = Event(kind="vip_check_in", occurred_at=at, customer_id=customer["id"], store_id=c.store_id, ref_id=check_in_id)
                # The same alert to staff devices subscribed to Web Push (push.worker).
                await emit("vip_check_in", dedup_key=f"vip_check_in:{check_in_id}", occurred_at=at, customer=customer["id"], store=c.store_id)
        result = CheckInAccepted(check_in_id=check_in_id, alerted=alert is not None)
        return _Applied(result=msgspec.to_builtins(result), customer_id=customer["id"], alert=alert)

    async def _apply_loyalty_event(self, e: LoyaltyEventIn) -> _Applied:
        customer = await self._customer(e, lock=True)
        if self.loyalty is None:
            raise IntegrationsDisabled("The loyalty programme is not configured")
        result = await self.loyalty.apply_event(customer["id"], e)
        return _Applied(result=result, customer_id=customer["id"])
