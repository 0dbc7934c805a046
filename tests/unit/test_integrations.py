"""Webhook rules without I/O: signatures, payload validation, totals, EUR conversion."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal

import pytest

from domain.errors import ValidationFailed
from domain.integrations import (
    CheckInIn,
    PurchaseIn,
    UnsupportedCurrency,
    check_not_future,
    decode_payload,
    line_total,
    payload_digest,
    sign,
    signature_valid,
    to_eur,
)

SECRET = "s3cret-for-unit-tests"


def _purchase(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "externalId": "pos-1", "customerId": "5f0c6b1e-8f4e-4a51-9a55-3f1f0d2a6b10", "storeId": None,
        "channel": "online", "occurredAt": "2026-03-10T17:45:00+01:00", "currency": "EUR", "total": "10.50",
        "lines": [{"sku": "A", "name": "Socks", "quantity": 3, "unitPrice": "3.50"}],
    }
    payload.update(changes)
    return payload


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"externalId":"x"}'
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(SECRET, body) == expected
    assert signature_valid(SECRET, body, expected)


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha256=ab", "md5=00", "sha256=" + "0" * 64, "sha256=ñ"])
def test_signature_refuses_anything_but_the_exact_digest(header: str | None) -> None:
    assert not signature_valid(SECRET, b"{}", header)


def test_signature_does_not_match_another_body_or_secret() -> None:
    header = sign(SECRET, b'{"a":1}')
    assert not signature_valid(SECRET, b'{"a": 1}', header)
    assert not signature_valid(SECRET + "x", b'{"a":1}', header)


def test_purchase_payload_decodes_with_its_amounts_as_text() -> None:
    p = decode_payload(json.dumps(_purchase()).encode(), PurchaseIn)
    assert p.total == "10.50" and p.lines[0].unit_price == "3.50" and p.store_id is None
    assert line_total(p.lines) == Decimal("10.50")


@pytest.mark.parametrize(
    "changes",
    [
        {"total": "1.005"}, {"total": "-1"}, {"total": 10.5}, {"total": "1e3"}, {"total": "010.50"},
        {"currency": "EURO"}, {"occurredAt": "2026-03-10T17:45:00"}, {"lines": []},
        {"lines": [{"sku": "A", "name": "S", "quantity": 1001, "unitPrice": "1"}]},
        {"lines": [{"sku": "A", "name": "S", "quantity": 1, "unitPrice": "1", "colour": "red"}]},
        {"channel": "store"}, {"channel": "phone"}, {"loyaltyNumber": "L-1"}, {"customerId": None},
        {"extra": True},
    ],
)
def test_invalid_purchase_payload_is_a_validation_failure(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed):
        decode_payload(json.dumps(_purchase(**changes)).encode(), PurchaseIn)


def test_a_check_in_needs_a_store() -> None:
    body = {"externalId": "d-1", "loyaltyNumber": "L-1", "occurredAt": "2026-03-10T17:45:00Z"}
    with pytest.raises(ValidationFailed):
        decode_payload(json.dumps(body).encode(), CheckInIn)


def test_digest_ignores_key_order_and_whitespace_but_not_values() -> None:
    a = decode_payload(json.dumps(_purchase()).encode(), PurchaseIn)
    b = decode_payload(json.dumps(dict(reversed(list(_purchase().items()))), indent=4).encode(), PurchaseIn)
    c = decode_payload(json.dumps(_purchase(externalId="pos-2")).encode(), PurchaseIn)
    assert payload_digest(a) == payload_digest(b) != payload_digest(c)


def test_amounts_convert_to_eur_to_the_cent() -> None:
    assert to_eur(Decimal("139.90"), "EUR") == Decimal("139.90")
    assert to_eur(Decimal("500.00"), "RON") == Decimal("100.00")
    assert to_eur(Decimal("0.03"), "RON") == Decimal("0.01")
    with pytest.raises(UnsupportedCurrency):
        to_eur(Decimal("1"), "USD")


def test_events_from_the_future_are_refused_beyond_clock_skew() -> None:
    now = dt.datetime(2026, 3, 10, 12, tzinfo=dt.timezone.utc)
    check_not_future(now + dt.timedelta(minutes=4), now)
    with pytest.raises(ValidationFailed):
        check_not_future(now + dt.timedelta(minutes=6), now)
