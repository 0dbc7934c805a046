"""Factories and helpers for loyalty and push tests (real tables, real webhooks)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx

from clienteling.tables import MemberAccount
from domain.integrations import sign
from domain.push import MEMBER_EVENT_TYPES
from tests.factories import FAST_PASSWORDS, PASSWORD

WEBHOOK_SECRET = "push-test-webhook-secret-" + "p" * 16

_HASH = FAST_PASSWORDS.hash_sync(PASSWORD)


async def make_member(*, customer: UUID, email: str | None = None, event_types: list[str] | None = None, **prefs: Any) -> dict[str, Any]:
    member_id = uuid4()
    email = email or f"member.{member_id.hex[:8]}@example.test"
    await MemberAccount.insert(
        MemberAccount(id=member_id, customer=customer, email=email, password_hash=_HASH,
                      event_types=event_types if event_types is not None else list(MEMBER_EVENT_TYPES), **prefs)
    ).run()
    return {"id": member_id, "email": email}


async def member_login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    r = await client.post("/api/v1/members/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['accessToken']}"}


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


async def post_signed(client: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> httpx.Response:
    body = _encode(payload)
    return await client.post(path, content=body, headers={"X-Clienteling-Signature": sign(WEBHOOK_SECRET, body), "Content-Type": "application/json"})


def purchase(*, customer: UUID, store: UUID, total: str = "100.00", occurred_at: dt.datetime | None = None, external_id: str | None = None, currency: str = "EUR") -> dict[str, Any]:
    at = occurred_at or dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    return {
        "externalId": external_id or f"pos-{uuid4().hex[:12]}", "customerId": str(customer), "storeId": str(store),
        "channel": "store", "occurredAt": at.isoformat(), "currency": currency, "total": total,
        "lines": [{"sku": "SKU-1", "name": "Item", "quantity": 1, "unitPrice": total}],
    }


def a_return(*, customer: UUID, purchase_external_id: str | None, total: str, external_id: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "externalId": external_id or f"ret-{uuid4().hex[:12]}", "customerId": str(customer),
        "occurredAt": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)).isoformat(), "currency": "EUR",
        "total": total, "lines": [{"sku": "SKU-1", "name": "Item", "quantity": 1, "unitPrice": total}],
    }
    if purchase_external_id:
        payload["purchaseExternalId"] = purchase_external_id
    return payload


def loyalty_event(*, customer: UUID, kind: str, points: int, external_id: str | None = None) -> dict[str, Any]:
    return {
        "externalId": external_id or f"loy-{uuid4().hex[:12]}", "customerId": str(customer), "kind": kind, "points": points,
        "occurredAt": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=30)).isoformat(),
    }


def money(value: str) -> Decimal:
    return Decimal(value)
