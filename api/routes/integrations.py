"""Integration webhooks over REST (SPEC §5): signed, idempotent, no staff token.

The handlers read the raw body themselves (no ``data`` parameter, so Litestar does not
parse it): the signature covers the exact bytes sent, and is checked before any parsing.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, post

from api.deps import services_of
from clienteling.services.integrations import Delivery
from domain.integrations import SIGNATURE_HEADER

__all__ = ["IntegrationController"]

_SIGNED = (
    f"Send `{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body with CLIENTELING_WEBHOOK_SECRET>`. "
    "Idempotent by `externalId`: a retry with the same payload answers the original result and changes "
    "nothing; the same `externalId` with another payload is 409 `IDEMPOTENCY_CONFLICT`. A missing or wrong "
    "signature is 401 `SIGNATURE_INVALID`, and an address that sends 20 of those within 15 minutes is refused with 429 `TOO_MANY_REQUESTS` (with `Retry-After`) for a growing delay; without a configured secret the endpoint answers 503 "
    "`INTEGRATIONS_DISABLED`."
)


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _answer(delivery: Delivery) -> Response[dict[str, object]]:
    return Response(delivery.result, status_code=delivery.status_code)


class IntegrationController(Controller):
    path = "/api/v1/integrations"
    tags = ["integrations"]

    @post("/purchases", status_code=201, summary="Push a purchase", description=_SIGNED)
    async def purchase(self, request: Request) -> Response[dict[str, object]]:
        raw = await request.body()
        service = services_of(request).integrations
        return _answer(await service.guarded(_client_ip(request), lambda: service.receive_purchase(raw, request.headers.get(SIGNATURE_HEADER))))

    @post("/returns", status_code=201, summary="Push a return", description=_SIGNED)
    async def purchase_return(self, request: Request) -> Response[dict[str, object]]:
        raw = await request.body()
        service = services_of(request).integrations
        return _answer(await service.guarded(_client_ip(request), lambda: service.receive_return(raw, request.headers.get(SIGNATURE_HEADER))))

    @post("/check-ins", status_code=201, summary="Push a store check-in", description=_SIGNED)
    async def check_in(self, request: Request) -> Response[dict[str, object]]:
        raw = await request.body()
        service = services_of(request).integrations
        return _answer(await service.guarded(_client_ip(request), lambda: service.receive_check_in(raw, request.headers.get(SIGNATURE_HEADER))))

    @post("/loyalty-events", status_code=201, summary="Push a loyalty redemption or adjustment", description=_SIGNED + (
        " A loyalty event: `{\"externalId\",\"customerId\"|\"loyaltyNumber\",\"kind\":\"redeem\"|\"adjust\",\"points\","
        "\"occurredAt\",\"reason\"?}`; a redemption above the balance is 422 `INSUFFICIENT_POINTS`."
    ))
    async def loyalty_event(self, request: Request) -> Response[dict[str, object]]:
        raw = await request.body()
        service = services_of(request).integrations
        return _answer(await service.guarded(_client_ip(request), lambda: service.receive_loyalty_event(raw, request.headers.get(SIGNATURE_HEADER))))
