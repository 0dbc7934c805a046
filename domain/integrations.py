"""Integration webhooks (SPEC §5): the signed payloads POS, e-commerce and loyalty systems
push in, the signature rule, the EUR conversion behind ``lifetime_value`` and the typed
failures a sender can provoke.

Payloads are strict: unknown fields are refused, amounts are decimal strings (never floats,
so no cent is lost), timestamps carry their offset. A payload names its customer by exactly
one of ``customerId`` or ``loyaltyNumber``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Literal, TypeVar
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.errors import Conflict, DomainError, NotAuthenticated, ServiceUnavailable, ValidationFailed

__all__ = [
    "SIGNATURE_HEADER",
    "IntegrationKind",
    "PurchaseLineIn",
    "PurchaseIn",
    "ReturnIn",
    "CheckInIn",
    "PurchaseAccepted",
    "ReturnAccepted",
    "CheckInAccepted",
    "EUR_PER_UNIT",
    "to_eur",
    "line_total",
    "sign",
    "signature_valid",
    "decode_payload",
    "payload_digest",
    "check_not_future",
    "SignatureInvalid",
    "IntegrationsDisabled",
    "IdempotencyConflict",
    "UnknownCustomer",
    "UnknownStore",
    "UnknownPurchase",
    "TotalMismatch",
    "UnsupportedCurrency",
    "CurrencyMismatch",
]

SIGNATURE_HEADER = "X-Clienteling-Signature"
_SIGNATURE_PREFIX = "sha256="

IntegrationKind = Literal["purchase", "return", "check_in", "loyalty_event"]

# A sender's clock may run a little ahead of ours; beyond this an event "in the future" is refused.
_CLOCK_SKEW = dt.timedelta(minutes=5)

ExternalId = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[\x21-\x7e]+$")]
LoyaltyNumber = Annotated[str, Meta(min_length=1, max_length=32)]
# Non-negative, at most 2 decimals, at most 10 integer digits (the columns are NUMERIC(12, 2)).
Amount = Annotated[str, Meta(pattern=r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$")]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
AwareDatetime = Annotated[dt.datetime, Meta(tz=True)]
Quantity = Annotated[int, Meta(ge=1, le=1000)]


class PurchaseLineIn(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    sku: Annotated[str, Meta(min_length=1, max_length=64)]
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    quantity: Quantity
    unit_price: Amount


Lines = Annotated[list[PurchaseLineIn], Meta(min_length=1, max_length=200)]


def _one_customer_reference(customer_id: UUID | None, loyalty_number: str | None) -> None:
    # Raised inside __post_init__, msgspec reports it as a ValidationError (400).
    if (customer_id is None) == (loyalty_number is None):
        raise ValueError("give exactly one of customerId or loyaltyNumber")


class PurchaseIn(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A sale. ``storeId`` is required for ``channel: "store"``; an online order may name the
    store that served it or ``null``."""

    external_id: ExternalId
    channel: Literal["store", "online"]
    occurred_at: AwareDatetime
    currency: Currency
    total: Amount
    lines: Lines
    customer_id: UUID | None = None
    loyalty_number: LoyaltyNumber | None = None
    store_id: UUID | None = None

    def __post_init__(self) -> None:
        _one_customer_reference(self.customer_id, self.loyalty_number)
        if self.channel == "store" and self.store_id is None:
            raise ValueError("storeId is required when channel is store")


class ReturnIn(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """Goods brought back, with the refunded lines. ``purchaseExternalId`` names the original
    sale when the sender knows it."""

    external_id: ExternalId
    occurred_at: AwareDatetime
    currency: Currency
    total: Amount
    lines: Lines
    customer_id: UUID | None = None
    loyalty_number: LoyaltyNumber | None = None
    store_id: UUID | None = None
    purchase_external_id: ExternalId | None = None

    def __post_init__(self) -> None:
        _one_customer_reference(self.customer_id, self.loyalty_number)


class CheckInIn(msgspec.Struct, rename="camel", kw_only=True, forbid_unknown_fields=True):
    """A customer recognised at a store's door (loyalty card scanned, app geofence...)."""

    external_id: ExternalId
    store_id: UUID
    occurred_at: AwareDatetime
    customer_id: UUID | None = None
    loyalty_number: LoyaltyNumber | None = None

    def __post_init__(self) -> None:
        _one_customer_reference(self.customer_id, self.loyalty_number)


class PurchaseAccepted(msgspec.Struct, rename="camel", kw_only=True):
    purchase_id: UUID
    customer_id: UUID


class ReturnAccepted(msgspec.Struct, rename="camel", kw_only=True):
    return_id: UUID


class CheckInAccepted(msgspec.Struct, rename="camel", kw_only=True):
    check_in_id: UUID
    alerted: bool


# --- rules ---------------------------------------------------------------------------------

# ``lifetime_value`` is kept in EUR so client-book filters compare like with like. The rates
# are fixed and approximate on purpose: LTV ranks customers, it is not accounting (the
# purchase rows keep the exact amount and currency). A currency missing here is refused
# (UNSUPPORTED_CURRENCY) rather than silently counted at a wrong rate; add its rate to
# accept it.
EUR_PER_UNIT: dict[str, Decimal] = {
    "EUR": Decimal("1"),
    "RON": Decimal("0.20"),
}

_CENT = Decimal("0.01")


def to_eur(amount: Decimal, currency: str) -> Decimal:
    """``amount`` of ``currency`` in EUR, to the cent (banker's rounding)."""
    rate = EUR_PER_UNIT.get(currency)
    if rate is None:
        raise UnsupportedCurrency(f"Currency {currency} is not supported; supported: {', '.join(sorted(EUR_PER_UNIT))}")
    return (amount * rate).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def line_total(lines: list[PurchaseLineIn]) -> Decimal:
    """Sum of quantity x unit price: what ``total`` must equal."""
    return sum((Decimal(line.unit_price) * line.quantity for line in lines), Decimal("0"))


def sign(secret: str, body: bytes) -> str:
    """The header value a sender puts in ``X-Clienteling-Signature`` for ``body``."""
    return _SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the HMAC-SHA256 of the exact raw ``body``; compared in constant
    time so the answer leaks nothing about how close a guess was."""
    if not header:
        return False
    given = header.strip()
    if given[: len(_SIGNATURE_PREFIX)].lower() == _SIGNATURE_PREFIX:
        given = _SIGNATURE_PREFIX + given[len(_SIGNATURE_PREFIX):].lower()
    return hmac.compare_digest(sign(secret, body).encode("ascii"), given.encode("utf-8", "replace"))


_DECODERS: dict[type, msgspec.json.Decoder] = {}
_T = TypeVar("_T")


def decode_payload(raw: bytes, kind: type[_T]) -> _T:
    """Parse and validate a webhook body; a malformed or invalid one is a 400 naming where."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = msgspec.json.Decoder(kind)
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
        raise ValidationFailed(str(exc)) from None


def payload_digest(payload: msgspec.Struct) -> str:
    """SHA-256 of the payload's canonical encoding: a retry that only reorders keys or
    changes whitespace is the same delivery, a changed value is not."""
    return hashlib.sha256(msgspec.json.encode(payload)).hexdigest()


def check_not_future(occurred_at: dt.datetime, now: dt.datetime) -> None:
    if occurred_at > now + _CLOCK_SKEW:
        raise ValidationFailed("occurredAt is in the future", extra={"field": "occurredAt"})


# --- failures ------------------------------------------------------------------------------


class SignatureInvalid(NotAuthenticated):
    code = "SIGNATURE_INVALID"
    title = "The webhook signature is missing or does not match the body"


class IntegrationsDisabled(ServiceUnavailable):
    code = "INTEGRATIONS_DISABLED"
    title = "Integration webhooks are disabled: CLIENTELING_WEBHOOK_SECRET is not set"


class IdempotencyConflict(Conflict):
    code = "IDEMPOTENCY_CONFLICT"
    title = "This externalId was already delivered with a different payload"


class _Unprocessable(DomainError):
    status = 422


class UnknownCustomer(_Unprocessable):
    code = "UNKNOWN_CUSTOMER"
    title = "No such customer"


class UnknownStore(_Unprocessable):
    code = "UNKNOWN_STORE"
    title = "No such store"


class UnknownPurchase(_Unprocessable):
    code = "UNKNOWN_PURCHASE"
    title = "No such purchase for this customer"


class TotalMismatch(_Unprocessable):
    code = "TOTAL_MISMATCH"
    title = "total is not the sum of quantity x unitPrice over the lines"


class UnsupportedCurrency(_Unprocessable):
    code = "UNSUPPORTED_CURRENCY"
    title = "The currency is not supported"


class CurrencyMismatch(_Unprocessable):
    code = "CURRENCY_MISMATCH"
    title = "A return must be in the currency of the purchase it refers to"
